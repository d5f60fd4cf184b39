"""Reading a CSV table with exact spreadsheet row numbers (header = row 1, first data row = 2).

The `csv` module (not pandas) reads the records, so that a row number counts records, not lines;
a strict RFC 4180 pattern catches what the csv module silently accepts (a stray quote inside an
unquoted field). Malformed rows become Problems and are marked, never guessed at. The file is
streamed, record by record: a table of any length is validated in bounded memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mscfm.data.descriptor import Resource
from mscfm.data.problems import Problem
from mscfm.data.schemas import Schema

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Record:
    """One data row: its spreadsheet number and cells by column name.

    ``complete`` is False for a malformed row (already reported); its ``cells`` are then what a
    lenient reading found, or None when nothing could be read. Keys pointing at such a row are
    not reported as unknown, so one broken row is one problem.
    """

    number: int
    cells: dict[str, str] | None
    complete: bool = True


@dataclass
class CsvRows:
    """An open table: its header and an iterator over its data records."""

    header: list[str]
    records: Iterator[Record]


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




def _scan_bytes(path: Path, label: str) -> tuple[bool, Problem | None]:
    """Whether the file holds anything but whitespace, and a Problem for its first byte that is
    not UTF-8 (offsets count from after a byte-order mark); read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    problem: Problem | None = None
    offset = newlines = 0
    with path.open("rb") as handle:
        chunk = handle.read(_CHUNK)
        content = bool(chunk.strip())
        chunk = chunk.removeprefix(_BOM)
        while problem is None or not content:
            final = not chunk
            if problem is None:
                pending = decoder.getstate()[0]  # an unfinished character from the last chunk
                try:
                    decoder.decode(chunk, final=final)
                except UnicodeDecodeError as exc:  # exc.object is pending + chunk
                    line = newlines + exc.object.count(b"\n", 0, exc.start) + 1
                    problem = Problem(label, None, None,
                                      f"not valid UTF-8: byte 0x{exc.object[exc.start]:02X} at "
                                      f"byte offset {offset - len(pending) + exc.start} "
                                      f"(line {line}); save the file as UTF-8")
            if final:
                break
            offset += len(chunk)
            newlines += chunk.count(b"\n")
            chunk = handle.read(_CHUNK)
            content = content or bool(chunk.strip())
    return content, problem


def _csv_records(lines: Iterator[str], label: str,
                 problems: list[Problem]) -> Iterator[tuple[int, list[str] | None, str]]:
    """(row number, cells, raw text) per record; malformed ones become Problems and come with
    cells None (unreadable) or with the cells the lenient reading found, marked by raw = ""."""
    consumed: list[str] = []

    def remembered() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(remembered(), strict=True)
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


@contextmanager
def open_csv(resource: Resource, schema: Schema,
             problems: list[Problem]) -> Iterator[CsvRows | None]:
    """The table's header and records, or None when not even the header can be read; problems
    of the file, the header and malformed rows are appended as the records are read."""
    label = resource.label
    content, decode_problem = _scan_bytes(resource.path, label)
    if not content:
        problems.append(Problem(label, None, None, "empty file; expected a header row "
                                f"({', '.join(f.name for f in schema.fields)})"))
        yield None
        return
    with resource.path.open("rb") as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
        records = _csv_records(iter(text), label, problems)
        first = next(records, None)
        if first is None or not first[2]:
            problems.append(Problem(label, 1, None, "cannot read the header row"))
            yield None
            return
        header = first[1]
        _check_header(resource, schema, header, problems)
        yield CsvRows(header, _data_records(header, records, decode_problem, label, problems))


def _data_records(header: list[str], records: Iterator[tuple[int, list[str] | None, str]],
                  decode_problem: Problem | None, label: str,
                  problems: list[Problem]) -> Iterator[Record]:
    positions = {name: header.index(name) for name in header}
    for number, cells, raw in records:
        if cells is None or not raw:  # malformed, reported already
            yield Record(number, _loose_cells(header, cells), complete=False)
            continue
        if len(cells) != len(header):
            found = "an empty line" if not cells else f"{len(cells)} fields"
            problems.append(Problem(label, number, None,
                                    f"found {found}, expected {len(header)} (as in the header)"))
            yield Record(number, _loose_cells(header, cells), complete=False)
            continue
        if decode_problem is not None and "\ufffd" in raw:
            column = next(h for h, c in zip(header, cells, strict=True) if "\ufffd" in c)
            problems.append(Problem(label, number, column, decode_problem.message))
            decode_problem = None  # reported once, at the first bad row
        yield Record(number, {n: cells[i] for n, i in positions.items()})
    if decode_problem is not None:
        problems.append(decode_problem)


def _loose_cells(header: list[str], cells: list[str] | None) -> dict[str, str] | None:
    return None if cells is None else dict(zip(header, cells, strict=False))


def _check_header(resource: Resource, schema: Schema, header: list[str],
                  problems: list[Problem]) -> None:
    label = resource.label
    expected = [f.name for f in schema.fields]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(label, 1, name, "duplicate column name in the header"))
        seen.add(name)
        if name not in expected:
            problems.append(Problem(label, 1, name, "column not in the schema "
                                    f"({resource.schema_label}); remove it or add it there"))
    for name in expected:
        if name not in seen:
            problems.append(Problem(label, 1, name, "missing column; the schema expects it"))
