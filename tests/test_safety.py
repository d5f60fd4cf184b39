"""Safety shaping for chapter 08: measure checks, CI readings, SAE sums, fatigue rows, figure."""

from __future__ import annotations

import pandas as pd
import pytest

from mscfm import safety
from mscfm.plots.safety import ratio_plot
from mscfm.plots.style import alt_text


def pooled() -> pd.DataFrame:
    nan = float("nan")
    rows = [("t_fever", "thompson", "fever", "RR", 2.48, 1.27, 4.86, "adult RCTs"),
            ("t_death", "thompson", "death", "RR", 0.78, 0.65, 0.94, "adult RCTs"),
            ("w_fatigue", "wang21", "fatigue", "OR", 2.99, 1.06, 8.44, "all RCTs"),
            ("w_arr", "wang21", "arrhythmia", "OR", 0.62, 0.36, 1.07, "all RCTs"),
            ("v_fever", "wang24", "fever", "OR", 1.61, 1.22, 2.11, "all RCTs"),
            ("v_fever_long", "wang24", "fever", "OR", 1.75, 1.26, 2.24, "over 1 year"),
            ("v_fatigue", "wang24", "Fatigue", "OR", nan, nan, nan, "all RCTs"),
            ("s_ae", "sci", "adverse events", "not_stated", 1.2, 0.97, 1.48, "OA RCTs"),
            ("c_il6", "omahony", "IL-6", "SMD", 0.15, 0.003, 0.29, "FM")]
    return pd.DataFrame([{"id": i, "topic": "cytokine" if i == "c_il6" else "safety",
                          "source": s, "outcome": o, "measure": m, "estimate": e, "ci_lb": lb,
                          "ci_ub": ub, "population": p, "note": ""}
                         for i, s, o, m, e, lb, ub, p in rows])


def test_check_measures_accepts_only_present_ratio_measures():
    assert safety.check_measures(["OR", "RR", "OR"], pooled()) == ["OR", "RR"]
    for bad in (["SMD"], ["not_stated"], [], ["HR"]):
        with pytest.raises(ValueError, match="measures must be"):
            safety.check_measures(bad, pooled())


def test_reading_of_a_ratio_ci():
    assert safety.reading(1.06, 8.44) == "more often with MSC"
    assert safety.reading(0.65, 0.94) == "less often with MSC"
    assert safety.reading(0.36, 1.07) == "no clear difference"
    assert safety.reading(float("nan"), 2.0) == "no usable estimate"


def test_safety_estimates_filter_sort_and_label():
    rows = safety.safety_estimates(pooled(), ["OR"])
    assert list(rows["id"]) == ["w_arr", "w_fatigue", "v_fever", "v_fever_long"]
    labels = dict(zip(rows["id"], rows["label"], strict=True))
    assert labels["w_fatigue"] == "fatigue (OR)"
    assert labels["v_fever_long"] == "fever (OR), over 1 year"  # repeated outcome: population
    assert set(safety.unusable_estimates(pooled())["id"]) == {"v_fatigue"}


def test_fatigue_rows_include_the_empty_one():
    rows = safety.fatigue_estimates(pooled())
    assert list(rows["id"]) == ["v_fatigue", "w_fatigue"]
    assert list(rows["reading"]) == ["no usable estimate", "more often with MSC"]


def test_sae_table_sums_arms_by_role():
    nan = float("nan")
    outcomes = pd.DataFrame([
        {"study_id": "m", "outcome": "SAE", "arm_role": "msc", "events": 13, "n": 140,
         "timepoint": "3 y"},
        {"study_id": "m", "outcome": "SAE", "arm_role": "msc", "events": 12, "n": 128,
         "timepoint": "3 y"},
        {"study_id": "m", "outcome": "SAE", "arm_role": "control", "events": 7, "n": 130,
         "timepoint": "3 y"},
        {"study_id": "v", "outcome": "SAE", "arm_role": "msc", "events": 0, "n": 15,
         "timepoint": "1 y"},
        {"study_id": "v", "outcome": "SAE", "arm_role": "control", "events": 0, "n": 15,
         "timepoint": "1 y"},
        {"study_id": "v", "outcome": "VAS pain", "arm_role": "msc", "events": nan, "n": 15,
         "timepoint": "1 y"}])
    studies = pd.DataFrame({"id": ["m", "v"], "condition_group": ["disc", "knee OA"]})
    table = safety.sae_table(outcomes, studies).set_index("study_id")
    assert table.loc["m", "events_msc"] == 25 and table.loc["m", "n_msc"] == 268
    assert table.loc["m", "pct_msc"] == pytest.approx(100 * 25 / 268)
    assert table.loc["m", "pct_control"] == pytest.approx(100 * 7 / 130)
    assert table.loc["v", "events_control"] == 0


def test_ratio_plot_log_axis_and_alt_text():
    rows = safety.safety_estimates(pooled(), ["RR", "OR"])
    fig = ratio_plot(rows)
    assert fig.axes[0].get_xscale() == "log"
    text = alt_text(fig)
    assert f"{len(rows)} published" in text
    assert "4 have a 95% CI entirely above 1" in text  # t_fever, w_fatigue, both wang24 fevers


# --------------------------------------------------------------------------- pooled counts

def _sae(events_msc, n_msc, events_control, n_control) -> pd.DataFrame:
    return pd.DataFrame({"study_id": [f"t{i}" for i in range(len(n_msc))],
                         "events_msc": events_msc, "n_msc": n_msc,
                         "events_control": events_control, "n_control": n_control})


def test_common_events_are_pooled_with_mantel_haenszel_against_metafor():
    import json
    from pathlib import Path
    ref = json.loads((Path(__file__).parent / "fixtures" / "metafor" / "mh_peto.json")
                     .read_text(encoding="utf-8"))["sparse"]
    d = ref["data"]
    pooled_events = safety.pool_adverse_events(_sae(d["ai"], d["n1i"], d["ci"], d["n2i"]))
    assert pooled_events.method == "MH" and "not rare" in pooled_events.reason
    assert pooled_events.ratio.measure == "OR" and pooled_events.ratio.drop00
    assert pooled_events.ratio.estimate == pytest.approx(ref["mh_OR"]["estimate"], rel=1e-9)
    assert pooled_events.difference.estimate == pytest.approx(ref["mh_RD_keep00"]["estimate"],
                                                              rel=1e-9)
    assert (pooled_events.k, pooled_events.k_with_events) == (5, 1)


def test_rare_events_in_balanced_trials_use_peto():
    from mscfm import meta
    table = _sae([1, 0, 2, 0], [200, 150, 300, 250], [0, 1, 0, 0], [200, 150, 300, 250])
    pooled_events = safety.pool_adverse_events(table)
    assert pooled_events.method == "PETO" and "rare" in pooled_events.reason
    direct = meta.rma_peto(ai=[1, 0, 2, 0], n1i=[200, 150, 300, 250], ci=[0, 1, 0, 0],
                           n2i=[200, 150, 300, 250])
    assert pooled_events.ratio.estimate == pytest.approx(direct.estimate, rel=1e-12)


def test_rare_events_in_unbalanced_trials_use_mantel_haenszel():
    table = _sae([1, 0, 2], [600, 150, 300], [0, 1, 0], [200, 150, 300])
    pooled_events = safety.pool_adverse_events(table)
    assert pooled_events.method == "MH" and "3.0 to 1" in pooled_events.reason


def test_pooled_sentence_and_parameter_check():
    table = _sae([0, 25, 0], [15, 268, 7], [0, 7, 0], [15, 130, 16])
    text = safety.pooled_sentence(safety.pool_adverse_events(table))
    assert "Mantel-Haenszel odds ratio" in text and "only 1 of the 3 trials" in text
    assert "rests on that trial alone" in text and "percentage points" in text
    assert safety.check_rare_event_risk(0.05) == 0.05
    for bad in (0, 1, -0.1, "0.01", True):
        with pytest.raises(ValueError, match="rare_event_risk must be"):
            safety.check_rare_event_risk(bad)
