"""The pooling engine against metafor's published numbers (tests/fixtures/metafor/*.json),
statsmodels as a second opinion, edge cases and invariance properties."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.regression.linear_model import WLS
from statsmodels.stats.meta_analysis import combine_effects

from mscfm import effects, meta
from mscfm.errors import InputError
from mscfm.meta import _core as meta_core

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


BCG = load("bcg")
NORMAND = load("normand1999")
KACKER = load("kacker2004")


def bcg(measure: str = "RR") -> effects.EffectSizes:
    d = BCG["data"]
    return effects.escalc(measure, ai=d["tpos"], bi=d["tneg"], ci=d["cpos"], di=d["cneg"],
                          labels=[f"{a} {y}" for a, y in zip(d["author"], d["year"],
                                                              strict=True)])


def fit_bcg(method: str, measure: str = "RR", **kwargs) -> meta.MetaResult:
    es = bcg(measure)
    return meta.rma(es.yi, es.vi, method=method, labels=es.labels, measure=measure, **kwargs)


def check(result: object, ref: dict, keys: list[str] | None = None) -> None:
    """Every numeric key of ``ref`` (or ``keys``) against the attribute of the same name."""
    tol = {"abs": ref["abs_tol"]} if "abs_tol" in ref else {"rel": ref["rel_tol"]}
    by_key = ref.get("abs_tol_by_key", {})
    for key in keys or [k for k, v in ref.items() if isinstance(v, (int, float))
                        and not k.endswith("tol")]:
        got = result[key] if isinstance(result, dict) else getattr(result, key)
        expected = ref[key]
        this_tol = {"abs": by_key[key]} if key in by_key else tol
        assert got == pytest.approx(expected, **this_tol), key


# --------------------------------------------------------------------------- dat.bcg

def test_bcg_reml_printed_and_full_precision():
    r = fit_bcg("REML")
    check(r, BCG["rma_reml"])
    check(r, BCG["rma_reml_full"])
    assert r.pval < 1e-4


def test_bcg_reml_prediction_interval_and_back_transform():
    r = fit_bcg("REML")
    ref = BCG["predict_reml"]
    got = {"pred": r.estimate, "se": r.se, "ci_lb": r.ci_lb, "ci_ub": r.ci_ub,
           "pi_lb": r.pi_lb, "pi_ub": r.pi_ub}
    for key, value in got.items():
        assert value == pytest.approx(ref[key], abs=ref["abs_tol"]), key
    exp = r.back_transformed()
    for key in ("ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        assert exp[key] == pytest.approx(ref["exp"][key], abs=ref["abs_tol"]), key
    assert exp["estimate"] == pytest.approx(ref["exp"]["pred"], abs=ref["abs_tol"])


def test_bcg_dl_and_ee():
    dl, ee = fit_bcg("DL"), fit_bcg("EE")
    check(dl, BCG["rma_dl"])
    check(ee, BCG["rma_ee"])
    for res, ref in ((dl, BCG["rma_dl"]["exp"]), (ee, BCG["rma_ee"]["exp"])):
        for key, value in ref.items():
            assert res.back_transformed()[key] == pytest.approx(value, abs=5e-5), key
    # equal-effects model: the prediction interval is the confidence interval
    assert (ee.pi_lb, ee.pi_ub) == (ee.ci_lb, ee.ci_ub)
    assert ee.tau2 == 0 and ee.se_tau2 is None


def test_bcg_dl_q_profile_confint_with_metafors_tolerance_matches_its_printout():
    ci = meta.tau2_ci(fit_bcg("DL"), tol=meta.METAFOR_TOL)
    check(ci, BCG["confint_dl"])


def test_bcg_or_and_rd_measures():
    for measure in ("OR", "RD"):
        ref = BCG[f"{measure.lower()}_measure"]
        for method in ("EE", "DL"):
            check(fit_bcg(method, measure), {**ref[method], "abs_tol": ref["abs_tol"]})


def test_bcg_pm_tau2():
    check(fit_bcg("PM"), BCG["pm_tau2"])


def test_bcg_leave1out_all_rows():
    ref = BCG["leave1out_reml"]
    rows = meta.leave1out(fit_bcg("REML"))
    assert len(rows) == len(ref["rows"])
    for row, expected in zip(rows, ref["rows"], strict=True):
        for key, value in zip(ref["columns"], expected, strict=True):
            assert getattr(row, key) == pytest.approx(value, abs=ref["abs_tol"]), key
    assert rows[0].label == "Aronson 1948" and rows[0].k == 12


def test_bcg_cumulative_by_year():
    ref = BCG["cumul_reml_by_year"]
    rows = meta.cumulative(fit_bcg("REML"), order=BCG["data"]["year"])
    np.testing.assert_allclose([r.estimate for r in rows], ref["estimate"],
                               atol=ref["abs_tol"], rtol=0)
    assert rows[0].label == "Aronson 1948" and rows[-1].k == 13


@pytest.mark.parametrize(("method", "key"), [("EE", "trimfill_ee"), ("REML", "trimfill_reml")])
def test_bcg_trimfill(method, key):
    ref = BCG[key]
    tf = meta.trimfill(fit_bcg(method))
    assert tf.k0 == ref["k0"] and tf.side == ref["side"]
    assert tf.se_k0 == pytest.approx(ref["se_k0"], abs=ref["abs_tol"])
    check(tf.result, ref, [k for k in ref if k in ("k", "estimate", "se", "stat", "ci_lb",
                                                   "ci_ub", "tau2", "Q", "Q_df")])
    assert tf.result.labels[-1] == f"Filled {ref['k0']}"


def test_bcg_rank_test():
    rt = meta.rank_test(fit_bcg("REML"))
    check(rt, BCG["ranktest"])
    assert rt.exact


# --------------------------------------------------------------------------- normand1999

def normand(rows: slice = slice(None), measure: str = "MD", **kw) -> effects.EffectSizes:
    d = NORMAND["data"]
    cols = {key: d[key][rows] for key in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    return effects.escalc(measure, **cols, **kw)


def test_normand_smd_reml_tau2():
    es = normand(slice(0, 4), "SMD")
    check(meta.rma(es.yi, es.vi, "REML"), NORMAND["smd_rows_1_4_reml"])


@pytest.mark.parametrize("method", ["EE", "DL", "REML"])
def test_normand_md_pooled_sd(method):
    es = normand(vtype="HO")
    ref = NORMAND["md_pooled_sd_all_rows"]
    check(meta.rma(es.yi, es.vi, method), {**ref[method], "abs_tol": ref["abs_tol"]})


# --------------------------------------------------------------------------- Kacker 2004

def kacker(method: str, test: str = "z", **kw) -> meta.MetaResult:
    d = KACKER["data"]
    return meta.rma(d["yi"], d["vi"], method=method, test=test, **kw)


def test_kacker_pm_dl_knha_ee_full_precision():
    tol = {"rel_tol": KACKER["rel_tol"]}
    pm = KACKER["PM"]
    check(kacker("PM", tol=pm["pm_tol"]), {**pm, **tol},
          [k for k in pm if k != "pm_tol"])
    check(kacker("DL"), {**KACKER["DL"], **tol})
    check(kacker("DL", "knha"), {**KACKER["DL_knha"], **tol})
    check(kacker("EE"), {**KACKER["EE"], **tol})


# --------------------------------------------------------------------------- statsmodels

@pytest.mark.parametrize("method", ["DL", "PM"])
def test_statsmodels_second_opinion(method):
    es = bcg()
    ours = meta.rma(es.yi, es.vi, method=method, tol=1e-12)
    theirs = combine_effects(es.yi, es.vi, method_re=method.lower())
    rtol = 1e-9 if method == "DL" else 1e-5  # statsmodels iterates PM to a looser tolerance
    assert ours.tau2 == pytest.approx(max(theirs.tau2, 0), rel=rtol)
    assert ours.estimate == pytest.approx(theirs.mean_effect_re, rel=rtol)
    assert ours.se == pytest.approx(theirs.sd_eff_w_re, rel=rtol)
    assert ours.Q == pytest.approx(theirs.q, rel=1e-12)
    knha = meta.rma(es.yi, es.vi, method=method, test="knha", tol=1e-12)
    assert knha.se == pytest.approx(theirs.sd_eff_w_re_hksj, rel=rtol)
    lb, ub = theirs.conf_int(use_t=True)[3]
    assert (knha.ci_lb, knha.ci_ub) == pytest.approx((lb, ub), rel=rtol)


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
def test_statsmodels_dl_is_not_clipped_but_ours_is():
    y, v = [0.10, 0.11, 0.12], [0.04, 0.05, 0.06]
    theirs = combine_effects(np.array(y), np.array(v), method_re="dl")
    assert theirs.tau2 < 0
    assert meta.rma(y, v, "DL").tau2 == 0


def test_egger_equals_weighted_least_squares_slope_test():
    es = bcg()
    eg = meta.egger_test(es.yi, es.vi)
    X = np.column_stack([np.ones(es.k), np.sqrt(es.vi)])
    wls = WLS(es.yi, X, weights=1 / es.vi).fit()
    assert eg.t == pytest.approx(wls.tvalues[1], rel=1e-10)
    assert eg.p == pytest.approx(wls.pvalues[1], rel=1e-10)
    assert eg.df == es.k - 2
    assert eg.limit_estimate == pytest.approx(wls.params[0], rel=1e-10)
    assert (eg.limit_ci_lb, eg.limit_ci_ub) == pytest.approx(tuple(wls.conf_int()[0]),
                                                             rel=1e-10)


# --------------------------------------------------------------------------- subgroups

def test_separate_subgroups_each_group_is_its_own_model_and_q_between_is_wald():
    es = bcg()
    alloc = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4
    sg = meta.subgroups(es.yi, es.vi, alloc, method="REML", labels=es.labels, measure="RR",
                        tau2_mode="separate")
    assert list(sg.groups) == ["random", "alternate", "systematic"]
    rand = np.array([a == "random" for a in alloc])
    direct = meta.rma(es.yi[rand], es.vi[rand], "REML")
    assert sg.groups["random"].estimate == pytest.approx(direct.estimate, rel=1e-12)
    est = np.array([g.estimate for g in sg.groups.values()])
    w = 1 / np.array([g.se for g in sg.groups.values()]) ** 2
    pooled = np.sum(w * est) / np.sum(w)
    assert sg.Q_between == pytest.approx(np.sum(w * (est - pooled) ** 2), rel=1e-12)
    assert sg.df == 2 and 0 < sg.p < 1
    assert set(sg.to_dict()["groups"]) == set(sg.groups)


def test_single_study_subgroup_is_its_own_estimate():
    sg = meta.subgroups([0.1, 0.3, 0.5], [0.01, 0.02, 0.03], ["a", "a", "b"], method="DL",
                        tau2_mode="separate")
    assert sg.groups["b"].estimate == 0.5 and sg.groups["b"].k == 1


# --------------------------------------------------------------------------- edge cases

def test_k2_random_effects_and_knha_use_one_df():
    r = meta.rma([0.1, 0.9], [0.02, 0.03], "REML", test="knha")
    assert r.k == 2 and r.df == 1
    assert r.pi_ub - r.pi_lb > r.ci_ub - r.ci_lb > 0


@pytest.mark.parametrize("method", ["DL", "REML", "PM"])
def test_homogeneous_data_give_tau2_exactly_zero_and_the_ee_estimate(method):
    y, v = [0.10, 0.11, 0.12, 0.105], [0.04, 0.05, 0.06, 0.05]
    r, ee = meta.rma(y, v, method), meta.rma(y, v, "EE")
    assert r.tau2 == 0.0
    assert r.estimate == pytest.approx(ee.estimate, rel=1e-14)
    assert r.I2 == 0 and r.H2 == 1
    assert meta.tau2_ci(r).tau2_lb == 0


def test_one_huge_study_dominates_the_equal_effects_estimate():
    y, v = [0.5, 0.1, 0.2, 0.15], [1e-6, 0.1, 0.1, 0.1]
    ee = meta.rma(y, v, "EE")
    assert ee.weights[0] > 99.99
    assert ee.estimate == pytest.approx(0.5, abs=1e-4)
    re = meta.rma(y, v, "REML")
    assert np.isfinite(re.estimate) and re.tau2 > 0


def test_zero_cells_flow_through_to_a_finite_pool():
    es = effects.escalc("RR", ai=[0, 2, 5, 0], n1i=[20, 20, 30, 15],
                        ci=[1, 4, 9, 0], n2i=[20, 21, 30, 15], drop00=True)
    assert es.k == 3 and es.dropped == ("Study 4",)
    r = meta.rma(es.yi, es.vi, "DL", measure="RR")
    assert np.isfinite([r.estimate, r.se, r.tau2]).all()


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    (([0.1], [0.1]), {"method": "REML"}, "at least 2 studies"),
    (([0.1, np.nan], [0.1, 0.1]), {}, r"'yi', study 2.*finite"),
    (([0.1, 0.2], [0.1, -0.1]), {}, r"'vi', study 2.*positive"),
    (([0.1, 0.2], [0.1]), {}, "differ in length"),
    (([0.1, 0.2], [0.1, 0.1]), {"method": "HS"}, "method must be"),
    (([0.1, 0.2], [0.1, 0.1]), {"test": "t"}, "test must be"),
])
def test_clear_errors(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        meta.rma(*args, **kwargs)


def test_equal_effects_allows_a_single_study():
    r = meta.rma([0.3], [0.04], "EE")
    assert r.estimate == 0.3 and r.se == pytest.approx(0.2)


def test_result_to_dict_is_json_safe():
    r = fit_bcg("REML")
    text = json.dumps(r.to_dict())
    assert json.loads(text)["k"] == 13
    assert len(json.loads(text)["weights"]) == 13
    tf = meta.trimfill(r)
    assert json.loads(json.dumps(tf.to_dict()))["k0"] == 1


# --------------------------------------------------------------------------- properties

studies = st.integers(min_value=3, max_value=12).flatmap(lambda k: st.tuples(
    st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
    st.lists(st.floats(0.01, 2.0, allow_nan=False), min_size=k, max_size=k),
))


@settings(max_examples=60, deadline=None)
@given(studies, st.randoms(use_true_random=False),
       st.sampled_from(["EE", "DL", "REML", "PM"]))
def test_study_order_does_not_matter(data, rnd, method):
    y, v = np.array(data[0]), np.array(data[1])
    perm = np.array(rnd.sample(range(y.size), y.size))
    a = meta.rma(y, v, method, tol=1e-12)
    b = meta.rma(y[perm], v[perm], method, tol=1e-12)
    for key in ("estimate", "se", "tau2", "Q", "I2", "pi_lb", "pi_ub"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-7, abs=1e-9), key


@settings(max_examples=60, deadline=None)
@given(studies, st.floats(0.05, 20.0), st.sampled_from(["EE", "DL", "REML", "PM"]))
def test_scaling_yi_and_se_scales_the_result(data, c, method):
    y, v = np.array(data[0]), np.array(data[1])
    # REML stops, as metafor does, when a Fisher step changes tau^2 by < 1e-5 (absolute), a
    # rule that is not scale-free (at c = 0.125 it leaves a relative error of 1e-3 in tau^2:
    # the fixtures check that metafor behaviour). The property is about the estimator, so
    # REML is solved here to a threshold far below both scales.
    with mock.patch.object(meta_core, "REML_THRESHOLD", 1e-13):
        a = meta.rma(y, v, method, tol=1e-12)
        b = meta.rma(c * y, c**2 * v, method, tol=1e-12 * c**2)
    rel = 1e-6
    assert b.estimate == pytest.approx(c * a.estimate, rel=rel, abs=1e-9 * c)
    assert b.se == pytest.approx(c * a.se, rel=rel)
    assert b.tau2 == pytest.approx(c**2 * a.tau2, rel=10 * rel, abs=1e-9 * c**2)
    assert b.I2 == pytest.approx(a.I2, rel=10 * rel, abs=1e-6)
