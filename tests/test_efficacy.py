"""Efficacy input: arm pairing, SD recovery, measure choice, sign, and the k < 2 path.

Arm values below are those of Vega 2015 (NCT01586312 registry results, VAS pain change) and of
JointStem (NCT02674399, LS means with SE); expected numbers are worked out by hand here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mscfm import efficacy

VEGA_LOC = "measure 'Pain and Disability Evolution'"
JS_BETWEEN = "measure 'Change From Baseline on VAS Between JointStem and Positive Control'"
JS_SINGLE = "measure 'Change From Baseline on VAS in JointStem Group'"


def arm(study: str, role: str, mean: float | None, n: float | None, *, sd: float | None = None,
        se: float | None = None, ci: tuple[float, float] | None = None,
        median: float | None = None, outcome: str = "VAS pain", months: float = 12,
        scale: str = "0-100", direction: str = "lower_better", value_type: str = "change",
        locator: str = "abstract", idx: int = 0) -> dict:
    nan = float("nan")
    return {"id": f"{study}_{role}_{months:g}_{idx}", "study_id": study, "outcome": outcome,
            "scale": scale, "direction": direction, "timepoint_months": months,
            "arm": role, "arm_role": role, "n": nan if n is None else n,
            "mean": nan if mean is None else mean, "sd": nan if sd is None else sd,
            "se": nan if se is None else se, "ci_lb": ci[0] if ci else nan,
            "ci_ub": ci[1] if ci else nan, "median": nan if median is None else median,
            "value_type": value_type, "locator": locator}


def study(sid: str, group: str = "knee OA") -> dict:
    return {"id": sid, "condition": "knee osteoarthritis", "condition_group": group,
            "design": "RCT", "cell_source": "bone marrow", "comparator_type": "active"}


def vega_rows() -> list[dict]:
    return [arm("vega2015", "msc", -21.20, 15, sd=28.5, locator=VEGA_LOC),
            arm("vega2015", "control", -13.07, 15, sd=21.6, locator=VEGA_LOC),
            arm("vega2015", "msc", -20.67, 15, sd=29.3, months=6, locator=VEGA_LOC),
            arm("vega2015", "control", -11.93, 15, sd=20.6, months=6, locator=VEGA_LOC)]


def jointstem_rows() -> list[dict]:
    return [arm("jointstem", "msc", -32.5, 19, sd=23.93, months=6, locator=JS_SINGLE),
            arm("jointstem", "msc", -31.9, 19, se=4.9, months=6, locator=JS_BETWEEN, idx=1),
            arm("jointstem", "control", -30.6, 9, se=7.13, months=6, locator=JS_BETWEEN),
            arm("jointstem", "msc", -35.0, 19, sd=24.56, months=12, locator=JS_SINGLE)]


@pytest.fixture
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    outcomes = pd.DataFrame(vega_rows() + jointstem_rows())
    studies = pd.DataFrame([study("vega2015"), study("jointstem")])
    return outcomes, studies


def test_vega_12_month_md_by_hand(tables):
    outcomes, studies = tables
    sel = efficacy.select(outcomes, studies, "VAS pain", 12)
    assert list(sel.pairs["study_id"]) == ["vega2015"]
    pairs = sel.pairs
    es = efficacy.effect_sizes(pairs, "MD", pd.Series(1.0, index=pairs.index))
    assert es.yi[0] == pytest.approx(-21.20 - (-13.07))  # -8.13
    assert es.yi[0] == pytest.approx(-8.13)
    assert es.vi[0] == pytest.approx(28.5**2 / 15 + 21.6**2 / 15)


def test_fewer_than_two_studies_is_a_value_error_with_the_selection(tables):
    outcomes, studies = tables
    with pytest.raises(ValueError, match="at least 2 are needed") as info:
        efficacy.analyse(outcomes, studies, timepoint_months=12)
    selection = info.value.selection
    assert selection.k == 1
    assert selection.excluded.set_index("study_id").loc["jointstem", "reason"] == \
        "VAS pain (change): no control arm at this timepoint"


def test_six_months_pairs_arms_from_the_same_analysis_and_converts_se(tables):
    outcomes, studies = tables
    sel = efficacy.select(outcomes, studies, "VAS pain", 6)
    js = sel.pairs.set_index("study_id").loc["jointstem"]
    assert js["mean_msc"] == -31.9  # the between-arm LS mean, not the single-arm summary
    assert js["sd_msc"] == pytest.approx(4.9 * math.sqrt(19))
    assert js["sd_control"] == pytest.approx(7.13 * 3.0)
    assert "SD from SE" in js["note"]


def test_pooled_equal_effects_estimate_by_hand(tables):
    outcomes, studies = tables
    a = efficacy.analyse(outcomes, studies, timepoint_months=6, method="EE", test="z")
    y = np.array([-31.9 - -30.6, -20.67 - -11.93])
    v = np.array([4.9**2 + 7.13**2, 29.3**2 / 15 + 20.6**2 / 15])
    w = 1 / v
    assert a.result.estimate == pytest.approx(float((w * y).sum() / w.sum()))
    assert a.result.se == pytest.approx(float(1 / np.sqrt(w.sum())))
    assert a.measure == "MD"
    assert a.result.k == 2


def test_method_and_test_reach_the_model(tables):
    outcomes, studies = tables
    knha = efficacy.analyse(outcomes, studies, timepoint_months=6, test="knha")
    z = efficacy.analyse(outcomes, studies, timepoint_months=6, test="z")
    assert knha.result.test == "knha" and z.result.test == "z"
    assert knha.result.ci_ub - knha.result.ci_lb > z.result.ci_ub - z.result.ci_lb
    table = efficacy.estimator_table(z)
    assert list(table["method"]) == ["EE", "DL", "REML", "PM"]


def test_sd_from_ci_uses_t_with_n_minus_1_df():
    row = pd.Series(arm("r", "msc", 16.71, 15, ci=(6.71, 26.71)))
    sd, note = efficacy.arm_sd(row)
    assert sd == pytest.approx(20.0 / (2 * stats.t.ppf(0.975, 14)) * math.sqrt(15))
    assert "CI" in note


def test_medians_only_and_missing_n_are_excluded_with_reason():
    outcomes = pd.DataFrame([
        arm("med", "msc", None, 10, median=2.0), arm("med", "control", None, 10, median=4.0),
        arm("non", "msc", -5.0, None, sd=3.0), arm("non", "control", -1.0, None, sd=3.0)])
    studies = pd.DataFrame([study("med"), study("non")])
    sel = efficacy.select(outcomes, studies, "VAS pain", 12)
    reasons = sel.excluded.set_index("study_id")["reason"]
    assert reasons["med"] == "only medians reported"
    assert reasons["non"] == "arm n not reported"
    assert sel.k == 0


def test_higher_better_outcomes_are_sign_flipped():
    outcomes = pd.DataFrame([
        arm("a", "msc", 20.0, 10, sd=10.0, outcome="KOOS pain", direction="higher_better"),
        arm("a", "control", 10.0, 10, sd=10.0, outcome="KOOS pain", direction="higher_better"),
        arm("b", "msc", 15.0, 20, sd=10.0, outcome="KOOS pain", direction="higher_better"),
        arm("b", "control", 10.0, 20, sd=10.0, outcome="KOOS pain", direction="higher_better")])
    studies = pd.DataFrame([study("a"), study("b")])
    a = efficacy.analyse(outcomes, studies, outcome="KOOS pain", timepoint_months=12)
    assert list(a.studies["yi"]) == pytest.approx([-10.0, -5.0])  # negative favours MSC


def test_different_ranges_are_rescaled_to_0_100_and_unknown_ranges_fall_back_to_smd():
    rows = [arm("a", "msc", -20.0, 10, sd=20.0), arm("a", "control", -10.0, 10, sd=20.0),
            arm("b", "msc", -3.0, 10, sd=2.0, scale="0-10"),
            arm("b", "control", -1.0, 10, sd=2.0, scale="0-10")]
    studies = pd.DataFrame([study("a"), study("b")])
    md = efficacy.analyse(pd.DataFrame(rows), studies, timepoint_months=12)
    assert md.measure == "MD" and "rescaled" in md.measure_reason
    assert list(md.studies["yi"]) == pytest.approx([-10.0, -20.0])
    rows[2]["scale"] = rows[3]["scale"] = float("nan")
    smd = efficacy.analyse(pd.DataFrame(rows), studies, timepoint_months=12)
    assert smd.measure == "SMD" and "not known for b" in smd.measure_reason


def test_combine_arms_cochrane_formula():
    n, m, s = efficacy.combine_arms([10, 20], [1.0, 4.0], [2.0, 3.0])
    assert n == 30
    assert m == pytest.approx((10 * 1 + 20 * 4) / 30)
    var = (9 * 4 + 19 * 9 + 10 * 20 / 30 * 9) / 29
    assert s == pytest.approx(math.sqrt(var))


def test_condition_filter_and_bad_parameters(tables):
    outcomes, studies = tables
    studies.loc[studies["id"] == "jointstem", "condition_group"] = "other"
    assert efficacy.select(outcomes, studies, "VAS pain", 6, condition="knee OA").k == 1
    assert efficacy.select(outcomes, studies, "VAS pain", 6, condition="all").k == 2
    with pytest.raises(ValueError, match="condition must be one of"):
        efficacy.select(outcomes, studies, "VAS pain", 6, condition="fibromyalgia")
    with pytest.raises(ValueError, match="method must be one of"):
        efficacy.analyse(outcomes, studies, method="ML")
    with pytest.raises(ValueError, match="measure must be one of"):
        efficacy.analyse(outcomes, studies, measure="RR")


def test_domain_counts_and_comparison_map(tables):
    outcomes, studies = tables
    extra = pd.DataFrame([arm("vega2015", "msc", 5.0, 15, sd=20.0, outcome="SF-12 bodily pain"),
                          arm("vega2015", "msc", 2.0, 15, sd=2.0, outcome="Fatigue VAS")])
    counts = efficacy.domain_counts(pd.concat([outcomes, extra]), studies)
    assert counts == {"studies": 2, "studies_with_outcomes": 2, "fm_studies": 0,
                      "fatigue_studies": 1, "qol_studies": 0, "qol_pain_subscale_studies": 1}
    grid = efficacy.comparison_map(outcomes, studies).set_index("timepoint_months")
    assert grid.loc[6.0, "k_comparisons"] == 2
    assert grid.loc[12.0, "k_comparisons"] == 1
    assert grid.loc[12.0, "studies_reporting"] == 2


def test_unknown_outcome_names_the_known_ones(tables):
    outcomes, _ = tables
    with pytest.raises(ValueError, match="VAS pain"):
        efficacy.check_outcome("VAS  pain", outcomes)
    efficacy.check_outcome("VAS pain", outcomes)


def test_result_and_no_pool_sentences(tables):
    outcomes, studies = tables
    a = efficacy.analyse(outcomes, studies, timepoint_months=6)
    text = efficacy.result_sentence(a)
    assert f"{a.result.estimate:.2f}" in text and "mean difference" in text
    sel = efficacy.select(outcomes, studies, "VAS pain", 12)
    text = efficacy.no_pool_sentence(sel, "k = 1")
    assert "vega2015" in text and "jointstem: no control arm" in text


def test_key_results_are_the_fitted_numbers_or_nan() -> None:
    import math

    from mscfm import efficacy

    assert all(math.isnan(v) for v in efficacy.key_results(None).values())
    assert set(efficacy.key_results(None)) == set(efficacy.KEY_RESULTS)


# --------------------------------------------------------------------------- round two

def _pair(study_id: str, outcome: str, value_type: str, months: float = 6, *,
          scale: str = "0-100", mean: tuple[float, float] = (-20.0, -10.0),
          direction: str = "lower_better", n: int = 20) -> list[dict]:
    return [arm(study_id, "msc", mean[0], n, sd=15.0, outcome=outcome, months=months,
                scale=scale, value_type=value_type, direction=direction),
            arm(study_id, "control", mean[1], n, sd=15.0, outcome=outcome, months=months,
                scale=scale, value_type=value_type, direction=direction)]


def test_pain_hierarchy_takes_the_first_usable_outcome_of_each_study():
    rows = (_pair("a", "WOMAC pain", "change") + _pair("a", "VAS pain", "change")
            + _pair("b", "KOOS pain", "change", direction="higher_better", mean=(20.0, 10.0))
            + [arm("c", "msc", -5.0, 10, sd=3.0, outcome="VAS pain", months=6)]  # no control
            + _pair("c", "NPRS", "change", scale="0-10", mean=(-3.0, -1.0)))
    studies = pd.DataFrame([study("a"), study("b"), study("c")])
    sel = efficacy.select(pd.DataFrame(rows), studies, efficacy.PAIN, 6)
    chosen = dict(zip(sel.pairs["study_id"], sel.pairs["outcome"], strict=True))
    assert chosen == {"a": "VAS pain", "b": "KOOS pain", "c": "NPRS"}
    a = efficacy.analyse(pd.DataFrame(rows), studies, outcome=efficacy.PAIN,
                         timepoint_months=6)
    assert "rescaled" in a.measure_reason  # 0-100 and 0-10 scales on one 0-100 scale
    assert list(a.studies["yi"]) == pytest.approx([-10.0, -10.0, -20.0])  # KOOS sign flipped


def test_bodily_pain_subscales_are_not_in_the_pain_hierarchy():
    assert "SF-36 bodily pain" not in efficacy.PAIN_HIERARCHY
    rows = _pair("a", "SF-36 bodily pain", "change") + _pair("b", "VAS pain", "change")
    sel = efficacy.select(pd.DataFrame(rows), pd.DataFrame([study("a"), study("b")]),
                          efficacy.PAIN, 6)
    assert list(sel.pairs["study_id"]) == ["b"]


def test_change_and_final_values_are_combined_for_an_md_only():
    rows = _pair("a", "VAS pain", "change") + _pair("b", "VAS pain", "final", mean=(30., 45.))
    outcomes, studies = pd.DataFrame(rows), pd.DataFrame([study("a"), study("b")])
    md = efficacy.analyse(outcomes, studies, timepoint_months=6)
    assert md.result.k == 2 and md.selection.mixes_value_types
    assert dict(zip(md.studies["study_id"], md.studies["value_type"], strict=True)) == {
        "a": "change", "b": "final"}
    assert "combined" in md.value_type_note and "b (final)" in md.value_type_note
    with pytest.raises(efficacy.TooFewStudiesError):
        efficacy.analyse(outcomes, studies, timepoint_months=6, measure="SMD")
    sel, note = efficacy.select_for_measure(outcomes, studies, "VAS pain", 6, "change",
                                            "knee OA", "SMD")
    assert sel.k == 1 and "not combined for an SMD" in note
    with pytest.raises(efficacy.TooFewStudiesError):
        efficacy.analyse(outcomes, studies, timepoint_months=6, combine_value_types=False)


def test_an_unknown_scale_stops_the_combination_and_says_why():
    rows = (_pair("a", "VAS pain", "change") + _pair("b", "VAS pain", "change")
            + _pair("c", "WOMAC pain", "final", scale=""))
    sel, note = efficacy.select_for_measure(
        pd.DataFrame(rows), pd.DataFrame([study(x) for x in "abc"]), efficacy.PAIN, 6,
        "change", "knee OA", "MD")
    assert list(sel.pairs["study_id"]) == ["a", "b"]
    assert "scale range of c is not known" in note


def test_thresholds_for_funnel_estimators_and_meta_regression():
    assert efficacy.funnel_applicable(10) == (True, "")
    shown, why = efficacy.funnel_applicable(9)
    assert not shown and "9 comparisons (fewer than 10)" in why
    assert efficacy.estimators_applicable(3)[0] and not efficacy.estimators_applicable(2)[0]
    assert "1 degree of freedom" in efficacy.estimators_applicable(2)[1]
    assert "0 degrees of freedom" in efficacy.estimators_applicable(1)[1]


def _many(k: int, sources: list[str], comparators: list[str]
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, info = [], []
    for i in range(k):
        rows += _pair(f"s{i:02d}", "VAS pain", "change", mean=(-20.0 - i, -10.0))
        info.append(study(f"s{i:02d}") | {"cell_source": sources[i % len(sources)],
                                          "comparator_type": comparators[i % len(comparators)],
                                          "dose": f"{10 * (i + 1)}x10^6 cells"})
    return pd.DataFrame(rows), pd.DataFrame(info)


def test_comparator_subgroups_with_one_kind_say_there_is_no_test(tables):
    outcomes, studies = tables
    a = efficacy.analyse(outcomes, studies, timepoint_months=6)
    groups = efficacy.comparator_subgroups(a)
    assert groups.test is None
    assert list(groups.table["k"]) == [0, 2]  # placebo, active
    assert "no placebo-controlled trial qualifies" in groups.text


def test_comparator_subgroups_test_placebo_against_active():
    outcomes, studies = _many(6, ["bone marrow"], ["placebo", "active"])
    a = efficacy.analyse(outcomes, studies, timepoint_months=6)
    groups = efficacy.comparator_subgroups(a)
    assert groups.test is not None and groups.test.tau2_mode == "common"
    assert list(groups.table["k"]) == [3, 3]
    assert "Test for a difference" in groups.text


def test_meta_regression_only_where_k_allows():
    outcomes, studies = _many(5, ["adipose", "bone marrow"], ["active"])
    a = efficacy.analyse(outcomes, studies, timepoint_months=6)
    reg, why = efficacy.moderator_analysis(a, "cell_source")
    assert reg is None and "5 of 5" in why and "at least 10" in why
    outcomes, studies = _many(10, ["adipose", "bone marrow"], ["active"])
    a = efficacy.analyse(outcomes, studies, timepoint_months=6)
    reg, text = efficacy.moderator_analysis(a, "cell_source")
    assert reg is not None and reg.names == ("intrcpt", "cell_sourcebone marrow")
    reg, text = efficacy.moderator_analysis(a, "dose")
    assert reg is not None and reg.names == ("intrcpt", "dose")
    assert reg.coefficient("dose").estimate < 0  # more cells, larger made-up benefit


def test_dose_parsing_accepts_one_dose_only():
    assert efficacy.dose_million_cells("40x10^6 cells") == 40
    assert efficacy.dose_million_cells("1x10^8 cells (per registry)") == 100
    for text in ("10x10^6 or 100x10^6 cells", "25, 50, 75 or 150x10^6 cells",
                 "about 5-6 mL BMAC", "dose not re-read", float("nan")):
        assert efficacy.dose_million_cells(text) is None, text


def test_moderators_text_gives_counts_and_one_reason():
    outcomes, studies = _many(4, ["adipose", "bone marrow"], ["active"])
    studies.loc[0, "dose"] = "dose not read"
    a = efficacy.analyse(outcomes, studies, timepoint_months=6)
    text = efficacy.moderators_text(a)
    assert "dose (3 of 4 comparisons" in text and "cell source (4 of 4" in text
    assert text.count("at least 10") == 1
