"""On disk: every raw answer under ``data/raw/literature/<date>/<strategy>/`` (with a manifest of
the URLs asked, without any API key), the dated records table ``data/literature_<date>.csv`` and
the report of what changed since the previous run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mscfm.literature.client import Answer
from mscfm.literature.dedupe import record_key
from mscfm.literature.records import Record
from mscfm.paths import RAW_DIR

RECORD_COLUMNS = ("key", "pmid", "doi", "title", "year", "journal", "first_author", "preprint",
                  "sources", "strategies", "europepmc_ids")
_TABLE_NAME = re.compile(r"^literature_(\d{4}-\d{2}-\d{2})\.csv$")


def raw_dir(out_dir: Path, today: dt.date) -> Path:
    return Path(out_dir) / RAW_DIR / "literature" / today.isoformat()


def table_path(out_dir: Path, today: dt.date) -> Path:
    return Path(out_dir) / f"literature_{today.isoformat()}.csv"


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api_key"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def save_answer(folder: Path, name: str, answer: Answer) -> Path:
    """Write one raw answer (``.xml`` or ``.json`` by its content) and list it in the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".json" if answer.body.lstrip()[:1] in (b"{", b"[") else ".xml"
    path = folder / f"{name}{suffix}"
    path.write_bytes(answer.body)
    manifest = folder / "manifest.json"
    entries = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else []
    entries.append({"file": path.name, "url": _public_url(answer.url)})
    manifest.write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
    return path


def records_csv_text(records: list[Record]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RECORD_COLUMNS)
    for r in records:
        writer.writerow([record_key(r), r.pmid, r.doi, r.title, r.year, r.journal,
                         r.first_author, str(r.preprint).lower(), "; ".join(sorted(r.sources)),
                         "; ".join(sorted(r.strategies)), "; ".join(sorted(r.europepmc_ids))])
    return out.getvalue()


def read_table(path: Path) -> dict[str, dict[str, str]]:
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return {row["key"]: row for row in csv.DictReader(handle)}


def previous_table(out_dir: Path, exclude: Path) -> Path | None:
    """The newest ``literature_<date>.csv`` in ``out_dir`` other than ``exclude``."""
    found = sorted(p for p in Path(out_dir).glob("literature_*.csv")
                   if _TABLE_NAME.match(p.name) and p.resolve() != Path(exclude).resolve())
    return found[-1] if found else None


@dataclass
class LiteratureDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    previous: str = "(none)"

    def report(self, new: dict[str, dict[str, str]], old: dict[str, dict[str, str]],
               counts: dict[str, tuple[int, int]]) -> str:
        lines = ["# Literature search: what changed", "",
                 f"Compared with: {self.previous}", "", "| strategy | hits reported | fetched |",
                 "|---|---|---|"]
        lines += [f"| {sid} | {hits} | {got} |" for sid, (hits, got) in counts.items()]
        lines += ["", f"Unchanged records: {self.unchanged}", ""]
        for title, keys, table in (("Added (new, to screen)", self.added, new),
                                   ("Removed (no longer found)", self.removed, old)):
            lines.append(f"## {title}: {len(keys)}")
            lines += [f"- {k}: {table[k]['title']}" for k in keys]
            lines.append("")
        return "\n".join(lines)


def diff_tables(old: dict[str, dict[str, str]], new: dict[str, dict[str, str]],
                previous: str = "(none)") -> LiteratureDiff:
    return LiteratureDiff(added=[k for k in new if k not in old],
                          removed=[k for k in old if k not in new],
                          unchanged=sum(1 for k in new if k in old), previous=previous)
