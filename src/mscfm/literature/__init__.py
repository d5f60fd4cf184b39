"""Run the written-out literature strategies (`mscfm search-literature`).

The strategies are rows of ``data/strategies.csv``. Those for PubMed/MEDLINE run through the NCBI
E-utilities (:mod:`.pubmed`), those for Europe PMC through its REST search (:mod:`.europepmc`),
both through one rate-limited, retrying client (:mod:`.client`). Every raw answer is kept under
``data/raw/literature/<date>/`` (:mod:`.store`); the records of all strategies are merged
(:mod:`.dedupe`: PMID, then DOI, then normalised title) into ``data/literature_<date>.csv``, and a
report says what is new since the previous run, i.e. what still has to be screened.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mscfm.literature import europepmc, pubmed
from mscfm.literature.client import (
    API_KEY_ENV,
    LiteratureClient,
    LiteratureError,
    NetworkUnavailable,
)
from mscfm.literature.dedupe import deduplicate, record_key
from mscfm.literature.records import Record, normalise_doi, normalise_title
from mscfm.literature.store import (
    LiteratureDiff,
    diff_tables,
    previous_table,
    raw_dir,
    read_table,
    records_csv_text,
    save_answer,
    table_path,
)

STRATEGIES_FILE = "strategies.csv"
RUNNERS = {"PubMed/MEDLINE": pubmed.search, "Europe PMC (incl. preprints)": europepmc.search}


@dataclass(frozen=True)
class Strategy:
    id: str
    database: str
    query: str


def load_strategies(data_dir: Path, ids: Sequence[str] | None = None) -> list[Strategy]:
    """The PubMed and Europe PMC rows of ``strategies.csv`` (all of them, or those in ``ids``)."""
    path = Path(data_dir) / STRATEGIES_FILE
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise LiteratureError(f"{path}: cannot read the strategies ({exc.strerror})") from None
    runnable = {r["id"]: Strategy(r["id"], r["database"], r["query"])
                for r in rows if r.get("database") in RUNNERS}
    if ids is None:
        return list(runnable.values())
    unknown = [i for i in ids if i not in runnable]
    if unknown:
        raise LiteratureError(f"{path}: no PubMed or Europe PMC strategy with id "
                              f"{', '.join(unknown)} (runnable: {', '.join(runnable)})")
    return [runnable[i] for i in ids]


@dataclass
class SearchResult:
    raw_dir: Path
    table_path: Path
    diff_path: Path
    previous_path: Path | None
    counts: dict[str, tuple[int, int]]  # strategy id -> (hits the service reported, fetched)
    records: list[Record]
    diff: LiteratureDiff
    report: str


def _hits(database: str, name: str, body: bytes) -> int | None:
    if database == "PubMed/MEDLINE" and name == "esearch":
        return pubmed.parse_esearch(body).count
    if database != "PubMed/MEDLINE" and name == "page-001":
        return europepmc.parse_page(body)[0]
    return None


def search_literature(
    out_dir: Path,
    strategies: Sequence[Strategy],
    client: LiteratureClient,
    today: dt.date | None = None,
    *,
    max_pages: int | None = None,
    page_size: int | None = None,
    previous: Path | None = None,
) -> SearchResult:
    """Run ``strategies``; write the raw answers, the dated records table and the diff report.

    ``page_size`` (records per request) defaults to each service's own default."""
    today = today or dt.date.today()
    folder = raw_dir(out_dir, today)
    counts: dict[str, tuple[int, int]] = {}
    found: list[Record] = []
    for strategy in strategies:
        # A second run on the same day replaces that day's answers: files of pages it no longer
        # fetches must not stay behind, nor their manifest entries.
        shutil.rmtree(folder / strategy.id, ignore_errors=True)
        hits, fetched = 0, 0
        try:
            sized = {"page_size": page_size} if page_size else {}
            for name, answer, records in RUNNERS[strategy.database](
                    client, strategy.query, max_pages=max_pages, **sized):
                save_answer(folder / strategy.id, name, answer)
                hits = _hits(strategy.database, name, answer.body) or hits
                for record in records:
                    record.strategies.add(strategy.id)
                fetched += len(records)
                found += records
        except NetworkUnavailable as exc:
            raise LiteratureError(
                f"cannot reach {exc.host} ({exc.reason}): strategy {strategy.id} not run; "
                "data/strategies.csv keeps it as 'not yet run'") from None
        counts[strategy.id] = (hits, fetched)
    merged = deduplicate(found)
    table = table_path(out_dir, today)
    table.write_text(records_csv_text(merged), encoding="utf-8")
    previous = previous or previous_table(out_dir, exclude=table)
    old = read_table(previous) if previous else {}
    new = read_table(table)
    diff = diff_tables(old, new, str(previous) if previous else "(none)")
    report = diff.report(new, old, counts)
    diff_path = folder / "diff.md"
    folder.mkdir(parents=True, exist_ok=True)
    diff_path.write_text(report, encoding="utf-8")
    return SearchResult(folder, table, diff_path, previous, counts, merged, diff, report)


__all__ = [
    "API_KEY_ENV",
    "LiteratureClient",
    "LiteratureError",
    "NetworkUnavailable",
    "Record",
    "SearchResult",
    "Strategy",
    "deduplicate",
    "load_strategies",
    "normalise_doi",
    "normalise_title",
    "record_key",
    "search_literature",
]
