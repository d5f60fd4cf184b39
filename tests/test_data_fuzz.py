"""Property tests for the validator.

1. Tables generated from a schema (types, constraints, keys, x-rules) validate clean.
2. Randomly corrupted copies of the data files (the shipped tables, and the fixture package)
   always give at least one new Problem naming the file and a row, and never an exception.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mscfm import data
from mscfm.data import Problem, validate

FIXTURE = Path(__file__).parent / "fixtures" / "datapkg"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURE_BIB_KEYS = ["smith2015knee", "doe2019back", "ctgov2016snapshot"]
FIXTURE_STUDY_IDS = ["S01", "S02", "S03"]

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])

# Text a CSV cell may hold: anything but NUL and lone surrogates (not encodable as UTF-8).
CELL_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    max_size=12)


def write_csv(path: Path, rows: list[list[str]]) -> None:
    # CRLF: the csv writer quotes a cell holding a lone "\r" only when "\r" ends its lines.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


# --------------------------------------------------------------------------- 1. generated tables


def value_strategy(field: dict[str, Any]) -> st.SearchStrategy[str]:
    """Text of a valid non-empty cell for a schema field."""
    constraints = field.get("constraints", {})
    kind = field.get("type", "string")
    if "enum" in constraints:
        return st.sampled_from([str(v).lower() if isinstance(v, bool) else str(v)
                                for v in constraints["enum"]])
    if "pattern" in constraints:
        return st.from_regex(constraints["pattern"], fullmatch=True).filter(
            lambda s: "\x00" not in s)
    low = constraints.get("minimum", constraints.get("exclusiveMinimum"))
    high = constraints.get("maximum", constraints.get("exclusiveMaximum"))
    if kind == "integer":
        low = -(2**63) if low is None else low
        high = 2**63 - 1 if high is None else high
        return st.integers(min_value=low, max_value=high).map(str)
    if kind == "number":
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False,
                         exclude_min="exclusiveMinimum" in constraints,
                         exclude_max="exclusiveMaximum" in constraints).map(repr)
    if kind == "boolean":
        return st.sampled_from(["true", "false"])
    if kind == "date":
        return st.dates().map(lambda d: d.isoformat())
    if kind == "year":
        return st.integers(1000, 9999).map(str)
    return CELL_TEXT.filter(bool)


def cell_strategy(field: dict[str, Any], choices: dict[str, list[str]]) -> st.SearchStrategy[str]:
    values = (st.sampled_from(choices[field["name"]]) if field["name"] in choices
              else value_strategy(field))
    if field.get("constraints", {}).get("required"):
        return values
    return st.one_of(st.just(""), values)


def apply_rules(row: dict[str, str], schema: dict[str, Any]) -> dict[str, str]:
    """Make a row satisfy the schema's x-rules (the generator's side of the contract)."""
    for rule in schema.get("x-rules", []):
        if rule["check"] == "less_equal":
            low, high = rule["fields"]
            if row[low] and row[high] and float(row[low]) > float(row[high]):
                row[low], row[high] = row[high], row[low]
        elif rule["check"] == "required_if":
            if not row[rule["field"]] and not any(row[n] for n in rule["if_empty"]):
                row[rule["field"]] = "not reported"
        elif rule["check"] == "provenance":
            for name in rule["fields"]:
                row[name] = row[name] or "table 1"
    return row


def table_strategy(schema: dict[str, Any],
                   choices: dict[str, list[str]]) -> st.SearchStrategy[list[dict[str, str]]]:
    row = st.fixed_dictionaries({f["name"]: cell_strategy(f, choices) for f in schema["fields"]})
    key = schema["primaryKey"]
    key_fields = [key] if isinstance(key, str) else key
    return st.lists(row.map(lambda r: apply_rules(r, schema)), max_size=8,
                    unique_by=lambda r: tuple(r[k] for k in key_fields))


def fixture_schema(table: str) -> dict[str, Any]:
    return json.loads((FIXTURE / "data" / "schema" / f"{table}.schema.json").read_text())


@dataclass(frozen=True)
class Generated:
    table: str
    choices: dict[str, list[str]]  # foreign-key columns draw from these existing keys
    emptied: tuple[str, ...]  # tables reduced to their header (they would point at lost rows)


GENERATED = {
    "outcomes": Generated("outcomes", {"study_id": FIXTURE_STUDY_IDS,
                                       "source": FIXTURE_BIB_KEYS}, ("claim_evidence",)),
    "studies": Generated("studies", {"source": FIXTURE_BIB_KEYS},
                         ("outcomes", "claim_evidence")),
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated") / "pkg"
    shutil.copytree(FIXTURE, root)
    for name in ("outcomes", "claim_evidence"):
        path = root / "data" / f"{name}.csv"
        write_csv(path, read_csv(path)[:1])
    return root


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_tables_validate_clean(scratch: Path, name: str) -> None:
    spec = GENERATED[name]
    schema = fixture_schema(spec.table)

    @SETTINGS
    @given(rows=table_strategy(schema, spec.choices))
    def check(rows: list[dict[str, str]]) -> None:
        header = [f["name"] for f in schema["fields"]]
        write_csv(scratch / "data" / f"{spec.table}.csv",
                  [header, *([r[h] for h in header] for r in rows)])
        problems = validate(scratch)
        assert problems == [], "\n".join(map(str, problems))
        assert len(data.load(spec.table, scratch)) == len(rows)

    original = (scratch / "data" / f"{spec.table}.csv").read_bytes()
    try:
        check()
    finally:
        (scratch / "data" / f"{spec.table}.csv").write_bytes(original)


# --------------------------------------------------------------------------- 2. corrupted copies


def normalized(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def numeric_columns(schema_path: Path, header: list[str]) -> list[int]:
    fields = json.loads(schema_path.read_text(encoding="utf-8"))["fields"]
    kinds = {f["name"]: f.get("type", "string") for f in fields}
    return [i for i, name in enumerate(header) if kinds.get(name) in ("integer", "number", "year")]


def delete_cell(rows: list[list[str]], draw: Callable, numeric: list[int]) -> str:
    row = draw(st.integers(1, len(rows) - 1))
    del rows[row][draw(st.integers(0, len(rows[row]) - 1))]
    return normalized(rows)


def number_to_text(rows: list[list[str]], draw: Callable, numeric: list[int]) -> str:
    row = draw(st.integers(1, len(rows) - 1))
    rows[row][draw(st.sampled_from(numeric))] = draw(st.from_regex(r"[a-zA-Z][a-z ]{0,8}",
                                                                   fullmatch=True))
    return normalized(rows)


def duplicate_row(rows: list[list[str]], draw: Callable, numeric: list[int]) -> str:
    row = draw(st.integers(1, len(rows) - 1))
    rows.insert(draw(st.integers(row + 1, len(rows))), list(rows[row]))
    return normalized(rows)


def truncate_line(rows: list[list[str]], draw: Callable, numeric: list[int]) -> str:
    """Cut a data line at or before its last comma, so at least one field boundary is lost."""
    lines = normalized(rows).splitlines(keepends=True)
    candidates = [i for i in range(1, len(lines)) if "," in lines[i]]
    index = draw(st.sampled_from(candidates))
    cut = draw(st.integers(0, lines[index].rindex(",")))
    lines[index] = lines[index][:cut] + "\n"
    return "".join(lines)


def insert_quote(rows: list[list[str]], draw: Callable, numeric: list[int]) -> str:
    text = normalized(rows)
    start = text.index("\n") + 1  # after the header
    position = draw(st.integers(start, len(text)))
    return text[:position] + '"' + text[position:]


CORRUPTIONS = {"delete a cell": delete_cell, "change a number to text": number_to_text,
               "duplicate a row": duplicate_row, "truncate a line": truncate_line,
               "insert a quote": insert_quote}


def corruptible_tables(root: Path) -> list[str]:
    """Tables with a schema and at least one data row (the shipped data grows as curators work)."""
    names = []
    for name in data.table_names(root):
        path = data.table_path(name, root)
        schema_path = root / "data" / "schema" / f"{name}.schema.json"
        if path.is_file() and schema_path.is_file() and len(read_csv(path)) > 1:
            names.append(name)
    return names


def copy_package(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copytree(source / "data", target / "data", ignore=shutil.ignore_patterns("raw"))
    if (source / "references.bib").is_file():
        shutil.copy(source / "references.bib", target / "references.bib")
    # The corruptions work on a normalized (csv-module) serialization: start from that.
    for name in corruptible_tables(target):
        path = data.table_path(name, target)
        path.write_text(normalized(read_csv(path)), encoding="utf-8")
    return target


@pytest.fixture(scope="module", params=["shipped", "fixture"])
def package(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Problem]]:
    source = PROJECT_ROOT if request.param == "shipped" else FIXTURE
    root = copy_package(source, tmp_path_factory.mktemp(request.param) / "pkg")
    return root, validate(root)


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corrupted_copy_gives_a_located_problem(package: tuple[Path, list[Problem]],
                                                corruption: str) -> None:
    root, baseline = package
    tables = corruptible_tables(root)
    assert tables, "no table to corrupt"

    @settings(SETTINGS, max_examples=10)
    @given(st.data())
    def check(draws: st.DataObject) -> None:
        candidates = tables
        if corruption == "change a number to text":
            candidates = [t for t in tables if numeric_columns(
                root / "data" / "schema" / f"{t}.schema.json", read_csv(
                    data.table_path(t, root))[0])]
        name = draws.draw(st.sampled_from(candidates), label="table")
        path = data.table_path(name, root)
        original = path.read_bytes()
        rows = read_csv(path)
        numeric = numeric_columns(root / "data" / "schema" / f"{name}.schema.json", rows[0])
        try:
            path.write_text(CORRUPTIONS[corruption](rows, draws.draw, numeric), encoding="utf-8")
            new = [p for p in validate(root) if p not in baseline]
        finally:
            path.write_bytes(original)
        label = f"data/{path.name}"
        assert any(p.file == label and p.row is not None for p in new), (
            f"{corruption} in {label} went unnoticed; new problems: {new}")

    check()
