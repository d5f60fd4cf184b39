"""Reading a CSV table with exact spreadsheet row numbers (header = row 1, first data row = 2).

The `csv` module (not pandas) reads the records, so that a row number counts records, not lines;
a strict RFC 4180 pattern catches what the csv module silently accepts (a stray quote inside an
unquoted field). Malformed rows become Problems and are dropped, never guessed at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mscfm.data.descriptor import Resource
from mscfm.data.problems import Problem, decode
from mscfm.data.schemas import Schema


@dataclass
class Table:
    """A parsed table: per data row, its spreadsheet number, raw cells and typed values."""

    resource: Resource
    schema: Schema
    header: list[str]
    rows: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    # Rows dropped as malformed: their cells as far as they could be read (None: not at all).
    # Keys pointing at them are not reported as unknown, so one broken row is one problem.
    dropped: list[dict[str, str] | None] = field(default_factory=list)

    def keys(self, names: tuple[str, ...]) -> set[tuple[str, ...]]:
        rows = [raw for _, raw, _ in self.rows] + [raw for raw in self.dropped if raw]
        return {tuple(raw.get(n, "") for n in names) for raw in rows}

    @property
    def fully_read(self) -> bool:
        return None not in self.dropped


# One RFC 4180 record: fields unquoted (no quote, comma or line break) or fully quoted with
# inner quotes doubled. The csv module silently accepts a stray quote inside an unquoted field.
_FIELD = r'(?:"(?:[^"]|"")*"|[^",\r\n]*)'
_RECORD = re.compile(rf"{_FIELD}(?:,{_FIELD})*(?:\r\n|\n|\r)?")
_CSV_ERRORS = {
    "unexpected end of data": "unterminated quote: a quoted field starting in this row is "
                              "never closed",
    "',' expected after '\"'": "bad quoting: a closing quote must be followed by a comma or the "
                               "end of the line",
}
_QUOTING_HINT = 'expected fields quoted as "..." with inner quotes doubled ("")'


def _csv_records(text: str, label: str,
                 problems: list[Problem]) -> Iterator[tuple[int, list[str] | None, str]]:
    """(row number, cells, raw text) per record; malformed ones become Problems and come with
    cells None (unreadable) or with the cells the lenient reading found, marked by raw = ""."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), strict=True)
    number = 0
    while True:
        consumed.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            message = _CSV_ERRORS.get(str(exc), f"malformed CSV ({exc})")
            problems.append(Problem(label, number, None, f"{message}; {_QUOTING_HINT}"))
            yield number, None, ""
            continue
        number += 1
        raw = "".join(consumed)
        if '"' in raw and not _RECORD.fullmatch(raw):
            problems.append(Problem(label, number, None,
                                    f"bad quoting: a quote inside an unquoted field or text "
                                    f"after a closing quote; {_QUOTING_HINT}"))
            yield number, cells, ""
            continue
        yield number, cells, raw


def read_csv(resource: Resource, schema: Schema,
              problems: list[Problem]) -> Table | None:
    label = resource.label
    data = resource.path.read_bytes()
    if not data.strip():
        problems.append(Problem(label, None, None, "empty file; expected a header row "
                                f"({', '.join(f.name for f in schema.fields)})"))
        return None
    text, decode_problems = decode(data, label)
    records = _csv_records(text, label, problems)
    first = next(records, None)
    if first is None or not first[2]:
        problems.append(Problem(label, 1, None, "cannot read the header row"))
        return None
    header = first[1]
    table = Table(resource, schema, header)
    _check_header(table, problems)
    positions = {name: header.index(name) for name in header}
    for number, cells, raw in records:
        if cells is None or not raw:  # malformed, reported already
            table.dropped.append(_loose_cells(header, cells))
            continue
        if len(cells) != len(header):
            table.dropped.append(_loose_cells(header, cells))
            found = "an empty line" if not cells else f"{len(cells)} fields"
            problems.append(Problem(label, number, None,
                                    f"found {found}, expected {len(header)} (as in the header)"))
            continue
        if decode_problems and "\ufffd" in raw:
            column = next(h for h, c in zip(header, cells, strict=True) if "\ufffd" in c)
            problems.append(Problem(label, number, column, decode_problems[0].message))
            decode_problems = []  # reported once, at the first bad row
        table.rows.append((number, {n: cells[i] for n, i in positions.items()}, {}))
    problems.extend(decode_problems)
    return table


def _loose_cells(header: list[str], cells: list[str] | None) -> dict[str, str] | None:
    return None if cells is None else dict(zip(header, cells, strict=False))


def _check_header(table: Table, problems: list[Problem]) -> None:
    label, header = table.resource.label, table.header
    expected = [f.name for f in table.schema.fields]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(label, 1, name, "duplicate column name in the header"))
        seen.add(name)
        if name not in expected:
            problems.append(Problem(label, 1, name, "column not in the schema "
                                    f"({table.resource.schema_label}); remove it or add it there"))
    for name in expected:
        if name not in seen:
            problems.append(Problem(label, 1, name, "missing column; the schema expects it"))
