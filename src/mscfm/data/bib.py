"""`references.bib`, the register of sources, and its table form `data/references.csv`.

The BibTeX is parsed by pybtex, the parser the book's bibliography uses, so validation and the
book read the same entries. On top we keep the project's own checks (a sourcetype from our list,
a 4-digit year, at least one identifier, the key style, no duplicate key), each reported with the
line where the entry starts. `data/references.csv` is generated from the register (`mscfm
references`): it makes the register a real resource of the data package, the target of every
`source` foreign key; validation reports it when it is out of date.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pybtex.errors
from pybtex.database.input.bibtex import LowLevelParser, Parser
from pybtex.plugin import find_plugin
from pybtex.richtext import Text
from pybtex.scanner import PybtexError, PybtexSyntaxError

from mscfm.data.descriptor import REFERENCES_RESOURCE, package_root, references_path, resources
from mscfm.data.problems import Problem, decode
from mscfm.data.values import YEAR
from mscfm.errors import DataError
from mscfm.paths import DESCRIPTOR, REFERENCES_FILE

SOURCETYPES = (
    "RCT", "nonrandomized trial", "case report", "meta-analysis", "systematic review", "review",
    "observational", "animal study", "registry record", "registry snapshot", "regulator", "press",
    "company", "clinic web page", "guideline", "book", "web page",
)
IDENTIFIER_FIELDS = ("doi", "pmid", "nct", "url")
BIB_KEY_PATTERN = re.compile(r"[a-z][a-z0-9-]*\d{4}[a-z0-9-]*")
# The columns of data/references.csv (its schema: data/schema/references.schema.json).
REFERENCE_COLUMNS = ("key", "entry_type", "sourcetype", "year", "title", *IDENTIFIER_FIELDS)
_REPEATED = "repeated bibliography entry"  # pybtex's duplicate message; we word our own


@dataclass(frozen=True)
class BibEntry:
    key: str
    entry_type: str
    line: int
    fields: dict[str, str]  # lower-case names; values as pybtex reads them (braces kept)


@dataclass(frozen=True)
class _Occurrence:
    key: str
    entry_type: str
    line: int
    errors: tuple[PybtexError, ...]  # raised while pybtex processed this entry


def _parse(text: str) -> tuple[Parser, list[_Occurrence], list[tuple[PybtexError, int | None]]]:
    """pybtex's parse of ``text``, with the line where each entry occurrence starts and every
    error pybtex reported (syntax errors with the start of the entry they occurred in)."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(position: int) -> int:
        return bisect.bisect_right(line_starts, position)

    # pybtex's Parser.parse_string, unrolled so that each entry's start position is kept.
    parser = Parser()
    parser.unnamed_entry_counter = 1
    occurrences: list[_Occurrence] = []
    with pybtex.errors.capture() as errors:
        low = LowLevelParser(text, handle_error=parser.handle_error, macros=parser.macros,
                             want_entry=parser.data.want_entry)
        for command, body in low:
            kind = command.lower()
            if kind == "preamble":
                parser.process_preamble(*body)
            elif kind != "string":
                before = len(errors)
                parser.process_entry(command, *body)
                occurrences.append(_Occurrence(body[0], kind, line(low.command_start),
                                               tuple(errors[before:])))
    located = [(e, line(e.error_context_info[0]) if isinstance(e, PybtexSyntaxError) else None)
               for e in errors]
    return parser, occurrences, located


def _syntax_problems(located: list[tuple[PybtexError, int | None]], label: str,
                     occurrences: list[_Occurrence]) -> tuple[list[Problem], set[int]]:
    """Problems for pybtex's syntax errors, and the start lines of the entries they broke."""
    problems, broken = [], set()
    starts = {o.line for o in occurrences}
    for error, entry_line in located:
        if isinstance(error, PybtexSyntaxError):
            problems.append(Problem(label, error.lineno, None,
                                    f"BibTeX syntax error: {error.args[0]}"))
            if entry_line in starts:
                broken.add(entry_line)
    return problems, broken


def _check_entry(entry: BibEntry, label: str) -> list[Problem]:
    """Our checks on one entry: key style, sourcetype, year, an identifier."""
    allowed = ", ".join(SOURCETYPES)
    messages = []
    if not BIB_KEY_PATTERN.fullmatch(entry.key):
        messages.append(f"key {entry.key!r} must be firstauthorYEARword in lower case "
                        "(e.g. vega2015allogeneic)")
    sourcetype = entry.fields.get("sourcetype", "")
    if not sourcetype:
        messages.append(f"entry has no sourcetype field; expected one of: {allowed}")
    elif sourcetype not in SOURCETYPES:
        messages.append(f"sourcetype must be one of: {allowed}; found {sourcetype!r}")
    year = entry.fields.get("year", "")
    if not YEAR.fullmatch(year):
        messages.append(f"year must be a 4-digit year, found {year!r}" if year
                        else "entry has no year field")
    if not any(entry.fields.get(name) for name in IDENTIFIER_FIELDS):
        messages.append("entry has none of doi, pmid, nct, url; at least one is required")
    return [Problem(label, entry.line, entry.key, m) for m in messages]


def parse_bib(text: str, label: str) -> tuple[dict[str, BibEntry], list[Problem]]:
    """The entries of a BibTeX text by key, and every problem found in it."""
    parser, occurrences, located = _parse(text)
    problems, broken = _syntax_problems(located, label, occurrences)
    entries: dict[str, BibEntry] = {}
    first_line: dict[str, int] = {}
    for occurrence in occurrences:
        folded = occurrence.key.lower()
        if folded in first_line:
            problems.append(Problem(label, occurrence.line, occurrence.key,
                                    f"duplicate key {occurrence.key!r}, first defined at line "
                                    f"{first_line[folded]}"))
            continue
        first_line[folded] = occurrence.line
        for error in occurrence.errors:
            if not isinstance(error, PybtexSyntaxError) and _REPEATED not in str(error):
                problems.append(Problem(label, occurrence.line, occurrence.key, str(error)))
        parsed = parser.data.entries[occurrence.key]
        fields = {name.lower(): value for name, value in parsed.fields.items()}
        entry = BibEntry(occurrence.key, occurrence.entry_type, occurrence.line, fields)
        entries[entry.key] = entry
        if occurrence.line not in broken:  # a broken entry's fields are incomplete
            problems.extend(_check_entry(entry, label))
    return entries, problems


def read_bib(path: Path, label: str) -> tuple[dict[str, BibEntry], list[Problem]]:
    """The entries of the BibTeX file at ``path`` by key, and the problems found."""
    if not path.is_file():
        return {}, [Problem(label, None, None, "missing file: expected the BibTeX register of "
                            "sources (every source key resolves to it)")]
    text, problems = decode(path.read_bytes(), label)
    entries, found = parse_bib(text, label)
    return entries, [*problems, *found]


def read_bib_keys(path: Path) -> tuple[set[str], list[Problem]]:
    """The entry keys of a BibTeX file and the problems found in it (syntax, required fields)."""
    entries, problems = read_bib(Path(path), Path(path).name)
    return set(entries), problems


# --------------------------------------------------------------------------- references.csv


@functools.cache
def _text_backend() -> Any:
    """pybtex's plain-text backend (found once: each lookup scans the installed entry points)."""
    return find_plugin("pybtex.backends", "text")()


def plain(value: str | None) -> str | None:
    """A BibTeX value as text: braces and LaTeX accents resolved (``Mart{\\'i}n`` -> Martín)."""
    if value is None:
        return None
    try:
        return Text.from_latex(value).render(_text_backend())
    except PybtexError:  # unbalanced braces and the like: keep the characters
        return value.replace("{", "").replace("}", "")


def reference_rows(entries: dict[str, BibEntry]) -> list[list[str]]:
    """The rows of data/references.csv, sorted by key (a merge of two appends then rarely
    conflicts)."""
    rows = []
    for key in sorted(entries, key=str.lower):
        entry = entries[key]
        values = {"key": key, "entry_type": entry.entry_type}
        rows.append([values.get(c) or plain(entry.fields.get(c)) or "" for c in REFERENCE_COLUMNS])
    return rows


def render_references(entries: dict[str, BibEntry]) -> str:
    """The text of data/references.csv for these entries (header, then one row per entry)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REFERENCE_COLUMNS)
    writer.writerows(reference_rows(entries))
    return buffer.getvalue()


def write_references(root: Path | None = None) -> tuple[Path, int, bool]:
    """Write data/references.csv from references.bib: (path, entries, whether it changed).

    Refuses (DataError) while references.bib has problems: a broken register would drop rows.
    """
    base = package_root(root)
    entries, problems = read_bib(references_path(base), REFERENCES_FILE)
    if problems:
        raise DataError(f"{REFERENCES_FILE} has problems; fix them first:\n"
                        + "\n".join(f"  {p}" for p in problems))
    declared = resources(base)
    if REFERENCES_RESOURCE not in declared:
        raise DataError(f"data/{DESCRIPTOR} declares no {REFERENCES_RESOURCE!r} resource")
    path = declared[REFERENCES_RESOURCE].path
    text = render_references(entries)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path, len(entries), False
    tmp = path.with_name(path.name + ".incoming")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path, len(entries), True
