"""Bring the ClinicalTrials.gov registry up to date through the API v2 (`mscfm refresh-registry`).

The October 2022 snapshot came from the retired API v1 "study fields" endpoint: one JSON object
keyed by NCT ID, each record mapping a v1 field name to a list of strings. A refresh runs the
same searches against API v2 (:mod:`.client`), keeps every fetched page on disk so that an
interrupted run resumes where it stopped (:mod:`.store`), converts every v2 study to the v1 shape
(:mod:`.mapping`) so that :mod:`mscfm.registry` derives the same table with the same rules, and
reports what changed since the previous snapshot (:mod:`.diff`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mscfm import registry
from mscfm.paths import DATA_DIR, RAW_DIR
from mscfm.refresh.client import (
    API_URL,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CtgovClient,
    NetworkUnavailable,
    RateLimiter,
    RefreshError,
    RetryPolicy,
    parse_retry_after,
)
from mscfm.refresh.diff import RegistryDiff, diff_registries, format_diff
from mscfm.refresh.mapping import (
    STATUSES,
    merge_records,
    strip_contacts,
    v1_date,
    v1_enum,
    v2_to_v1,
)
from mscfm.refresh.store import (
    Progress,
    TermState,
    current_snapshot,
    download_term,
    partial_dir,
    read_term_pages,
    snapshot_bytes,
    term_slug,
    write_snapshot,
)

# The snapshot's searches (jesnyder/mapClinical, user_provided/admin/search_terms.csv). The first
# six and the "mesenchymal <product>" terms are confirmed in the stored copy of that file (commit
# 920851ef1c243a683fb59a86957c591132d7087e) or named in the snapshot's own description;
# "Cartistem" and "Lomecel-B" are named there without their exact query form, so they are
# queried bare (a superset of "mesenchymal <name>").
SEARCH_TERMS: tuple[str, ...] = (
    "mesenchymal stem",
    "mesenchymal stromal",
    "allogeneic mesenchymal",
    "autologous mesenchymal",
    "mesenchymal placental",
    "mesenchymal umbilical cord",
    "mesenchymal ALLO-ASC",
    "mesenchymal allo-MSCs",
    "mesenchymal remestemcel-l",
    "mesenchymal cardiocell",
    "mesenchymal AlloRx",
    "mesenchymal Alofisel",
    "mesenchymal AstroStem-V",
    "Cartistem",
    "Lomecel-B",
)


def stderr_progress() -> Progress | None:
    """Progress lines on stderr when it is a terminal, nothing otherwise (logs, CI, tests)."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        print(f"\r\033[K{message}", end="", file=sys.stderr, flush=True)

    return show


@dataclass
class RefreshResult:
    raw_path: Path
    table_path: Path
    diff_path: Path
    previous_path: Path | None
    diff: RegistryDiff
    report: str


def _display(path: Path | None, out_dir: Path) -> str:
    if path is None:
        return "(none)"
    try:
        return str(Path(DATA_DIR) / Path(path).resolve().relative_to(Path(out_dir).resolve()))
    except ValueError:
        return str(path)


def refresh(
    out_dir: Path,
    client: CtgovClient | None = None,
    today: dt.date | None = None,
    *,
    terms: Sequence[str] = SEARCH_TERMS,
    max_pages: int | None = None,
    resume: bool = True,
    previous: Path | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Download the searches, write the dated raw file, derived table and diff report.

    ``out_dir`` is the data folder: the raw file goes to ``out_dir/raw/ctgov_v2_<date>.json.gz``,
    the table to ``out_dir/registry_<date>.csv`` and the report next to the raw file.
    """
    if max_pages is not None and max_pages < 1:
        raise RefreshError(f"--max-pages must be at least 1, got {max_pages}")
    out_dir = Path(out_dir)
    today = today or dt.date.today()
    raw_path = out_dir / RAW_DIR / f"ctgov_v2_{today.isoformat()}.json.gz"
    previous = previous or current_snapshot(out_dir / RAW_DIR, exclude=raw_path)
    client = client or CtgovClient()
    download = partial_dir(out_dir, today)
    try:
        states = [
            download_term(
                client, t, download, max_pages=max_pages, resume=resume, progress=progress
            )
            for t in terms
        ]
    except NetworkUnavailable as exc:
        keeps = _display(previous, out_dir) if previous else "the snapshot it has"
        raise RefreshError(
            f"cannot reach clinicaltrials.gov: {exc.reason}; "
            f"the registry chapter keeps using {keeps}"
        ) from None
    finally:
        if progress:
            progress("")  # clear the progress line before anything else is printed
    if progress:
        found = sum(state.studies for state in states)
        progress(f"downloaded {len(terms)} search terms, {found} study records\n")

    studies = (study for term in terms for study in read_term_pages(download, term))
    snapshot = merge_records(v2_to_v1(study) for study in studies)
    write_snapshot(snapshot, raw_path)
    new_df = registry.derive_table(snapshot)
    table_path = out_dir / f"registry_{today.isoformat()}.csv"
    registry.write_registry(new_df, table_path)

    old_df = _previous_table(previous)
    diff = diff_registries(old_df, new_df)
    diff.incomplete_terms = [s.term for s in states if not s.complete]
    report = format_diff(diff, _display(previous, out_dir), _display(raw_path, out_dir))
    diff_path = raw_path.with_name(f"ctgov_v2_{today.isoformat()}_diff.md")
    diff_path.write_text(report, encoding="utf-8")
    if not diff.incomplete_terms:
        shutil.rmtree(download, ignore_errors=True)  # finished: the pages are in the raw file
    return RefreshResult(raw_path, table_path, diff_path, previous, diff, report)


def _previous_table(previous: Path | None) -> pd.DataFrame:
    if previous is None:
        return pd.DataFrame(columns=list(registry.COLUMNS))
    return registry.derive_table(registry.load_snapshot(previous))


__all__ = [
    "API_URL",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SEARCH_TERMS",
    "STATUSES",
    "CtgovClient",
    "NetworkUnavailable",
    "RateLimiter",
    "RefreshError",
    "RefreshResult",
    "RegistryDiff",
    "RetryPolicy",
    "TermState",
    "current_snapshot",
    "diff_registries",
    "download_term",
    "format_diff",
    "merge_records",
    "parse_retry_after",
    "partial_dir",
    "read_term_pages",
    "refresh",
    "snapshot_bytes",
    "stderr_progress",
    "strip_contacts",
    "term_slug",
    "v1_date",
    "v1_enum",
    "v2_to_v1",
    "write_snapshot",
]
