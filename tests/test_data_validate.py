"""`mscfm.data.validate`, `load` and `mscfm validate`: each rule is shown to fire on a broken copy.

The good fixture (tests/fixtures/datapkg) validates clean; every test copies it, breaks one thing
and checks that exactly that problem is reported, with the right file, row and column.
Rows are numbered as a spreadsheet shows them: header = 1, first data row = 2.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mscfm import data
from mscfm.cli import main
from mscfm.data import Problem, validate
from mscfm.data.bib import read_bib
from mscfm.data.validation import run_validation
from mscfm.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "datapkg"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXPECTED_TABLES = ("claims", "claim_evidence", "certainty", "searches", "strategies", "screening",
                   "risk_of_bias", "amstar", "preclinical", "products",
                   "regulatory", "costs", "studies", "outcomes", "pooled", "instruments",
                   "registry", "benchmark", "article", "article_sentences", "references")


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    shutil.copytree(FIXTURE, root)
    return root


# --------------------------------------------------------------------------- editing helpers


def csv_path(root: Path, table: str) -> Path:
    return root / "data" / f"{table}.csv"


def read_rows(root: Path, table: str) -> list[list[str]]:
    with csv_path(root, table).open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(root: Path, table: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    csv_path(root, table).write_text(buffer.getvalue(), encoding="utf-8")


def set_cell(root: Path, table: str, row: int, column: str, value: str) -> None:
    """Set one cell; `row` in spreadsheet numbering (first data row = 2)."""
    rows = read_rows(root, table)
    rows[row - 1][rows[0].index(column)] = value
    write_rows(root, table, rows)


def replace_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"fixture text {old!r} must occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# Every way these tests break the fixture, by name: tests/test_frictionless.py checks that
# Frictionless agrees on each one (see all_breakages()).
BREAKERS: dict[str, Callable[[Path], None]] = {}


def breaker(name: str) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def register(function: Callable[[Path], None]) -> Callable[[Path], None]:
        BREAKERS[name] = function
        return function
    return register


def only_problem(root: Path) -> Problem:
    problems = validate(root)
    assert len(problems) == 1, "expected one problem, got:\n" + "\n".join(map(str, problems))
    return problems[0]


def assert_problem(problem: Problem, file: str, row: int | None, column: str | None,
                   *fragments: str) -> None:
    assert (problem.file, problem.row, problem.column) == (file, row, column), str(problem)
    for fragment in fragments:
        assert fragment in problem.message, str(problem)


# --------------------------------------------------------------------------- the good fixture


def test_fixture_is_valid() -> None:
    assert validate(FIXTURE) == []


def test_problem_formats_as_file_row_column() -> None:
    problem = Problem("data/outcomes.csv", 14, "sd", "must be > 0, found -1.2")
    assert str(problem) == "data/outcomes.csv:14:sd: must be > 0, found -1.2"
    assert str(Problem("data/x.csv", None, None, "missing file")) == "data/x.csv: missing file"


# --------------------------------------------------------------------------- one rule per test

# (table, row, column, new value, expected column, fragments of the message)
CELL_BREAKAGES = {
    "wrong type": ("outcomes", 5, "n", "twenty", "n", ["expected an integer", "'twenty'"]),
    "number with comma": ("outcomes", 2, "mean", "-10,0", "mean", ["expected a number"]),
    "empty required value": ("outcomes", 3, "outcome", "", "outcome", ["required value is empty"]),
    "duplicate id": ("outcomes", 5, "id", "O003", "id",
                     ["duplicate primary key 'O003'", "first at row 4"]),
    "unknown source key": ("outcomes", 5, "source", "doe2019bak", "source",
                           ["unknown key 'doe2019bak'", "references.bib"]),
    "unknown study_id": ("outcomes", 5, "study_id", "S09", "study_id",
                         ["unknown key 'S09'", "data/studies.csv"]),
    "SD below zero": ("outcomes", 5, "sd", "-1.2", "sd", ["must be > 0, found -1.2"]),
    "SD equal to zero": ("outcomes", 5, "sd", "0", "sd", ["must be > 0, found 0"]),
    "events > n": ("outcomes", 4, "events", "16", "events", ["events (16) must be <= n (15)"]),
    "CI lower > upper": ("outcomes", 2, "ci_lb", "3.0", "ci_lb",
                         ["ci_lb (3.0) must be <= ci_ub (2.0)"]),
    "below minimum": ("studies", 2, "n_randomized", "0", "n_randomized", ["must be >= 1"]),
    "enum violation": ("studies", 2, "design", "randomized", "design",
                       ["must be one of", "'randomized'"]),
    "pattern violation": ("studies", 3, "nct", "NCT123", "nct", ["must match the pattern"]),
    "impossible date": ("studies", 2, "start_date", "2012-02-30", "start_date",
                        ["expected a date YYYY-MM-DD"]),
    "date in another format": ("studies", 4, "start_date", "30/11/2014", "start_date",
                               ["expected a date YYYY-MM-DD"]),
    "bad boolean": ("studies", 2, "blinded", "yes", "blinded", ["true or false"]),
    "bad year": ("outcomes", 2, "year", "15", "year", ["4-digit year"]),
    "number without locator": ("outcomes", 3, "locator", "", "locator",
                               ["locator is empty", "holds numbers"]),
    "missing value not explained": ("outcomes", 6, "note", "", "note",
                                    ["note is empty", "mean, events"]),
    "unknown row_id": ("claim_evidence", 2, "row_id", "O999", "row_id",
                       ["unknown row 'O999'", "data/outcomes.csv"]),
    "unknown table": ("claim_evidence", 3, "table", "trials", "table",
                      ["unknown table 'trials'"]),
}


@pytest.mark.parametrize("case", list(CELL_BREAKAGES), ids=list(CELL_BREAKAGES))
def test_each_cell_rule_fires(pkg: Path, case: str) -> None:
    table, row, column, value, expected_column, fragments = CELL_BREAKAGES[case]
    set_cell(pkg, table, row, column, value)
    assert_problem(only_problem(pkg), f"data/{table}.csv", row, expected_column, *fragments)


@breaker("ragged row")
def drop_a_field(root: Path) -> None:
    rows = read_rows(root, "outcomes")
    rows[2] = rows[2][:-1]  # O002 loses its last field
    write_rows(root, "outcomes", rows)


def test_ragged_row(pkg: Path) -> None:
    drop_a_field(pkg)
    assert_problem(only_problem(pkg), "data/outcomes.csv", 3, None,
                   "found 14 fields, expected 15")


@breaker("blank line")
def insert_blank_line(root: Path) -> None:
    replace_text(csv_path(root, "outcomes"), "table 2,\nO002", "table 2,\n\nO002")


def test_blank_line_inside_table(pkg: Path) -> None:
    insert_blank_line(pkg)
    assert_problem(only_problem(pkg), "data/outcomes.csv", 3, None, "empty line")


@breaker("unescaped quote in a quoted field")
def unescape_quotes(root: Path) -> None:
    replace_text(csv_path(root, "studies"), '""not""', '"not"')


def test_unescaped_quote_inside_quoted_field(pkg: Path) -> None:
    unescape_quotes(pkg)
    assert_problem(only_problem(pkg), "data/studies.csv", 3, None, "bad quoting")


@breaker("stray quote")
def add_stray_quote(root: Path) -> None:
    replace_text(csv_path(root, "studies"), "knee osteoarthritis", 'knee osteo"arthritis')


def test_stray_quote_in_unquoted_field(pkg: Path) -> None:
    add_stray_quote(pkg)
    assert_problem(only_problem(pkg), "data/studies.csv", 2, None, "bad quoting")


@breaker("unterminated quote")
def open_a_quote(root: Path) -> None:
    replace_text(csv_path(root, "outcomes"), ",mean not reported", ',"mean not reported')


def test_unterminated_quote(pkg: Path) -> None:
    open_a_quote(pkg)
    assert_problem(only_problem(pkg), "data/outcomes.csv", 6, None, "unterminated quote")


@breaker("latin-1 bytes")
def save_as_latin1(root: Path) -> None:
    path = csv_path(root, "studies")
    text = path.read_text(encoding="utf-8").replace("lateral elbow", "épicondyle")
    path.write_bytes(text.encode("latin-1"))


def test_latin1_bytes(pkg: Path) -> None:
    save_as_latin1(pkg)
    offset = csv_path(pkg, "studies").read_bytes().index("é".encode("latin-1"))
    assert_problem(only_problem(pkg), "data/studies.csv", 4, "condition", "not valid UTF-8",
                   "0xE9", f"byte offset {offset}")


def test_byte_order_mark_is_tolerated(pkg: Path) -> None:
    path = csv_path(pkg, "studies")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert validate(pkg) == []


def test_row_numbers_count_records_not_lines(pkg: Path) -> None:
    """A quoted cell spanning two lines is one spreadsheet row."""
    set_cell(pkg, "studies", 3, "note", "first line\nsecond line")
    set_cell(pkg, "studies", 4, "design", "cohort")
    assert_problem(only_problem(pkg), "data/studies.csv", 4, "design", "must be one of")


@breaker("missing column")
def drop_a_column(root: Path) -> None:
    rows = read_rows(root, "studies")
    drop = rows[0].index("evidence_level")
    write_rows(root, "studies", [r[:drop] + r[drop + 1:] for r in rows])


def test_missing_column(pkg: Path) -> None:
    drop_a_column(pkg)
    assert_problem(only_problem(pkg), "data/studies.csv", 1, "evidence_level", "missing column")


@breaker("extra column")
def add_a_column(root: Path) -> None:
    rows = read_rows(root, "claim_evidence")
    write_rows(root, "claim_evidence", [rows[0] + ["comment"]] + [r + [""] for r in rows[1:]])


def test_extra_column(pkg: Path) -> None:
    add_a_column(pkg)
    assert_problem(only_problem(pkg), "data/claim_evidence.csv", 1, "comment",
                   "not in the schema")


@breaker("duplicate column")
def repeat_a_column(root: Path) -> None:
    rows = read_rows(root, "claim_evidence")
    write_rows(root, "claim_evidence", [rows[0] + ["note"]] + [r + [""] for r in rows[1:]])


def test_duplicate_header_column(pkg: Path) -> None:
    repeat_a_column(pkg)
    assert_problem(only_problem(pkg), "data/claim_evidence.csv", 1, "note", "duplicate column")


def test_columns_may_come_in_any_order(pkg: Path) -> None:
    rows = read_rows(pkg, "claim_evidence")
    write_rows(pkg, "claim_evidence", [list(reversed(r)) for r in rows])
    assert validate(pkg) == []


@breaker("empty file")
def empty_a_table(root: Path) -> None:
    csv_path(root, "outcomes").write_text("", encoding="utf-8")


def test_empty_file(pkg: Path) -> None:
    empty_a_table(pkg)
    assert_problem(only_problem(pkg), "data/outcomes.csv", None, None, "empty file")


@breaker("missing file")
def remove_a_table(root: Path) -> None:
    csv_path(root, "claim_evidence").unlink()


def test_missing_file(pkg: Path) -> None:
    remove_a_table(pkg)
    assert_problem(only_problem(pkg), "data/claim_evidence.csv", None, None, "missing file")


@breaker("missing schema file")
def remove_a_schema(root: Path) -> None:
    (root / "data" / "schema" / "claim_evidence.schema.json").unlink()


def test_missing_schema_file(pkg: Path) -> None:
    remove_a_schema(pkg)
    assert_problem(only_problem(pkg), "data/schema/claim_evidence.schema.json", None, None,
                   "missing file")


# --------------------------------------------------------------------------- schema files


def edit_schema(root: Path, table: str, change: Callable[[dict], None]) -> None:
    path = root / "data" / "schema" / f"{table}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema), encoding="utf-8")


def field_of(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


@breaker("schema not JSON")
def break_schema_json(root: Path) -> None:
    path = root / "data" / "schema" / "studies.schema.json"
    path.write_text('{"fields": [\n  {"name": "id",}\n]}', encoding="utf-8")


def test_schema_not_json(pkg: Path) -> None:
    break_schema_json(pkg)
    problems = validate(pkg)
    assert problems[0].file == "data/schema/studies.schema.json"
    assert problems[0].row == 2 and "not valid JSON" in problems[0].message


SCHEMA_BREAKAGES = {
    "unknown type": (lambda s: field_of(s, "n").update(type="int"), "n", "unknown type 'int'"),
    "unknown constraint": (lambda s: field_of(s, "sd").update(constraints={"positive": True}),
                           "sd", "unknown constraint 'positive'"),
    "bound of wrong type": (lambda s: field_of(s, "n").update(constraints={"minimum": "one"}),
                            "n", "is not an integer"),
    "bad regex": (lambda s: field_of(s, "id").update(constraints={"pattern": "O[0-9"}),
                  "id", "not a valid regular expression"),
    "unknown rule": (lambda s: s["x-rules"].append({"check": "greater", "fields": ["n"]}),
                     None, "unknown x-rules check 'greater'"),
    "rule on unknown field": (lambda s: s["x-rules"].append(
        {"check": "less_equal", "fields": ["q1", "q3"]}), None, "must be defined"),
    "foreign key to unknown table": (lambda s: s["foreignKeys"].append(
        {"fields": "study_id", "reference": {"resource": "trials", "fields": "id"}}),
        "study_id", "unknown resource 'trials'"),
    # the structure, checked by jsonschema against src/mscfm/data/tableschema.profile.json
    "unknown schema property": (lambda s: s.update(primarykey="id"), None,
                                "unknown schema property 'primarykey'"),
    "no primary key": (lambda s: s.pop("primaryKey"), None, "primaryKey is missing"),
    "field without a name": (lambda s: s["fields"].append({"type": "string"}), None,
                             "each field needs a name"),
    "unknown field property": (lambda s: field_of(s, "n").update(units="arms"), "n",
                               "unknown field property 'units'"),
    "required not a boolean": (lambda s: field_of(s, "n").update(
        constraints={"required": "yes"}), "n", "required must be true or false"),
    "other missing values": (lambda s: s.update(missingValues=["NA"]), None,
                             'missingValues must be [""]'),
    "required_if without if_empty": (lambda s: s["x-rules"].append(
        {"check": "required_if", "field": "note"}), None, "needs a field and a non-empty"),
    "bound on a string field": (lambda s: field_of(s, "outcome").update(
        constraints={"minimum": 1}), "outcome", "minimum applies to"),
}


@pytest.mark.parametrize("case", list(SCHEMA_BREAKAGES), ids=list(SCHEMA_BREAKAGES))
def test_schema_file_is_checked(pkg: Path, case: str) -> None:
    change, column, fragment = SCHEMA_BREAKAGES[case]
    edit_schema(pkg, "outcomes", change)
    problems = validate(pkg)
    assert problems, "a broken schema must be reported"
    assert_problem(problems[0], "data/schema/outcomes.schema.json", None, column, fragment)
    assert all(p.file != "data/outcomes.csv" for p in problems), "table not checked blindly"


@breaker("descriptor not JSON")
def truncate_the_descriptor(root: Path) -> None:
    (root / "data" / "datapackage.json").write_text("{", encoding="utf-8")


def test_descriptor_not_json(pkg: Path) -> None:
    truncate_the_descriptor(pkg)
    assert_problem(only_problem(pkg), "data/datapackage.json", 1, None, "not valid JSON")


# --------------------------------------------------------------------------- references.bib


def bib_line(root: Path, key: str) -> int:
    lines = (root / "references.bib").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if "{" + key + "," in line)


@breaker("bib: no sourcetype")
def drop_a_sourcetype(root: Path) -> None:
    replace_text(root / "references.bib", "  sourcetype = {nonrandomized trial},\n", "")


def test_bib_entry_without_sourcetype(pkg: Path) -> None:
    drop_a_sourcetype(pkg)
    assert_problem(only_problem(pkg), "references.bib", bib_line(pkg, "doe2019back"),
                   "doe2019back", "no sourcetype field")


@breaker("bib: unknown sourcetype")
def misspell_a_sourcetype(root: Path) -> None:
    replace_text(root / "references.bib", "sourcetype = {RCT}", "sourcetype = {trial}")


def test_bib_unknown_sourcetype(pkg: Path) -> None:
    misspell_a_sourcetype(pkg)
    assert_problem(only_problem(pkg), "references.bib", bib_line(pkg, "smith2015knee"),
                   "smith2015knee", "sourcetype must be one of", "'trial'")


@breaker("bib: no identifier")
def drop_an_identifier(root: Path) -> None:
    replace_text(root / "references.bib", "  url = {https://example.org/doe2019}\n", "")


def test_bib_entry_without_identifier(pkg: Path) -> None:
    drop_an_identifier(pkg)
    assert_problem(only_problem(pkg), "references.bib", bib_line(pkg, "doe2019back"),
                   "doe2019back", "none of doi, pmid, nct, url")


@breaker("bib: no year")
def drop_a_year(root: Path) -> None:
    replace_text(root / "references.bib", "  year = 2019,\n", "")


def test_bib_entry_without_year(pkg: Path) -> None:
    drop_a_year(pkg)
    assert_problem(only_problem(pkg), "references.bib", bib_line(pkg, "doe2019back"),
                   "doe2019back", "no year")


@breaker("bib: duplicate key")
def repeat_a_key(root: Path) -> None:
    with (root / "references.bib").open("a", encoding="utf-8") as handle:
        handle.write("\n@misc{doe2019back, year={2020}, sourcetype={press}, url={https://x.org}}\n")


def test_bib_duplicate_key(pkg: Path) -> None:
    repeat_a_key(pkg)
    problems = validate(pkg)
    assert len(problems) == 1, problems
    assert problems[0].file == "references.bib" and "duplicate key 'doe2019back'" in str(
        problems[0])


@breaker("bib: syntax error")
def break_bib_syntax(root: Path) -> None:
    replace_text(root / "references.bib", "  year      = {2015},\n", "  year      {2015},\n")


def test_bib_syntax_error_names_the_line_and_later_entries_still_count(pkg: Path) -> None:
    break_bib_syntax(pkg)
    problems = validate(pkg)
    line = bib_line(pkg, "smith2015knee") + 3
    assert [(p.file, p.row) for p in problems] == [("references.bib", line)], problems
    assert "syntax error" in problems[0].message
    # entries after the broken one are still read: doe2019back is used by studies.csv row 3


def all_breakages() -> dict[str, Callable[[Path], None]]:
    """Every broken fixture of these tests: name -> function that breaks a copy in place."""
    cases: dict[str, Callable[[Path], None]] = {}
    for name, (table, row, column, value, *_) in CELL_BREAKAGES.items():
        cases[f"cell: {name}"] = functools.partial(_set_cell_at, table, row, column, value)
    for name, (change, *_) in SCHEMA_BREAKAGES.items():
        cases[f"schema: {name}"] = functools.partial(edit_schema, table="outcomes",
                                                     change=change)
    return {**cases, **BREAKERS}


def _set_cell_at(table: str, row: int, column: str, value: str, root: Path) -> None:
    set_cell(root, table, row, column, value)


def test_bib_field_given_twice(pkg: Path) -> None:
    replace_text(pkg / "references.bib", "  year = 2019,\n", "  year = 2019,\n  year = 2020,\n")
    assert_problem(only_problem(pkg), "references.bib", bib_line(pkg, "doe2019back"),
                   "doe2019back", "duplicate year field")


def test_register_is_read_as_the_book_reads_it() -> None:
    """pybtex (the book's bibliography parser) and validation see the same entries."""
    from pybtex.database import parse_file

    book = parse_file(str(PROJECT_ROOT / "references.bib"))
    ours, problems = read_bib(PROJECT_ROOT / "references.bib", "references.bib")
    assert problems == []
    assert list(ours) == list(book.entries)
    for key, entry in book.entries.items():
        assert ours[key].fields == {k.lower(): v for k, v in entry.fields.items()}


NEW_ENTRY = "\n@misc{roe2021new, title={A new source}, year={2021}, sourcetype={press},\n" \
            "  url={https://example.org/new}}\n"


def test_references_csv_out_of_date_is_reported_and_regenerated(
        pkg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (pkg / "references.bib").open("a", encoding="utf-8") as handle:
        handle.write(NEW_ENTRY)
    assert_problem(only_problem(pkg), "data/references.csv", None, None, "out of date",
                   "entries not in it: roe2021new", "run `mscfm references`")
    assert main(["references", "--root", str(pkg)]) == 0
    assert "4 entries (written)" in capsys.readouterr().out
    assert validate(pkg) == []
    assert "roe2021new,misc,press,2021,A new source" in csv_path(pkg, "references").read_text()


def test_a_source_key_must_be_in_references_csv(pkg: Path) -> None:
    """The foreign key target is the references resource, as Frictionless sees it."""
    rows = read_rows(pkg, "references")
    write_rows(pkg, "references", [r for r in rows if r[0] != "doe2019back"])
    problems = validate(pkg)
    assert ("data/studies.csv", 3, "source") in [(p.file, p.row, p.column) for p in problems]
    assert any(p.file == "data/references.csv" and "out of date" in p.message
               for p in problems)


def test_references_command_refuses_a_broken_register(
        pkg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = csv_path(pkg, "references").read_bytes()
    drop_a_year(pkg)
    assert main(["references", "--root", str(pkg)]) == 2
    assert "references.bib has problems; fix them first" in capsys.readouterr().err
    assert csv_path(pkg, "references").read_bytes() == before


def test_read_bib_keys(pkg: Path) -> None:
    keys, problems = data.read_bib_keys(pkg / "references.bib")
    assert keys == {"smith2015knee", "doe2019back", "ctgov2016snapshot"}
    assert problems == []


# --------------------------------------------------------------------------- all at once, CLI


def test_every_problem_is_reported_in_one_pass(pkg: Path) -> None:
    set_cell(pkg, "outcomes", 5, "sd", "-1")
    set_cell(pkg, "studies", 2, "design", "randomized")
    problems = validate(pkg)
    assert sorted((p.file, p.row, p.column) for p in problems) == [
        ("data/outcomes.csv", 5, "sd"), ("data/studies.csv", 2, "design")]


def test_cli_exits_2_and_prints_file_row_column(pkg: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    set_cell(pkg, "outcomes", 5, "sd", "-1.2")
    set_cell(pkg, "outcomes", 4, "events", "16")
    assert main(["validate", "--root", str(pkg)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert "data/outcomes.csv:5:sd: must be > 0, found -1.2" in out
    assert any(line.startswith("data/outcomes.csv:4:events: ") for line in out)
    assert out[-1] == "2 problems in 1 file"
    assert not any("Traceback" in line for line in out)


def test_cli_exits_0_on_valid_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--root", str(FIXTURE)]) == 0
    assert capsys.readouterr().out.strip() == "data valid: 4 tables, 14 rows"


# --------------------------------------------------------------------------- load()


def test_load_types_and_order(pkg: Path) -> None:
    rows = read_rows(pkg, "outcomes")
    write_rows(pkg, "outcomes", [rows[0], *reversed(rows[1:])])  # stored out of order
    outcomes = data.load("outcomes", pkg)
    assert list(outcomes["id"]) == ["O001", "O002", "O003", "O004", "O005"]
    assert str(outcomes["n"].dtype) == "Int64" and outcomes["n"].isna().sum() == 1
    assert outcomes["sd"].dtype == "float64" and outcomes.loc[0, "sd"] == 23.7
    assert outcomes.loc[2, "events"] == 4 and pd.isna(outcomes.loc[0, "events"])
    assert pd.isna(outcomes.loc[0, "note"])
    studies = data.load("studies", pkg)
    assert str(studies["blinded"].dtype) == "boolean" and studies.loc[0, "blinded"]
    assert pd.api.types.is_datetime64_any_dtype(studies["start_date"])
    assert studies.loc[2, "start_date"] == pd.Timestamp("2014-11-30")
    assert studies.loc[1, "note"] == 'design read in a review, "not" in the paper'


def test_load_raises_on_invalid_table(pkg: Path) -> None:
    set_cell(pkg, "outcomes", 5, "sd", "-1.2")
    with pytest.raises(DataError, match=r"data/outcomes.csv:5:sd: must be > 0"):
        data.load("outcomes", pkg)
    # studies has no problem of its own and does not depend on outcomes
    assert len(data.load("studies", pkg)) == 3


def test_load_raises_when_a_foreign_key_target_is_invalid(pkg: Path) -> None:
    set_cell(pkg, "studies", 2, "design", "randomized")
    with pytest.raises(DataError, match=r"data/studies.csv:2:design"):
        data.load("outcomes", pkg)


def test_load_sees_edits_despite_the_cache(pkg: Path) -> None:
    assert len(data.load("outcomes", pkg)) == 5
    set_cell(pkg, "outcomes", 5, "n", "x")
    with pytest.raises(DataError):
        data.load("outcomes", pkg)


def test_load_unknown_table(pkg: Path) -> None:
    with pytest.raises(DataError, match="unknown table 'trials'"):
        data.load("trials", pkg)


def test_load_references(pkg: Path) -> None:
    refs = data.load_references(pkg)
    assert list(refs["key"]) == ["ctgov2016snapshot", "doe2019back", "smith2015knee"]
    smith = refs.set_index("key").loc["smith2015knee"]
    assert smith["sourcetype"] == "RCT" and smith["year"] == 2015
    assert smith["title"] == "A made-up RCT used only by the validator tests"


def test_declared_inputs_guard(pkg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSCFM_DECLARED_INPUTS", json.dumps(["data/outcomes.csv"]))
    assert len(data.load("outcomes", pkg)) == 5
    with pytest.raises(DataError, match="notebook reads data/studies.csv but does not declare it "
                                        "in its metadata mscfm.inputs"):
        data.load("studies", pkg)
    monkeypatch.setenv("MSCFM_DECLARED_INPUTS", "data/outcomes.csv")
    with pytest.raises(DataError, match="JSON list"):
        data.load("outcomes", pkg)


def test_table_names_path_and_schema() -> None:
    assert data.table_names(FIXTURE) == ["studies", "outcomes", "claim_evidence", "references"]
    assert data.table_path("outcomes", FIXTURE) == FIXTURE / "data" / "outcomes.csv"
    assert [f["name"] for f in data.schema("claim_evidence", FIXTURE)][:2] == ["id", "claim_id"]


# --------------------------------------------------------------------------- the shipped data


def test_descriptor_lists_every_table() -> None:
    assert data.table_names(PROJECT_ROOT) == list(EXPECTED_TABLES)
    descriptor = json.loads((PROJECT_ROOT / "data" / "datapackage.json").read_text())
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    for resource in descriptor["resources"]:
        assert resource["schema"] == f"schema/{resource['name']}.schema.json"
        assert resource["description"] and resource["encoding"] == "utf-8"


def test_shipped_data_is_valid() -> None:
    problems = validate(PROJECT_ROOT)
    assert problems == [], "\n".join(map(str, problems))


def test_validation_is_fast() -> None:
    start = time.process_time()
    run_validation(PROJECT_ROOT)  # uncached on purpose
    assert time.process_time() - start < 2.0


def test_utf8_check_reads_in_chunks_and_keeps_exact_offsets(pkg: Path) -> None:
    """A character split across the reader's 1 MiB chunks is fine; a bad byte after it is
    reported with its offset and line counted over the whole file."""
    path = csv_path(pkg, "studies")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    filler = f'{"x" * 80}\n' * (((1 << 20) - 4096) // 81)
    note = "é" * 40  # the boundary falls inside one of these two-byte characters
    head = "".join(lines[:2]).encode("utf-8")
    pad = (1 << 20) - len(head) - len(filler.encode()) - 1
    assert pad > 0
    body = head + filler.encode() + b"%" * pad + note.encode() + b"\xff\n"
    path.write_bytes(body)
    problems = [p for p in validate(pkg) if "UTF-8" in p.message]
    offset = body.index(b"\xff")
    line = body.count(b"\n", 0, offset) + 1
    assert len(problems) == 1 and f"byte offset {offset} (line {line})" in problems[0].message
