"""On disk: the resumable download (one folder per search term, one file per page, plus a state
file, all written atomically) and the deterministic gzip of the merged v1-shaped snapshot."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mscfm.paths import RAW_DIR
from mscfm.refresh.client import CtgovClient
from mscfm.refresh.mapping import V1Record, strip_contacts

Progress = Callable[[str], None]
_SNAPSHOT_NAME = re.compile(r"ctgov_.*?(\d{4}-\d{2}(?:-\d{2})?)\.json\.gz$")


@dataclass
class TermState:
    """How far the download of one search term got (stored as ``state.json``)."""

    term: str
    page_size: int
    pages: int = 0
    studies: int = 0
    next_page_token: str | None = None
    complete: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "page_size": self.page_size,
            "pages": self.pages,
            "studies": self.studies,
            "next_page_token": self.next_page_token,
            "complete": self.complete,
        }


def term_slug(term: str) -> str:
    """A folder name for a search term: lower case, runs of other characters become '-'."""
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-") or "term"


def partial_dir(out_dir: Path, today: dt.date) -> Path:
    return Path(out_dir) / RAW_DIR / f"ctgov_v2_{today.isoformat()}.partial"


def download_term(
    client: CtgovClient,
    term: str,
    folder: Path,
    *,
    max_pages: int | None = None,
    resume: bool = True,
    progress: Progress | None = None,
) -> TermState:
    """Fetch every page of ``term`` into ``folder/<slug>/page-NNNN.json``; resume if possible."""
    term_dir = Path(folder) / term_slug(term)
    state = _read_state(term_dir, term, client.page_size) if resume else None
    if state is None:
        shutil.rmtree(term_dir, ignore_errors=True)
        state = TermState(term=term, page_size=client.page_size)
    while not state.complete and (max_pages is None or state.pages < max_pages):
        page = client.fetch_page(term, state.next_page_token)
        studies = [strip_contacts(study) for study in page["studies"]]
        token = page.get("nextPageToken") or None
        number = state.pages + 1
        _write_json_atomic(
            term_dir / f"page-{number:04d}.json", {"studies": studies, "nextPageToken": token}
        )
        state.pages, state.next_page_token = number, token
        state.studies += len(studies)
        state.complete = token is None
        _write_json_atomic(term_dir / "state.json", state.to_json())
        if progress:
            progress(f"{term}: page {number}, {state.studies} studies so far")
    return state


def _read_state(term_dir: Path, term: str, page_size: int) -> TermState | None:
    """The saved state if it belongs to this term and page size (tokens depend on both)."""
    try:
        saved = json.loads((term_dir / "state.json").read_text(encoding="utf-8"))
        state = TermState(**saved)
    except (OSError, ValueError, TypeError):
        return None
    pages_present = all(
        (term_dir / f"page-{n:04d}.json").is_file() for n in range(1, state.pages + 1)
    )
    if state.term != term or state.page_size != page_size or not pages_present:
        return None
    return state


def read_term_pages(folder: Path, term: str) -> list[dict[str, Any]]:
    """The studies saved for ``term``, in page order."""
    term_dir = Path(folder) / term_slug(term)
    studies: list[dict[str, Any]] = []
    for path in sorted(term_dir.glob("page-*.json")):
        studies.extend(json.loads(path.read_text(encoding="utf-8"))["studies"])
    return studies


def _write_json_atomic(path: Path, payload: Any) -> None:
    """Write through a temporary file so an interrupted run never leaves half a page behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def snapshot_bytes(snapshot: dict[str, V1Record]) -> bytes:
    """Gzip of the sorted JSON with a zero timestamp and no file name: same input, same bytes."""
    text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


def write_snapshot(snapshot: dict[str, V1Record], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(snapshot_bytes(snapshot))
    os.replace(tmp, path)
    return path


def current_snapshot(raw_dir: Path, *, exclude: Path | None = None) -> Path | None:
    """The newest ``ctgov_*<date>.json.gz`` in ``raw_dir`` (by the date in its name)."""
    dated = []
    for path in Path(raw_dir).glob("ctgov_*.json.gz"):
        match = _SNAPSHOT_NAME.search(path.name)
        if match and (exclude is None or path.resolve() != Path(exclude).resolve()):
            dated.append((match[1], path.name, path))
    return max(dated)[2] if dated else None
