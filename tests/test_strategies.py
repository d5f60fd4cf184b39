"""The search strategies and the recorded searches as data: every row says what was searched,
where and when, or that it is not yet run (issue: searches a reader can re-run)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATABASES = {"PubMed/MEDLINE", "Europe PMC (incl. preprints)", "ClinicalTrials.gov", "WHO ICTRP"}


def _rows(name: str) -> list[dict[str, str]]:
    with (ROOT / "data" / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def run_state_problems(rows: list[dict[str, str]]) -> list[str]:
    """A run strategy has a day and a count; one not yet run has neither (and says why)."""
    problems = []
    for row in rows:
        where = f"strategies.csv {row['id']}"
        if row["status"] == "run" and not (row["date_run"] and row["n_records"]):
            problems.append(f"{where}: run, but date_run or n_records is empty")
        if row["status"] == "not yet run" and (row["date_run"] or row["n_records"]):
            problems.append(f"{where}: not yet run, but has a date or a count")
        if row["status"] == "not yet run" and "not yet run" not in row["note"]:
            problems.append(f"{where}: the note does not say it is not yet run")
        for column in ("query", "fields", "limits", "language", "interface", "run_with"):
            if not row[column].strip():
                problems.append(f"{where}: {column} is empty")
    return problems


def test_every_strategy_is_complete_and_its_run_state_consistent() -> None:
    rows = _rows("strategies.csv")
    assert not run_state_problems(rows)
    covered = {(r["database"], r["question"]) for r in rows}
    for database in DATABASES:  # each source has a strategy for both questions
        assert {(database, "fibromyalgia"), (database, "nearest evidence")} <= covered


@pytest.mark.parametrize("change, expected", [
    ({"status": "run"}, "run, but date_run or n_records is empty"),
    ({"n_records": "12"}, "not yet run, but has a date or a count"),
    ({"note": "written out"}, "does not say it is not yet run"),
    ({"limits": " "}, "limits is empty"),
])
def test_run_state_check_catches_broken_rows(change: dict[str, str], expected: str) -> None:
    row = dict(_rows("strategies.csv")[0], **change)
    assert any(expected in p for p in run_state_problems([row]))


def test_no_live_search_claims_a_count_it_could_not_have() -> None:
    """Nothing on this machine reached PubMed, Europe PMC, the registry API or ICTRP."""
    live = [r for r in _rows("strategies.csv") if r["date_run"] >= "2026-01-01"]
    assert live == []


def test_every_recorded_search_is_dated_or_says_why_not() -> None:
    rows = _rows("searches.csv")
    undated = [r for r in rows if not r["date"]]
    assert len(undated) == 13
    for row in undated:
        assert row["not_after"] and "day not recorded" in row["note"], row["id"]
    assert all(not r["not_after"] for r in rows if r["date"])
    assert not any("search tool" in r["database"] or "corpus" in r["database"] for r in rows)
