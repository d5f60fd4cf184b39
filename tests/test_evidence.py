"""Tests for mscfm.evidence: key numbers checked against counts made here with the csv module."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pandas as pd
import pytest

from mscfm import data, evidence
from mscfm.paths import project_root

DATA = project_root() / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return data.load("registry")


@pytest.fixture(scope="module")
def pooled() -> pd.DataFrame:
    return data.load("pooled")


# ----------------------------------------------------------------------------- registry


def test_status_counts_match_a_plain_csv_count(registry):
    expected = Counter(row["status"] for row in _rows("registry"))
    counts = evidence.registry_counts(registry, "status")
    assert dict(zip(counts["status"], counts["n_trials"], strict=True)) == dict(expected)
    assert counts["n_trials"].is_monotonic_decreasing


def test_filter_by_status_and_years_matches_plain_count(registry):
    expected = sum(1 for row in _rows("registry")
                   if row["status"] == "Completed" and row["start_year"]
                   and 2010 <= int(row["start_year"]) <= 2015)
    subset = evidence.filter_registry(registry, statuses=["Completed"], start_year_min=2010,
                                      start_year_max=2015)
    assert len(subset) == expected > 0


def test_undated_trials_are_kept_only_without_year_bounds(registry):
    undated = sum(1 for row in _rows("registry") if not row["start_year"])
    assert undated > 0
    assert len(evidence.filter_registry(registry)) == len(_rows("registry"))
    lowest = min(int(r["start_year"]) for r in _rows("registry") if r["start_year"])
    assert len(evidence.filter_registry(registry, start_year_min=lowest)) == \
        len(_rows("registry")) - undated


def test_country_counts_count_each_site_country(registry):
    expected = sum(1 for row in _rows("registry") if "China" in row["countries"].split(";"))
    counts = evidence.registry_counts(registry, "countries")
    assert int(counts.loc[counts["countries"] == "China", "n_trials"].iloc[0]) == expected


def test_condition_group_filter(registry):
    expected = Counter(row["phase"] or "not given" for row in _rows("registry")
                       if row["condition_group"] == "spine/disc")
    counts = evidence.registry_counts(registry, "phase", condition_groups=["spine/disc"])
    assert dict(zip(counts["phase"], counts["n_trials"], strict=True)) == dict(expected)
    order = [evidence.PHASE_ORDER.index(p) for p in counts["phase"]]
    assert order == sorted(order)


@pytest.mark.parametrize("kwargs, word", [
    ({"statuses": ["Done"]}, "Completed"),
    ({"condition_groups": ["fibro"]}, "spine/disc"),
    ({"start_year_min": 2020, "start_year_max": 2010}, "start_year_max"),
])
def test_invalid_filters_name_the_valid_values(registry, kwargs, word):
    with pytest.raises(ValueError, match=word):
        evidence.filter_registry(registry, **kwargs)


def test_unknown_count_column(registry):
    with pytest.raises(ValueError, match="condition_group"):
        evidence.registry_counts(registry, "sponsor")


def test_statuses_match_the_schema_enum():
    schema = json.loads((DATA / "schema" / "registry.schema.json").read_text(encoding="utf-8"))
    status = next(f for f in schema["fields"] if f["name"] == "status")
    group = next(f for f in schema["fields"] if f["name"] == "condition_group")
    assert list(evidence.REGISTRY_STATUSES) == status["constraints"]["enum"]
    assert sorted(evidence.CONDITION_GROUPS) == sorted(group["constraints"]["enum"])


def test_fm_exclusions_and_conditions(registry):
    raw = _rows("registry")
    mentioned = sorted(r["nct_id"] for r in raw if r["fm_mention"] not in ("none", "condition"))
    table = evidence.fm_exclusions(registry)
    assert list(table["nct_id"]) == mentioned
    assert len(evidence.fm_condition_trials(registry)) == \
        sum(r["fm_mention"] == "condition" for r in raw)


def test_chronic_pain_subset(registry):
    expected = sum(r["chronic_pain"] == "true" for r in _rows("registry"))
    assert len(evidence.chronic_pain_subset(registry)) == expected > 0


def test_cross_counts_sum_to_total(registry):
    table = evidence.cross_counts(registry, "cell_source", "donor")
    assert int(table.to_numpy().sum()) == len(_rows("registry"))
    expected = sum(1 for r in _rows("registry")
                   if r["cell_source"] == "adipose" and r["donor"] == "autologous")
    assert int(table.loc["adipose", "autologous"]) == expected


def test_top_with_rest_keeps_the_total():
    counts = pd.DataFrame({"x": list("abcde"), "n_trials": [5, 4, 3, 2, 1]})
    top = evidence.top_with_rest(counts, 2)
    assert list(top["x"]) == ["a", "b", "all others"]
    assert list(top["n_trials"]) == [5, 4, 6]
    with pytest.raises(ValueError):
        evidence.top_with_rest(counts, 0)


def test_snapshot_month_from_descriptor():
    assert evidence.read_snapshot_month() == "2022-10"
    with pytest.raises(ValueError, match="raw snapshot"):
        evidence.snapshot_month({"resources": [{"name": "registry", "sources": []}]})


# ----------------------------------------------------------------------------- pooled


def test_prevalence_rows_and_heidari_men_flag(pooled):
    rows = evidence.prevalence_rows(pooled)
    raw = [r for r in _rows("pooled") if r["topic"] == "prevalence"]
    assert len(rows) == len(raw)
    men = rows[rows["id"] == "heidari2017_men"].iloc[0]
    assert men["sex"] == "men" and men["estimate"] == pytest.approx(0.01)
    assert bool(men["implausible"])
    assert rows["implausible"].sum() == sum(float(r["ci_lb"] or 0) < 0 for r in raw)
    women = rows[rows["id"] == "heidari2017_women"].iloc[0]
    assert women["sex"] == "women" and women["estimate"] == pytest.approx(3.98)


def test_prevalence_population_filter(pooled):
    rows = evidence.prevalence_rows(pooled, ["women", "men"])
    assert set(rows["population"]) == {"women", "men"}
    with pytest.raises(ValueError, match="general population"):
        evidence.prevalence_rows(pooled, ["martians"])


def test_marques_rows_are_ranges(pooled):
    rows = evidence.prevalence_rows(pooled)
    ranges = rows[rows["kind"] == "range across studies"]
    assert set(ranges["study"]) == {"Marques 2017"}
    assert ranges["estimate"].isna().all()


def test_cytokine_rows_flag_uceyler_sign(pooled):
    rows = evidence.cytokine_rows(pooled)
    assert len(rows) == sum(r["topic"] == "cytokine" for r in _rows("pooled"))
    uceyler = rows[rows["source"] == "uceyler2011systematic"].iloc[0]
    assert uceyler["marker"] == "IL-6" and bool(uceyler["sign_uncertain"])
    assert uceyler["estimate"] == pytest.approx(-0.34)  # kept as printed, never flipped
    il10 = rows[rows["marker"] == "IL-10"].iloc[0]
    assert il10["estimate"] == pytest.approx(0.61) and il10["reading"] == "higher in FM"
    assert "IL-10" in evidence.cytokine_markers(pooled)


def test_cytokine_marker_filter(pooled):
    rows = evidence.cytokine_rows(pooled, ["IL-6"])
    assert set(rows["marker"]) == {"IL-6"} and len(rows) == 3
    with pytest.raises(ValueError, match="TNF-alpha"):
        evidence.cytokine_rows(pooled, ["IL-99"])


def test_reading_of_intervals():
    assert evidence._reading(0.1, 0.5, False) == "higher in FM"
    assert evidence._reading(-0.5, -0.1, False) == "lower in FM"
    assert evidence._reading(-0.1, 0.5, False) == "interval includes 0"


def test_source_label():
    assert evidence.source_label("heidari2017prevalence") == "Heidari 2017"
    assert evidence.source_label("omahony2021fibromyalgia") == "O'Mahony 2021"
    assert evidence.source_label("weird") == "weird"


# ----------------------------------------------------------------------------- instruments


def test_fiqr_range_and_fiq_mcid():
    instruments = data.load("instruments")
    raw = {(r["instrument"], r["quantity"]): r["value"] for r in _rows("instruments")
           if r["quantity"] in ("range_max", "mcid_points")}
    assert evidence.instrument_value(instruments, "FIQR", "range_max") == \
        float(raw[("FIQR", "range_max")])
    assert evidence.instrument_value(instruments, "FIQ", "mcid_points") == \
        float(raw[("FIQ", "mcid_points")])
    with pytest.raises(ValueError, match="found 2"):
        evidence.instrument_value(instruments, "FIQ", "mcid_pct")


# ----------------------------------------------------------------------------- preclinical


def test_preclinical_selection():
    preclinical = data.load("preclinical")
    raw = _rows("preclinical")
    fm_only = evidence.preclinical_rows(preclinical, include_non_fm_models=False)
    assert len(fm_only) == sum(r["fm_model"] == "true" for r in raw)
    everything = evidence.preclinical_rows(preclinical)
    assert len(everything) == len(raw)
    assert everything["fm_model"].is_monotonic_decreasing
    msc = evidence.msc_in_fm_models(preclinical)
    assert set(msc["source"]) <= {r["source"] for r in raw if r["fm_model"] == "true"}
    assert len(msc) >= 1


def test_preclinical_searches():
    searches = data.load("searches")
    expected = sorted(r["id"] for r in _rows("searches") if "preclinical" in r["scope"].lower())
    assert list(evidence.preclinical_searches(searches)["id"]) == expected


def test_phase_status_table_and_empty_selection(registry):
    table = evidence.phase_status_table(registry)
    expected = sum(1 for r in _rows("registry") if r["phase"] == "Phase 3"
                   and r["status"] == "Completed")
    assert int(table.loc["Phase 3", "Completed"]) == expected
    order = [evidence.PHASE_ORDER.index(p) for p in table.index]
    assert order == sorted(order)
    empty = evidence.filter_registry(registry, statuses=["Withheld"], start_year_min=1900,
                                     start_year_max=1901)
    with pytest.raises(ValueError, match="match no trial"):
        evidence.require_trials(empty)
