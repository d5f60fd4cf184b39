"""The data package checked by the field's own tool: Frictionless (frictionless-py, pinned in the
lock) validates data/datapackage.json and the extracted bundle without an error, and agrees with
`mscfm validate` on every broken fixture of the validator tests.

Agreement is two-sided. A fixture broken in a way the standard defines (types, constraints,
keys, labels, encoding, the descriptor and schema files) must fail both validators, at the same
table and row. A fixture broken only against the project's own rules (x-rules, row references,
strict RFC 4180 quoting, our Table Schema subset, references.bib) must fail ours and pass
Frictionless: the list below says which, and why, so our validator is never the laxer one.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from frictionless import validate as frictionless_validate
from test_data_validate import FIXTURE, all_breakages

from mscfm import bundle
from mscfm.data import Problem, validate

ROOT = Path(__file__).resolve().parents[1]
V2_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
FRICTIONLESS = Path(sys.executable).with_name("frictionless")
PACKAGE = "package"  # where Frictionless reports problems of the descriptor and schema files

# Broken only against the project's rules: mscfm validate fails, Frictionless passes.
OURS_ONLY = {
    "cell: events > n": "x-rules less_equal is our extension",
    "cell: CI lower > upper": "x-rules less_equal is our extension",
    "cell: number without locator": "x-rules provenance is our extension",
    "cell: missing value not explained": "x-rules required_if is our extension",
    "cell: unknown row_id": "claim_evidence row references are our check",
    "cell: unknown table": "claim_evidence row references are our check",
    "schema: unknown rule": "x-rules is our extension (x- properties are free in the standard)",
    "schema: rule on unknown field": "x-rules is our extension",
    "schema: required_if without if_empty": "x-rules is our extension",
    "schema: unknown schema property": "the standard allows extra properties; our subset not",
    "schema: unknown field property": "the standard allows extra properties; our subset not",
    "schema: no primary key": "optional in the standard; every curated table has one",
    "unescaped quote in a quoted field": "Frictionless reads CSV leniently; we hold RFC 4180",
    "stray quote": "Frictionless reads CSV leniently; we hold RFC 4180",
    "unterminated quote": "Frictionless reads CSV leniently; we hold RFC 4180",
    **{f"bib: {case}": "Frictionless reads data/references.csv, not the BibTeX register; "
                       "`mscfm references` refuses to regenerate it from a broken register"
       for case in ("no sourcetype", "unknown sourcetype", "no identifier", "no year",
                    "duplicate key", "syntax error")},
}


@dataclass(frozen=True)
class Found:
    """One Frictionless error: the resource (or PACKAGE), its row if any, its type."""

    resource: str
    row: int | None
    type: str


def frictionless_errors(root: Path) -> list[Found]:
    """Frictionless's errors on the package under ``root``; a crash on a broken file (it has
    some, e.g. on a bound that is not a number) counts as an error of the package."""
    try:
        report = frictionless_validate(str(root / "data" / "datapackage.json"))
    except Exception as exc:  # noqa: BLE001 - a rejection all the same
        return [Found(PACKAGE, None, f"crash: {type(exc).__name__}")]
    found = [Found(PACKAGE, None, error.type) for error in report.errors]
    for task in report.tasks:
        found += [Found(task.name, getattr(error, "row_number", None), error.type)
                  for error in task.errors]
    return found


def resource_of(problem: Problem) -> str:
    """The resource a problem of ours is about: data/x.csv and data/schema/x.schema.json -> x."""
    name = Path(problem.file).name
    return name.split(".")[0] if problem.file.startswith("data/") else problem.file


def same_place(ours: Problem, theirs: Found) -> bool:
    if theirs.resource not in (resource_of(ours), PACKAGE):
        return False
    data_row = ours.file.endswith(".csv") and ours.row is not None and ours.row > 1
    return not data_row or theirs.row in (ours.row, None)  # None: the whole table


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list, list]]:
    """For each broken fixture: (our problems, Frictionless's errors)."""
    results = {}
    for name, breakage in all_breakages().items():
        root = tmp_path_factory.mktemp("broken") / "pkg"
        shutil.copytree(FIXTURE, root)
        breakage(root)
        results[name] = (validate(root), frictionless_errors(root))
    return results


def test_every_listed_case_exists() -> None:
    assert set(OURS_ONLY) <= set(all_breakages())


@pytest.mark.parametrize("name", sorted(all_breakages()))
def test_frictionless_agrees_on_each_broken_fixture(outcomes, name: str) -> None:
    ours, theirs = outcomes[name]
    assert ours, f"{name}: mscfm validate found nothing"
    if name in OURS_ONLY:
        assert theirs == [], f"{name}: Frictionless now reports {theirs}; move it out of OURS_ONLY"
    else:
        assert any(same_place(ours[0], t) for t in theirs), (
            f"{name}: ours {ours[0]}, Frictionless {theirs}")


def test_the_good_fixture_is_valid_for_both() -> None:
    assert validate(FIXTURE) == [] and frictionless_errors(FIXTURE) == []


def run_frictionless_cli(descriptor: Path) -> dict:
    done = subprocess.run([str(FRICTIONLESS), "validate", "--json", str(descriptor)],
                          capture_output=True, text=True, timeout=600)
    return json.loads(done.stdout)


def test_shipped_package_is_valid_frictionless_v2() -> None:
    descriptor = ROOT / "data" / "datapackage.json"
    assert json.loads(descriptor.read_text(encoding="utf-8"))["$schema"] == V2_PROFILE
    report = run_frictionless_cli(descriptor)
    errors = [e for task in report["tasks"] for e in task["errors"]] + report["errors"]
    assert report["valid"] and errors == [], json.dumps(errors[:10], indent=1)
    assert {task["name"] for task in report["tasks"]} >= {"references", "outcomes", "registry"}


def test_extracted_bundle_is_valid_frictionless_v2(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(bundle.build_bundle(ROOT))) as archive:
        archive.extractall(tmp_path)
    descriptor = tmp_path / bundle.TOP_FOLDER / "data" / "datapackage.json"
    assert (descriptor.parent / "references.csv").is_file()
    report = run_frictionless_cli(descriptor)
    assert report["valid"], json.dumps(report["tasks"][:3], indent=1)[:3000]
