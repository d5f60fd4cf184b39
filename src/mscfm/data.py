"""Curated tables: read them, validate them against `data/datapackage.json`, load them typed.

The contract is in ARCHITECTURE.md ("Data contract") and data/schema/README.md. `validate()`
reports every problem in one pass; `load(name)` returns a typed DataFrame and refuses invalid data.
CSV files are read with the `csv` module (not pandas) so that row numbers are exact: header = row 1,
first data row = row 2, as a spreadsheet shows them.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from mscfm.errors import DataError
from mscfm.paths import project_root

DESCRIPTOR = "datapackage.json"
REFERENCES_FILE = "references.bib"
REFERENCES_RESOURCE = "references"  # virtual resource: the entry keys of references.bib
DECLARED_INPUTS_ENV = "MSCFM_DECLARED_INPUTS"
# claim_evidence.row_id names a row of the table given in claim_evidence.table.
ROW_REFERENCE_RESOURCE = "claim_evidence"

SOURCETYPES = (
    "RCT", "nonrandomized trial", "case report", "meta-analysis", "systematic review", "review",
    "observational", "animal study", "registry record", "registry snapshot", "regulator", "press",
    "company", "clinic web page", "guideline", "book", "web page",
)
IDENTIFIER_FIELDS = ("doi", "pmid", "nct", "url")
BIB_KEY_PATTERN = re.compile(r"[a-z][a-z0-9-]*\d{4}[a-z0-9-]*")

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "year")
NUMERIC_TYPES = ("integer", "number")  # the types the provenance rule counts as "a number"
ORDERED_TYPES = ("integer", "number", "year", "date")
SCHEMA_KEYS = ("fields", "primaryKey", "foreignKeys", "x-rules", "missingValues",
               "title", "description", "$schema")
FIELD_KEYS = ("name", "type", "description", "unit", "constraints", "title", "format", "example")
BOUND_CONSTRAINTS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
                     "exclusiveMaximum": "<"}
CONSTRAINT_NAMES = ("required", "unique", "enum", "pattern", "minLength", "maxLength",
                    *BOUND_CONSTRAINTS)
RULE_CHECKS = ("less_equal", "provenance", "required_if")


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data: where (file, row, column) and what was expected."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        place = self.file
        if self.row is not None:
            place += f":{self.row}"
        if self.column:
            place += f":{self.column}"
        return f"{place}: {self.message}"


# --------------------------------------------------------------------------- value types

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR = re.compile(r"\d{4}")
_BOOLEANS = {"true": True, "false": False}


def _parse_integer(text: str) -> int:
    if not _INTEGER.fullmatch(text) or not -(2**63) <= (value := int(text)) < 2**63:
        raise ValueError(text)  # not an integer, or too large for the Int64 column load gives
    return value


def _parse_number(text: str) -> float:
    if not _NUMBER.fullmatch(text) or not math.isfinite(value := float(text)):
        raise ValueError(text)  # rejects nan, inf, 1e999, "1,5", " 2"
    return value


def _parse_boolean(text: str) -> bool:
    return _BOOLEANS[text]


def _parse_date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def _parse_year(text: str) -> int:
    if not _YEAR.fullmatch(text):
        raise ValueError(text)
    return int(text)


# type -> (parser, what a valid value looks like)
_PARSERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "string": (str, "text"),
    "integer": (_parse_integer, "an integer (e.g. 12)"),
    "number": (_parse_number, "a number (e.g. 3.5 or -0.2e3)"),
    "boolean": (_parse_boolean, "true or false"),
    "date": (_parse_date, "a date YYYY-MM-DD"),
    "year": (_parse_year, "a 4-digit year"),
}


class _Invalid:
    """Marks a cell whose text does not parse as its field's type (already reported)."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = _Invalid()


# --------------------------------------------------------------------------- schema model


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    constraints: dict[str, Any]  # values already cast to the field's type
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str
    ref_fields: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    rules: tuple[dict[str, Any], ...]
    raw: dict[str, Any]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Resource:
    name: str
    path: Path
    schema_path: Path
    label: str  # as reported, relative to the project root: "data/outcomes.csv"
    schema_label: str


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


@dataclass
class ValidationReport:
    problems: list[Problem]
    tables: dict[str, Table]
    resources: dict[str, Resource]
    references: dict[str, BibEntry]
    descriptor_label: str
    references_label: str

    @property
    def n_rows(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())


# --------------------------------------------------------------------------- references.bib


@dataclass(frozen=True)
class BibEntry:
    key: str
    entry_type: str
    line: int
    fields: dict[str, str]


_BIB_AT = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_BIB_KEY = re.compile(r"\s*([^\s,{}()\"#%'=]+)\s*,")
_BIB_FIELD_NAME = re.compile(r"\s*([A-Za-z][\w:.+/-]*)\s*=\s*")
_BIB_BARE = re.compile(r"[\w:.+/-]+")


class _BibSyntaxError(Exception):
    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position


class _BibParser:
    """A small BibTeX reader that keeps line numbers and reports every syntax error."""

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self.label = label
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.macros: dict[str, str] = {}
        self.entries: list[BibEntry] = []
        self.broken_keys: set[str] = set()  # entries with a syntax error after their key
        self.problems: list[Problem] = []

    def line(self, position: int) -> int:
        return bisect.bisect_right(self.line_starts, position)

    def parse(self) -> None:
        position = 0
        while (at := self.text.find("@", position)) >= 0:
            try:
                position = self._entry(at)
            except _BibSyntaxError as exc:
                self.problems.append(Problem(self.label, self.line(exc.position), None,
                                             f"BibTeX syntax error: {exc}"))
                following = self.text.find("\n@", exc.position)
                position = len(self.text) if following < 0 else following + 1

    def _entry(self, at: int) -> int:
        match = _BIB_AT.match(self.text, at)
        if not match:
            raise _BibSyntaxError(at, "'@' must be followed by an entry type and '{'")
        kind, opener = match.group(1).lower(), match.group(2)
        closer = "}" if opener == "{" else ")"
        if kind in ("comment", "preamble"):
            return self._skip_group(match.end() - 1)
        if kind == "string":
            fields, end = self._fields(match.end(), closer, at)
            self.macros.update(fields)
            return end
        key_match = _BIB_KEY.match(self.text, match.end())
        if not key_match:
            raise _BibSyntaxError(match.end(), "expected an entry key followed by ','")
        try:
            fields, end = self._fields(key_match.end(), closer, at)
        except _BibSyntaxError:
            self.broken_keys.add(key_match.group(1))
            raise
        self.entries.append(BibEntry(key_match.group(1), kind, self.line(at), fields))
        return end

    def _fields(self, position: int, closer: str, start: int) -> tuple[dict[str, str], int]:
        fields: dict[str, str] = {}
        text = self.text
        while True:
            position = self._skip_space(position)
            if position >= len(text):
                raise _BibSyntaxError(start, f"entry never closed with '{closer}'")
            if text[position] == closer:
                return fields, position + 1
            name = _BIB_FIELD_NAME.match(text, position)
            if not name:
                raise _BibSyntaxError(position, "expected 'field = value'")
            value, position = self._value(name.end())
            field_name = name.group(1).lower()
            if field_name in fields:
                raise _BibSyntaxError(name.start(), f"field '{field_name}' given twice")
            fields[field_name] = " ".join(value.split())
            position = self._skip_space(position)
            if position < len(text) and text[position] == ",":
                position += 1
            elif position < len(text) and text[position] != closer:
                raise _BibSyntaxError(position, f"expected ',' or '{closer}' after a field")

    def _value(self, position: int) -> tuple[str, int]:
        parts = []
        while True:
            position = self._skip_space(position)
            char = self.text[position] if position < len(self.text) else ""
            if char == "{":
                end = self._skip_group(position)
                parts.append(self.text[position + 1:end - 1])
            elif char == '"':
                end = self._quoted(position)
                parts.append(self.text[position + 1:end - 1])
            elif bare := _BIB_BARE.match(self.text, position):
                end = bare.end()
                word = bare.group(0)
                parts.append(word if word.isdigit() else self.macros.get(word.lower(), word))
            else:
                raise _BibSyntaxError(position,
                                      "expected a value in {braces}, \"quotes\" or a number")
            position = self._skip_space(end)
            if position < len(self.text) and self.text[position] == "#":
                position += 1
                continue
            return "".join(parts), position

    def _skip_space(self, position: int) -> int:
        while position < len(self.text) and self.text[position].isspace():
            position += 1
        return position

    def _skip_group(self, position: int) -> int:
        """Position just past the bracket matching the one at `position`."""
        opener = self.text[position]
        closer = "}" if opener == "{" else ")"
        depth = 0
        for index in range(position, len(self.text)):
            char = self.text[index]
            if char == opener or (opener == "(" and char == "{"):
                depth += 1
            elif char == closer or (opener == "(" and char == "}"):
                depth -= 1
                if depth == 0:
                    return index + 1
        raise _BibSyntaxError(position, f"'{opener}' is never closed")

    def _quoted(self, position: int) -> int:
        depth = 0
        for index in range(position + 1, len(self.text)):
            char = self.text[index]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif char == '"' and depth == 0:
                return index + 1
        raise _BibSyntaxError(position, "'\"' is never closed")


def _check_bib_entries(entries: list[BibEntry], label: str) -> list[Problem]:
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    allowed = ", ".join(SOURCETYPES)
    for entry in entries:
        def report(message: str, entry: BibEntry = entry) -> None:
            problems.append(Problem(label, entry.line, entry.key, message))

        folded = entry.key.lower()
        if folded in first_line:
            report(f"duplicate key {entry.key!r}, first defined at line {first_line[folded]}")
        else:
            first_line[folded] = entry.line
        if not BIB_KEY_PATTERN.fullmatch(entry.key):
            report(f"key {entry.key!r} must be firstauthorYEARword in lower case "
                   "(e.g. vega2015allogeneic)")
        sourcetype = entry.fields.get("sourcetype", "")
        if not sourcetype:
            report(f"entry has no sourcetype field; expected one of: {allowed}")
        elif sourcetype not in SOURCETYPES:
            report(f"sourcetype must be one of: {allowed}; found {sourcetype!r}")
        year = entry.fields.get("year", "")
        if not _YEAR.fullmatch(year):
            report(f"year must be a 4-digit year, found {year!r}" if year
                   else "entry has no year field")
        if not any(entry.fields.get(name) for name in IDENTIFIER_FIELDS):
            report("entry has none of doi, pmid, nct, url; at least one is required")
    return problems


def _read_bib(path: Path, label: str) -> tuple[dict[str, BibEntry], set[str], list[Problem]]:
    """Entries by key, keys of entries with syntax errors, and the problems found."""
    if not path.is_file():
        return {}, set(), [Problem(label, None, None, "missing file: expected the BibTeX "
                                   "register of sources (every source key resolves to it)")]
    text, problems = _decode(path.read_bytes(), label)
    parser = _BibParser(text, label)
    parser.parse()
    problems = [*problems, *parser.problems, *_check_bib_entries(parser.entries, label)]
    entries: dict[str, BibEntry] = {}
    for entry in parser.entries:
        entries.setdefault(entry.key, entry)
    return entries, parser.broken_keys, problems


def read_bib_keys(path: Path) -> tuple[set[str], list[Problem]]:
    """The entry keys of a BibTeX file and the problems found in it (syntax, required fields)."""
    entries, _, problems = _read_bib(Path(path), Path(path).name)
    return set(entries), problems


# --------------------------------------------------------------------------- CSV reading

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


def _decode(data: bytes, label: str) -> tuple[str, list[Problem]]:
    """UTF-8 text (a byte-order mark is tolerated); invalid bytes become U+FFFD and a Problem."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = Problem(label, None, None,
                          f"not valid UTF-8: byte 0x{data[exc.start]:02X} at byte offset "
                          f"{exc.start} (line {line}); save the file as UTF-8")
        return data.decode("utf-8", errors="replace"), [problem]


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


def _read_csv(resource: Resource, schema: Schema,
              problems: list[Problem]) -> Table | None:
    label = resource.label
    data = resource.path.read_bytes()
    if not data.strip():
        problems.append(Problem(label, None, None, "empty file; expected a header row "
                                f"({', '.join(f.name for f in schema.fields)})"))
        return None
    text, decode_problems = _decode(data, label)
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


# --------------------------------------------------------------------------- descriptor & schema


def _load_json(path: Path, label: str, problems: list[Problem], what: str = "") -> Any:
    if not path.is_file():
        problems.append(Problem(label, None, None, f"missing file{what}"))
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, None, None, f"not valid UTF-8 ({exc.reason})"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(label, exc.lineno, None,
                                f"not valid JSON: {exc.msg} (column {exc.colno})"))
    return None


def _read_descriptor(data_dir: Path, label_prefix: str,
                     problems: list[Problem]) -> dict[str, Resource]:
    label = f"{label_prefix}{DESCRIPTOR}"
    descriptor = _load_json(data_dir / DESCRIPTOR, label, problems,
                            ": expected the data package descriptor listing every table")
    if descriptor is None:
        return {}
    listed = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(listed, list):
        problems.append(Problem(label, None, "resources", "expected a list of resources"))
        return {}
    resources: dict[str, Resource] = {}
    for index, item in enumerate(listed):
        where = f"resources[{index}]"
        if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) and item.get(k) for k in ("name", "path", "schema")):
            problems.append(Problem(label, None, where,
                                    "each resource needs string name, path and schema"))
            continue
        name, path, schema_path = item["name"], item["path"], item["schema"]
        if name in resources or name == REFERENCES_RESOURCE:
            problems.append(Problem(label, None, where, f"resource name {name!r} is taken"))
            continue
        if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
            problems.append(Problem(label, None, where, f"path {path!r} must stay inside data/"))
            continue
        resources[name] = Resource(name, data_dir / path, data_dir / schema_path,
                                   f"{label_prefix}{path}", f"{label_prefix}{schema_path}")
    return resources


class _SchemaReader:
    """Turns a Table Schema JSON object into a Schema, collecting problems instead of raising."""

    def __init__(self, label: str, resource_names: set[str]) -> None:
        self.label = label
        self.resource_names = resource_names
        self.problems: list[Problem] = []

    def problem(self, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.label, None, column, message))

    def read(self, raw: Any) -> Schema | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
            self.problem(None, "a schema must be a JSON object with a list of fields")
            return None
        for key in raw:
            if key not in SCHEMA_KEYS and not key.startswith("x-"):
                self.problem(None, f"unknown schema property {key!r}; "
                                   f"expected one of {', '.join(SCHEMA_KEYS)}")
        if raw.get("missingValues", [""]) != [""]:
            self.problem(None, 'missingValues must be [""]: only an empty cell is missing')
        fields = [f for f in (self._field(item) for item in raw["fields"]) if f]
        names = [f.name for f in fields]
        for name in {n for n in names if names.count(n) > 1}:
            self.problem(name, "field defined twice")
        primary_key = self._names(raw.get("primaryKey", []), names, "primaryKey")
        if not primary_key:
            self.problem(None, "primaryKey is missing; every curated table has one (usually id)")
        foreign_keys = tuple(fk for fk in (self._foreign_key(item, names)
                                           for item in raw.get("foreignKeys", [])) if fk)
        rules = tuple(rule for rule in raw.get("x-rules", []) if self._rule_ok(rule, fields))
        if self.problems:
            return None
        return Schema(tuple(fields), primary_key, foreign_keys, rules, raw)

    def _names(self, value: Any, known: list[str], where: str) -> tuple[str, ...]:
        listed = [value] if isinstance(value, str) else value
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            self.problem(None, f"{where} must be a field name or a list of field names")
            return ()
        for name in listed:
            if name not in known:
                self.problem(name, f"{where} names a field the schema does not define")
        return tuple(listed)

    def _field(self, item: Any) -> Field | None:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            self.problem(None, f"each field needs a name; found {item!r}")
            return None
        name, kind = item["name"], item.get("type", "string")
        for key in item:
            if key not in FIELD_KEYS and not key.startswith("x-"):
                self.problem(name, f"unknown field property {key!r}; "
                                   f"expected one of {', '.join(FIELD_KEYS)}")
        if item.get("format", "default") != "default":
            self.problem(name, "only the default format is supported (dates are YYYY-MM-DD)")
        if kind not in FIELD_TYPES:
            self.problem(name, f"unknown type {kind!r}; expected one of {', '.join(FIELD_TYPES)}")
            return None
        constraints = item.get("constraints", {})
        if not isinstance(constraints, dict):
            self.problem(name, "constraints must be an object")
            return None
        cast = {key: self._constraint(name, kind, key, value)
                for key, value in constraints.items()}
        pattern = None
        if isinstance(cast.get("pattern"), str):
            try:
                pattern = re.compile(cast["pattern"])
            except re.error as exc:
                self.problem(name, f"pattern is not a valid regular expression: {exc}")
        return Field(name, kind, cast, pattern)

    def _constraint(self, name: str, kind: str, key: str, value: Any) -> Any:
        if key not in CONSTRAINT_NAMES:
            self.problem(name, f"unknown constraint {key!r}; "
                               f"expected one of {', '.join(CONSTRAINT_NAMES)}")
        elif key in ("required", "unique") and not isinstance(value, bool):
            self.problem(name, f"{key} must be true or false")
        elif key in ("minLength", "maxLength") and (kind != "string" or type(value) is not int):
            self.problem(name, f"{key} must be an integer and applies to string fields")
        elif key == "pattern" and not isinstance(value, str):
            self.problem(name, "pattern must be a string")
        elif key == "enum":
            if not isinstance(value, list) or not value:
                self.problem(name, "enum must be a non-empty list")
                return None
            return [self._typed(name, kind, key, v) for v in value]
        elif key in BOUND_CONSTRAINTS:
            if kind not in ORDERED_TYPES:
                self.problem(name, f"{key} applies to {', '.join(ORDERED_TYPES)} fields")
                return None
            return self._typed(name, kind, key, value)
        return value

    def _typed(self, name: str, kind: str, key: str, value: Any) -> Any:
        parser, expected = _PARSERS[kind]
        text = "true" if value is True else "false" if value is False else str(value)
        try:
            return parser(text)
        except (ValueError, KeyError):
            self.problem(name, f"{key} value {value!r} is not {expected}")
            return None

    def _foreign_key(self, item: Any, names: list[str]) -> ForeignKey | None:
        reference = item.get("reference") if isinstance(item, dict) else None
        if not isinstance(reference, dict) or "fields" not in item:
            self.problem(None, "each foreignKey needs fields and a reference "
                               "{resource, fields}")
            return None
        fields = self._names(item["fields"], names, "foreignKeys.fields")
        resource = reference.get("resource", "")
        ref_fields = reference.get("fields")
        ref_fields = (ref_fields,) if isinstance(ref_fields, str) else tuple(ref_fields or ())
        if resource != REFERENCES_RESOURCE and resource not in self.resource_names:
            self.problem(fields[0] if fields else None,
                         f"foreign key refers to unknown resource {resource!r}")
            return None
        if resource == REFERENCES_RESOURCE and ref_fields != ("key",):
            self.problem(fields[0] if fields else None,
                         'the references resource has one field: "key"')
            return None
        if len(ref_fields) != len(fields):
            self.problem(None, "foreignKeys fields and reference fields differ in number")
            return None
        return ForeignKey(fields, resource, ref_fields)

    def _rule_ok(self, rule: Any, fields: list[Field]) -> bool:
        names = [f.name for f in fields]
        check = rule.get("check") if isinstance(rule, dict) else None
        if check not in RULE_CHECKS:
            self.problem(None, f"unknown x-rules check {check!r}; "
                               f"expected one of {', '.join(RULE_CHECKS)}")
            return False
        listed = [rule.get("field")] if check == "required_if" else rule.get("fields")
        if check == "required_if":
            listed = [*listed, *(rule.get("if_empty") or [])]
            if not rule.get("if_empty"):
                self.problem(rule.get("field"), "required_if needs a non-empty if_empty list")
                return False
        if not isinstance(listed, list) or not listed or not all(n in names for n in listed):
            self.problem(None, f"x-rules {check}: every field must be defined in the schema; "
                               f"found {listed!r}")
            return False
        if check == "less_equal":
            kinds = {next(f.type for f in fields if f.name == n) for n in listed}
            if len(listed) < 2 or not kinds <= set(ORDERED_TYPES):
                self.problem(None, "x-rules less_equal needs two or more number, integer, "
                                   "year or date fields")
                return False
        return True


# --------------------------------------------------------------------------- row checks


def _check_cells(table: Table, problems: list[Problem]) -> None:
    """Types and per-cell constraints; fills the typed values of each row."""
    label = table.resource.label
    fields = [f for f in table.schema.fields if f.name in table.header]
    for number, raw, typed in table.rows:
        for fld in fields:
            text = raw[fld.name]
            message = _cell_problem(fld, text, typed)
            if message:
                problems.append(Problem(label, number, fld.name, message))


def _cell_problem(fld: Field, text: str, typed: dict[str, Any]) -> str | None:
    constraints = fld.constraints
    if text == "":
        typed[fld.name] = None
        return "required value is empty" if constraints.get("required") else None
    parser, expected = _PARSERS[fld.type]
    try:
        value = parser(text)
    except (ValueError, KeyError):
        typed[fld.name] = INVALID
        return f"expected {expected}, found {text!r}"
    typed[fld.name] = value
    enum = constraints.get("enum")
    if enum is not None and value not in enum:
        return f"must be one of {', '.join(map(str, enum))}; found {text!r}"
    for key, sign in BOUND_CONSTRAINTS.items():
        bound = constraints.get(key)
        if bound is not None and not _compare(value, sign, bound):
            return f"must be {sign} {_show(bound)}, found {text}"
    if fld.pattern is not None and not fld.pattern.fullmatch(text):
        return f"must match the pattern {fld.pattern.pattern}, found {text!r}"
    if len(text) < constraints.get("minLength", 0):
        return f"must have at least {constraints['minLength']} characters, found {text!r}"
    if "maxLength" in constraints and len(text) > constraints["maxLength"]:
        return f"must have at most {constraints['maxLength']} characters, found {len(text)}"
    return None


def _show(value: Any) -> str:
    """A bound as a person would write it: 0 rather than 0.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(value: Any, sign: str, bound: Any) -> bool:
    return {">=": value >= bound, "<=": value <= bound, ">": value > bound,
            "<": value < bound}[sign]


def _check_unique(table: Table, problems: list[Problem]) -> None:
    schema, label = table.schema, table.resource.label
    groups = [schema.primary_key] + [
        (f.name,) for f in schema.fields
        if f.constraints.get("unique") and (f.name,) != schema.primary_key]
    for names in groups:
        if not all(n in table.header for n in names):
            continue
        is_key = names == schema.primary_key
        first_row: dict[tuple[str, ...], int] = {}
        for number, raw, _ in table.rows:
            value = tuple(raw[n] for n in names)
            if is_key and "" in value:
                if not any(table.schema.field(n).constraints.get("required") for n in names):
                    problems.append(Problem(label, number, names[0],
                                            "primary key value is empty"))
                continue
            if "" in value:
                continue
            if value in first_row:
                kind = "primary key" if is_key else "value in a unique column"
                shown = ", ".join(value)
                problems.append(Problem(label, number, names[0],
                                        f"duplicate {kind} {shown!r}, first at row "
                                        f"{first_row[value]}"))
            else:
                first_row[value] = number


def _check_rules(table: Table, problems: list[Problem]) -> None:
    label = table.resource.label
    numeric = [f.name for f in table.schema.fields
               if f.type in NUMERIC_TYPES and f.name in table.header]
    for rule in table.schema.rules:
        check = rule["check"]
        involved = [rule["field"], *rule["if_empty"]] if check == "required_if" else rule["fields"]
        if not all(n in table.header for n in involved):
            continue  # the missing column is reported already
        for number, raw, typed in table.rows:
            for column, message in _rule_problems(rule, raw, typed, numeric):
                problems.append(Problem(label, number, column, message))


def _rule_problems(rule: dict[str, Any], raw: dict[str, str], typed: dict[str, Any],
                   numeric: list[str]) -> Iterator[tuple[str, str]]:
    check = rule["check"]
    if check == "less_equal":
        names = rule["fields"]
        for i, low in enumerate(names):
            for high in names[i + 1:]:
                a, b = typed.get(low), typed.get(high)
                if a is None or b is None or a is INVALID or b is INVALID:
                    continue
                if a > b:
                    yield low, f"{low} ({raw[low]}) must be <= {high} ({raw[high]})"
    elif check == "provenance":
        filled = [n for n in numeric if raw[n] != ""]
        if filled:
            for name in rule["fields"]:
                if raw[name] == "":
                    yield name, (f"{name} is empty but the row holds numbers "
                                 f"({', '.join(filled)}); every number needs a source and "
                                 "locator")
    elif check == "required_if":
        name, if_empty = rule["field"], rule["if_empty"]
        if raw[name] == "" and all(raw[n] == "" for n in if_empty):
            yield name, (f"{name} is empty although {', '.join(if_empty)} is empty; "
                         "say why the value is missing")


def _check_foreign_keys(table: Table, tables: dict[str, Table], bib_keys: set[str],
                        references_label: str, problems: list[Problem]) -> None:
    label = table.resource.label
    for fk in table.schema.foreign_keys:
        if not all(n in table.header for n in fk.fields):
            continue
        if fk.resource == REFERENCES_RESOURCE:
            known = {(k,) for k in bib_keys}
            where = f"not an entry key in {references_label}"
        elif fk.resource in tables:
            target = tables[fk.resource]
            if not target.fully_read or not all(n in target.header for n in fk.ref_fields):
                continue
            known = target.keys(fk.ref_fields)
            where = f"no row of {target.resource.label} has it as {', '.join(fk.ref_fields)}"
        else:
            continue  # the target table is missing or unreadable: reported already
        for number, raw, _ in table.rows:
            value = tuple(raw[n] for n in fk.fields)
            if "" not in value and value not in known:
                shown = ", ".join(value)
                problems.append(Problem(label, number, fk.fields[0],
                                        f"unknown key {shown!r}: {where}"))


def _check_row_references(table: Table, tables: dict[str, Table],
                          resources: dict[str, Resource], problems: list[Problem]) -> None:
    """claim_evidence: when `table` and `row_id` are set, row_id is a key of that table."""
    if not {"table", "row_id"} <= set(table.header):
        return
    label = table.resource.label
    for number, raw, _ in table.rows:
        name, row_id = raw["table"].removesuffix(".csv"), raw["row_id"]
        if not name or not row_id:
            continue
        if name not in resources:
            problems.append(Problem(label, number, "table",
                                    f"unknown table {raw['table']!r}; expected one of "
                                    f"{', '.join(sorted(resources))}"))
            continue
        target = tables.get(name)
        if target is None or not target.fully_read:
            continue
        key = target.schema.primary_key
        if len(key) == 1 and key[0] in target.header and (row_id,) not in target.keys(key):
            problems.append(Problem(label, number, "row_id",
                                    f"unknown row {row_id!r}: no row of {target.resource.label} "
                                    f"has it as {key[0]}"))


# --------------------------------------------------------------------------- validation


def _base(root: Path | None) -> Path:
    if root is not None:
        return Path(root)
    try:
        return project_root()
    except FileNotFoundError as exc:
        raise DataError(str(exc)) from exc


def _data_dir(root: Path | None) -> tuple[Path, str]:
    """The data folder and the prefix problems use for its files (relative to the root)."""
    return _base(root) / "data", "data/"


def _references_path(root: Path | None) -> Path:
    """references.bib lives at the project root (the book's bibliography uses it too)."""
    return _base(root) / REFERENCES_FILE


def _table_problems(resource: Resource, schema: Schema, problems: list[Problem]) -> Table | None:
    if not resource.path.is_file():
        problems.append(Problem(resource.label, None, None,
                                f"missing file: expected table {resource.name!r}"))
        return None
    table = _read_csv(resource, schema, problems)
    if table is not None:
        _check_cells(table, problems)
        _check_unique(table, problems)
        _check_rules(table, problems)
    return table


def _run_validation(root: Path | None) -> ValidationReport:
    data_dir, prefix = _data_dir(root)
    problems: list[Problem] = []
    resources = _read_descriptor(data_dir, prefix, problems)
    references_label = REFERENCES_FILE
    references, broken_keys, bib_problems = _read_bib(_references_path(root), references_label)
    problems.extend(bib_problems)
    tables: dict[str, Table] = {}
    for resource in resources.values():
        reader = _SchemaReader(resource.schema_label, set(resources))
        raw_schema = _load_json(resource.schema_path, resource.schema_label, reader.problems,
                                f": expected the schema of table {resource.name!r}")
        schema = reader.read(raw_schema) if raw_schema is not None else None
        problems.extend(reader.problems)
        if schema is not None:
            table = _table_problems(resource, schema, problems)
            if table is not None:
                tables[resource.name] = table
        elif not resource.path.is_file():
            problems.append(Problem(resource.label, None, None,
                                    f"missing file: expected table {resource.name!r}"))
    for table in tables.values():
        _check_foreign_keys(table, tables, set(references) | broken_keys, references_label,
                            problems)
        if table.resource.name == ROW_REFERENCE_RESOURCE:
            _check_row_references(table, tables, resources, problems)
    order = {label: i for i, label in enumerate(_file_order(resources, prefix))}
    problems.sort(key=lambda p: (order.get(p.file, len(order)), p.file, p.row or 0))
    return ValidationReport(problems, tables, resources, references,
                            f"{prefix}{DESCRIPTOR}", references_label)


def _file_order(resources: dict[str, Resource], prefix: str) -> list[str]:
    labels = [f"{prefix}{DESCRIPTOR}", REFERENCES_FILE]
    for resource in resources.values():
        labels += [resource.schema_label, resource.label]
    return labels


_CACHE: dict[tuple[str, str], ValidationReport] = {}


def _content_hash(data_dir: Path, references: Path) -> str:
    digest = hashlib.sha256()
    files = [data_dir / DESCRIPTOR, *data_dir.glob("*.csv"), *data_dir.glob("schema/*.json")]
    for path in [references, *sorted(set(files))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"\0missing")
    return digest.hexdigest()


def validation_report(root: Path | None = None) -> ValidationReport:
    """Validate the data package, reusing the result while no data file's content changed."""
    data_dir, _ = _data_dir(root)
    key = (str(data_dir.resolve()), _content_hash(data_dir, _references_path(root)))
    if key not in _CACHE:
        _CACHE.clear()  # one package state per process is enough
        _CACHE[key] = _run_validation(root)
    return _CACHE[key]


def validate(root: Path | None = None) -> list[Problem]:
    """Every problem in the data package under `root/data` (default: the project root)."""
    return list(validation_report(root).problems)


# --------------------------------------------------------------------------- typed access


def table_names(root: Path | None = None) -> list[str]:
    """The resource names listed in data/datapackage.json, in their order."""
    return list(_resources(root))


def table_path(name: str, root: Path | None = None) -> Path:
    """Where the CSV of table `name` lives."""
    return _resource(name, root).path


def schema(name: str, root: Path | None = None) -> list[dict[str, Any]]:
    """The field definitions of table `name` as written in its schema (for the docs pages)."""
    resource = _resource(name, root)
    problems: list[Problem] = []
    raw = _load_json(resource.schema_path, resource.schema_label, problems)
    if problems or not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
        raise DataError(f"{resource.schema_label}: cannot read the schema of {name!r}")
    return raw["fields"]


def _resources(root: Path | None) -> dict[str, Resource]:
    data_dir, prefix = _data_dir(root)
    problems: list[Problem] = []
    resources = _read_descriptor(data_dir, prefix, problems)
    if problems:
        raise DataError("\n".join(str(p) for p in problems))
    return resources


def _resource(name: str, root: Path | None) -> Resource:
    resources = _resources(root)
    if name not in resources:
        raise DataError(f"unknown table {name!r}; expected one of {', '.join(resources)}")
    return resources[name]


def _check_declared(path: Path, root: Path) -> None:
    """During a build, a notebook may only read the data files its metadata declares."""
    declared = os.environ.get(DECLARED_INPUTS_ENV)
    if declared is None:
        return
    try:
        listed = json.loads(declared)
        if not isinstance(listed, list):
            raise ValueError
        allowed = {PurePosixPath(os.path.normpath(str(p))).as_posix() for p in listed}
    except ValueError as exc:
        raise DataError(f"{DECLARED_INPUTS_ENV} must be a JSON list of paths, "
                        f"found {declared!r}") from exc
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    if relative not in allowed:
        raise DataError(f"notebook reads {relative} but does not declare it in its metadata "
                        "mscfm.inputs")


def _raise_if_invalid(name: str, report: ValidationReport) -> None:
    resource = report.resources[name]
    files = {report.descriptor_label, resource.label, resource.schema_label}
    table = report.tables.get(name)
    for fk in table.schema.foreign_keys if table else ():
        target = report.resources.get(fk.resource)
        files |= {target.label, target.schema_label} if target else {report.references_label}
    relevant = [p for p in report.problems if p.file in files]
    if relevant or table is None:
        shown = "\n".join(f"  {p}" for p in relevant[:20])
        more = f"\n  ... and {len(relevant) - 20} more" if len(relevant) > 20 else ""
        raise DataError(f"table {name!r} is invalid ({len(relevant)} problems; run "
                        f"`mscfm validate`):\n{shown}{more}")


def load(name: str, root: Path | None = None) -> pd.DataFrame:
    """Table `name`, validated and typed, sorted by its primary key."""
    base = _base(root)
    resource = _resource(name, base)
    _check_declared(resource.path, base)
    report = validation_report(base)
    _raise_if_invalid(name, report)
    return _frame(report.tables[name])


def load_file(path: str | Path, like: str, root: Path | None = None) -> pd.DataFrame:
    """A CSV outside the data package, validated and typed with the schema of table `like`.

    For derived tables written next to the curated ones, e.g. a refreshed registry
    (`mscfm refresh-registry` writes data/registry_<date>.csv). Foreign keys are not checked.
    """
    base = _base(root)
    resource = _resource(like, base)
    target = Path(path) if Path(path).is_absolute() else base / path
    _check_declared(target, base)
    problems: list[Problem] = []
    reader = _SchemaReader(resource.schema_label, set(_resources(base)))
    raw_schema = _load_json(resource.schema_path, resource.schema_label, reader.problems)
    schema = reader.read(raw_schema) if raw_schema is not None else None
    problems.extend(reader.problems)
    label = os.path.relpath(target, base)
    variant = Resource(like, target, resource.schema_path, label, resource.schema_label)
    table = _table_problems(variant, schema, problems) if schema is not None else None
    if problems or table is None:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        raise DataError(f"{label} is not a valid {like!r} table:\n{shown}")
    return _frame(table)


def _frame(table: Table) -> pd.DataFrame:
    columns = {f.name: _column(f, [typed[f.name] for _, _, typed in table.rows])
               for f in table.schema.fields}
    frame = pd.DataFrame(columns)
    return frame.sort_values(list(table.schema.primary_key), kind="stable", ignore_index=True)


def _column(fld: Field, values: list[Any]) -> pd.Series:
    if fld.type in ("integer", "year"):
        return pd.Series(values, dtype="Int64")
    if fld.type == "number":
        return pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
    if fld.type == "boolean":
        return pd.Series(values, dtype="boolean")
    if fld.type == "date":
        # seconds, not nanoseconds: any year 0001-9999 fits
        return pd.Series([pd.NaT if v is None else np.datetime64(v, "s") for v in values],
                         dtype="datetime64[s]")
    return pd.Series(values, dtype="str")


def load_references(root: Path | None = None) -> pd.DataFrame:
    """The entries of references.bib: key, sourcetype, year, doi, pmid, nct, url, title."""
    base = _base(root)
    _check_declared(_references_path(base), base)
    report = validation_report(base)
    relevant = [p for p in report.problems if p.file == report.references_label]
    if relevant:
        raise DataError(f"{report.references_label} is invalid:\n"
                        + "\n".join(f"  {p}" for p in relevant))
    columns = ("sourcetype", "year", *IDENTIFIER_FIELDS, "title")
    rows = [{"key": e.key, **{c: _plain(e.fields.get(c)) for c in columns}}
            for e in report.references.values()]
    frame = pd.DataFrame(rows, columns=["key", *columns], dtype="str")
    frame["year"] = pd.Series([int(y) for y in frame["year"]], dtype="Int64")
    return frame.sort_values("key", ignore_index=True)


def _plain(value: str | None) -> str | None:
    """BibTeX value without protective braces."""
    return None if value is None else value.replace("{", "").replace("}", "")
