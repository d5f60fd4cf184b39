"""Influence diagnostics, Egger's test (lm and rma), trim-and-fill after Knapp-Hartung, the
Q-profile CI and root precision, --level, hostile numbers and bounded memory, against metafor
(fixtures from tests/fixtures/metafor/generate.R)."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mscfm import meta
from mscfm.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


INFL, EGGER, TF = load("influence"), load("egger"), load("trimfill_knha")
CI, PREC, LEVEL = load("confint_precision"), load("precision"), load("level")
BCG = INFL["data"]
REL = 1e-7


def bcg_fit(method: str = "REML", test: str = "z", **kw) -> meta.MetaResult:
    return meta.rma(BCG["yi"], BCG["vi"], method=method, test=test, labels=BCG["study"],
                    measure="RR", **kw)


# --------------------------------------------------------------------------- influence

INFLUENCE_CASES = {
    "REML_z": lambda: bcg_fit("REML"),
    "DL_knha": lambda: bcg_fit("DL", "knha"),
    "EE_z": lambda: bcg_fit("EE"),
    "REML_z_ablat": lambda: meta.rma_mods(BCG["yi"], BCG["vi"], {"ablat": BCG["ablat"]},
                                          labels=BCG["study"]),
    "PM_knha_alloc": lambda: meta.rma_mods(BCG["yi"], BCG["vi"], {"alloc": BCG["alloc"]},
                                           method="PM", test="knha", labels=BCG["study"]),
}


@pytest.mark.parametrize("case", list(INFLUENCE_CASES))
def test_influence_matches_metafor(case):
    ref = INFL[case]
    rows = meta.influence(INFLUENCE_CASES[case]())
    assert [r.study for r in rows] == BCG["study"]  # input order, labelled
    for key in ("rstudent", "dffits", "cooks_d", "cov_r", "tau2_del", "QE_del", "hat",
                "weight"):
        np.testing.assert_allclose([getattr(r, key) for r in rows], ref[key], rtol=REL,
                                   atol=1e-10, err_msg=key)
    assert list(rows[0].dfbetas) == list(ref["dfbetas"])  # one per coefficient, intrcpt first
    for name, values in ref["dfbetas"].items():
        np.testing.assert_allclose([r.dfbetas[name] for r in rows], values, rtol=REL,
                                   atol=1e-10, err_msg=name)


def test_influence_needs_three_studies():
    with pytest.raises(InputError, match="k >= 3"):
        meta.influence(meta.rma([0.1, 0.3], [0.01, 0.02], "DL"))


# --------------------------------------------------------------------------- Egger

EGGER_CASES = [(s, key) for s in ("egger2001", "bcg") for key in EGGER[s] if key != "data"]


@pytest.mark.parametrize(("dataset", "key"), EGGER_CASES)
@pytest.mark.parametrize("model", ["rma", "lm"])
def test_egger_matches_regtest(dataset, key, model):
    method, test = key.split("_")
    d = EGGER[dataset]["data"]
    ref = EGGER[dataset][key][model]
    res = meta.egger_test(meta.rma(d["yi"], d["vi"], method=method, test=test), model=model)
    assert res.model == model and res.df == ref["df"]
    for ours, theirs in (("stat", "stat"), ("p", "p"), ("limit_estimate", "limit_estimate"),
                         ("limit_ci_lb", "limit_ci_lb"), ("limit_ci_ub", "limit_ci_ub")):
        assert getattr(res, ours) == pytest.approx(ref[theirs], rel=REL), ours
    assert res.summary()["model"] == model
    assert ("t" if res.df is not None else "z") in res.summary()


def test_egger2001_mixed_effects_z_as_in_metafors_tests():
    # test_misc_pub_bias.r (transcribed): all 16 trials give z = -4.6686
    d = EGGER["egger2001"]["data"]
    assert meta.egger_test(meta.rma(d["yi"], d["vi"]), model="rma").stat == pytest.approx(
        -4.6686, abs=5e-5)


# --------------------------------------------------------------------------- trim-and-fill

@pytest.mark.parametrize("case", ["REML_knha", "DL_knha", "egger2001_REML_knha"])
def test_trimfill_after_knapp_hartung_refits_with_z_as_metafor(case):
    ref = TF[case]
    d = TF["egger2001_data"] if case.startswith("egger2001") else TF["data"]
    method = case.split("_")[-2]
    tf = meta.trimfill(meta.rma(d["yi"], d["vi"], method=method, test="knha"))
    assert (tf.k0, tf.side, tf.result.k, tf.result.test) == (ref["k0"], ref["side"], ref["k"],
                                                              "z")
    for key in ("se_k0",):
        assert getattr(tf, key) == pytest.approx(ref[key], rel=REL)
    for key in ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2"):
        assert getattr(tf.result, key) == pytest.approx(ref[key], rel=REL), key


def test_trimfill_can_keep_the_models_own_test():
    fit = bcg_fit("REML", "knha")
    own = meta.trimfill(fit, refit="model")
    assert own.result.test == "knha" and own.result.df == own.result.k - 1
    assert own.result.estimate == pytest.approx(meta.trimfill(fit).result.estimate, rel=1e-12)
    with pytest.raises(InputError, match="refit must be"):
        meta.trimfill(fit, refit="t")


# --------------------------------------------------------------------------- Q-profile CI

CI_CASES = [key for key in CI if key not in ("description", "generated_by", "search_cap")]


@pytest.mark.parametrize("case", CI_CASES)
def test_q_profile_bounds_are_the_true_roots(case):
    ref = CI[case]
    fit = meta.rma(ref["data"]["yi"], ref["data"]["vi"], method=ref["method"])
    ci = meta.tau2_ci(fit)
    tight, default = ref["tight"], ref["default"]
    assert (ci.tau2_lb, ci.tau2_ub) == pytest.approx(tuple(tight["tau2"][1:]), rel=1e-9)
    assert (ci.I2_lb, ci.I2_ub) == pytest.approx(tuple(tight["I2"][1:]), rel=1e-9)
    # metafor's default bounds are off the roots by less than its uniroot tolerance
    assert abs(default["tau2"][1] - ci.tau2_lb) < meta.METAFOR_TOL
    assert abs(default["tau2"][2] - ci.tau2_ub) < meta.METAFOR_TOL


def test_molloy2014_lower_bound_is_the_root_not_metafors_value():
    ref = CI["molloy2014"]
    ci = meta.tau2_ci(meta.rma(ref["data"]["yi"], ref["data"]["vi"]))
    assert round(ci.tau2_lb, 7) == 0.0016952  # the root; metafor prints 0.0017010
    assert round(ref["default"]["tau2"][1], 7) == 0.0017010


def test_q_profile_upper_bound_is_not_capped_at_ten_tau2():
    ref = CI["search_cap"]
    ci = meta.tau2_ci(meta.rma(ref["data"]["yi"], ref["data"]["vi"], method="DL"))
    assert ref["default"]["tau2"][2] == pytest.approx(10 * ref["tau2"])  # metafor's cap
    assert ci.tau2_ub == pytest.approx(ref["tight_uncapped"]["tau2"][2], rel=1e-9)


# --------------------------------------------------------------------------- root precision

PREC_CASES = [(name, method) for name in PREC if name not in ("description", "generated_by")
              for method in ("PM", "REML")]


@pytest.mark.parametrize(("name", "method"), PREC_CASES)
def test_pm_is_the_exact_root_and_reml_follows_metafors_default_except_at_zero(name, method):
    d, ref = PREC[name]["data"], PREC[name][method]
    fit = meta.rma(d["yi"], d["vi"], method=method)
    at_boundary = ref["tight"]["tau2"] < 1e-10
    if method == "PM" or at_boundary:  # the exact answer (metafor with tol, threshold 1e-12)
        expected = 0.0 if at_boundary else ref["tight"]["tau2"]
        assert fit.tau2 == pytest.approx(expected, rel=1e-9, abs=0)
        assert fit.estimate == pytest.approx(ref["tight"]["estimate"], rel=1e-6)
    else:  # interior REML: metafor's own Fisher scoring and threshold
        assert fit.tau2 == pytest.approx(ref["default"]["tau2"], rel=1e-9)
        assert fit.estimate == pytest.approx(ref["default"]["estimate"], rel=1e-9)
    # the documented size of the difference: below metafor's tolerance (PM) or threshold (REML)
    gap = abs(ref["default"]["tau2"] - ref["tight"]["tau2"])
    assert gap < (meta.METAFOR_TOL if method == "PM" else meta.REML_THRESHOLD)


def test_reml_boundary_is_exactly_zero_where_metafor_stops_at_5e_6():
    d, ref = PREC["reml_boundary"]["data"], PREC["reml_boundary"]["REML"]
    assert meta.rma(d["yi"], d["vi"], method="REML").tau2 == 0.0
    assert 1e-6 < ref["default"]["tau2"] < meta.REML_THRESHOLD


# --------------------------------------------------------------------------- level

@pytest.mark.parametrize("test", ["z", "knha"])
def test_level_90(test):
    ref = LEVEL[f"REML_{test}"]
    fit = bcg_fit("REML", test, level=0.90)
    for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        assert getattr(fit, key) == pytest.approx(ref[key], rel=REL), key
    ci = meta.tau2_ci(fit, level=0.90)
    assert (ci.tau2_lb, ci.tau2_ub) == pytest.approx(tuple(LEVEL["confint_REML"]["tau2"][1:]),
                                                     abs=meta.METAFOR_TOL)


# --------------------------------------------------------------------------- hostile numbers

@pytest.mark.parametrize(("yi", "vi", "match"), [
    ([1e308, -1e308, 1e308], [1.0, 1.0, 1.0], "not finite"),
    ([0.1, 0.2, 0.3], [1e-320, 0.1, 0.1], "too small for its weight"),
    ([0.1, 0.2, 1e300], [1e-300, 1e-300, 1.0], "not finite"),
])
@pytest.mark.parametrize("method", ["EE", "DL", "REML", "PM"])
def test_overflowing_inputs_are_refused(yi, vi, match, method):
    with pytest.raises(InputError, match=match):
        meta.rma(yi, vi, method=method)


# Inputs a randomised property run found on a CI machine and here: before the fix the first
# spun forever (a -inf Fisher step halved without end), the others escaped as LinAlgError,
# ValueError (NaN at tau^2 = 0 inside Brent) and RuntimeError (Brent without convergence).
@pytest.mark.parametrize(("yi", "vi", "method"), [
    ([0.0, 0.0, 1.15e111], [1.0, 1.6933272785171634e308, 1.0], "REML"),
    ([0.0, 0.0, 2.0], [1.0, 1.1125369292536007e-308, 1.1125369292536007e-308], "REML"),
    ([0.0, 0.5, 2.0], [1.0, 1.1125369292536007e-308, 1.1125369292536007e-308], "PM"),
    ([5.960673822349678e38] * 3, [1.4826, 1.4826, 1.4826], "REML"),
])
def test_degenerate_inputs_found_by_property_runs_are_refused_not_hung(yi, vi, method):
    with pytest.raises(InputError):
        meta.rma(yi, vi, method=method)


def test_meta_regression_where_round_off_leaves_no_residual_information_is_refused():
    # found by a property run: tr(P) = 0 divided a DL moment estimate (ZeroDivisionError)
    with pytest.raises(InputError, match="tr\\(P\\)"):
        meta.rma_mods([-1.1e-224, 0.0, 0.0, 0.0],
                      [1.0, 9007199254740992.0, 3002399751580331.0, 1.0],
                      {"x": [0.0, 0.0, 0.0, 1.0]}, method="DL")
    # and tr(PP) = 0 divided the REML Fisher step
    with pytest.raises(InputError, match="REML"):
        meta.rma_mods([0.0, 0.0, 4.0, 0.0], [102927852.0, 1423491490277840.0, 1.0, 1.0],
                      {"x": [0.0, 1.0, 0.0, 1.0]}, method="REML")


extreme = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(extreme, extreme.filter(lambda x: x > 0)), min_size=3, max_size=6),
       st.sampled_from(["EE", "DL", "REML", "PM"]), st.sampled_from(["z", "knha"]))
def test_any_finite_input_gives_finite_numbers_or_a_clear_error(rows, method, test):
    y, v = zip(*rows, strict=True)
    try:
        fit = meta.rma(y, v, method=method, test=test)
    except InputError:
        return
    summary = fit.summary()
    for key in ("estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "Q", "I2", "H2"):
        assert summary[key] is not None and np.isfinite(summary[key]), key


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(extreme, extreme.filter(lambda x: x > 0), extreme), min_size=4,
                max_size=7),
       st.sampled_from(["EE", "DL", "REML", "PM"]), st.sampled_from(["z", "knha"]))
def test_meta_regression_gives_finite_numbers_or_a_clear_error(rows, method, test):
    y, v, x = zip(*rows, strict=True)
    try:
        fit = meta.rma_mods(y, v, {"x": x}, method=method, test=test)
    except InputError:
        return
    for c in fit.coefficients:
        assert np.isfinite([c.estimate, c.se, c.ci_lb, c.ci_ub]).all()
    assert np.isfinite([fit.QM, fit.QE, fit.tau2, fit.I2, fit.H2]).all()


def test_loops_keep_memory_bounded():
    # k = 4000: a k x k boolean mask alone would take 16 MB
    rng = np.random.default_rng(1)
    k = 4000
    fit = meta.rma(rng.normal(size=k), rng.uniform(0.1, 1, size=k), "EE")
    tracemalloc.start()
    try:
        meta.leave1out(fit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"leave1out peaked at {peak / 1e6:.1f} MB for k = {k}"
