"""Meta-regression and subgroup tests against metafor (fixtures from
tests/fixtures/metafor/generate.R): dat.bcg log RR with ~ablat+year, ~alloc and ~ablat+alloc,
every estimator with z and Knapp-Hartung; subgroups by allocation with a common or separate
tau^2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mscfm import meta
from mscfm.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"
REG = json.loads((FIXTURES / "metareg.json").read_text(encoding="utf-8"))
SUB = json.loads((FIXTURES / "subgroups.json").read_text(encoding="utf-8"))
DATA = REG["data"]
MODS = {"ablat_year": ("ablat", "year"), "alloc": ("alloc",), "ablat_alloc": ("ablat", "alloc")}
FITS = [(mods, key) for mods in MODS for key in REG[mods]]
REL = 1e-8


def fit(mods: str, key: str) -> meta.MetaRegression:
    method, test = key.split("_")
    return meta.rma_mods(DATA["yi"], DATA["vi"], {name: DATA[name] for name in MODS[mods]},
                         method=method, test=test, labels=DATA["study"], measure="RR")


@pytest.mark.parametrize(("mods", "key"), FITS)
def test_meta_regression_matches_metafor(mods, key):
    ref, res = REG[mods][key], fit(mods, key)
    assert res.names == tuple(ref["names"])  # intrcpt, ablat, allocrandom, allocsystematic
    for column in ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub"):
        got = [getattr(c, "p" if column == "pval" else column) for c in res.coefficients]
        np.testing.assert_allclose(got, ref[column], rtol=REL, atol=1e-12, err_msg=column)
    for ours, theirs in (("tau2", "tau2"), ("I2", "I2"), ("H2", "H2"), ("QE", "QE"),
                         ("QE_p", "QEp"), ("QM", "QM"), ("QM_p", "QMp"), ("R2", "R2"),
                         ("se_tau2", "se_tau2")):
        expected = ref.get(theirs)
        if expected is None:
            assert getattr(res, ours) is None, ours
        else:
            assert getattr(res, ours) == pytest.approx(expected, rel=REL, abs=1e-10), ours
    assert res.QM_df == ref["QMdf"][0]
    assert res.QM_df2 == (ref["QMdf"][1] if key.endswith("knha") else None)
    assert res.df == ref["df"]


def test_bcg_ablat_year_reml_as_printed_in_metafors_documentation():
    # rma.uni.html (transcribed): tau^2 0.1108, I^2 71.98%, R^2 64.63%, QM(2) = 12.2043,
    # ablat -0.0280 (SE 0.0102)
    res = fit("ablat_year", "REML_z")
    assert (res.tau2, res.I2, res.R2, res.QM) == pytest.approx((0.1108, 71.98, 64.63, 12.2043),
                                                               abs=5e-3)
    assert res.coefficient("ablat").estimate == pytest.approx(-0.0280, abs=5e-5)
    assert res.coefficient("ablat").se == pytest.approx(0.0102, abs=5e-5)


def test_factor_levels_are_sorted_and_the_first_is_the_reference():
    X, names = meta.design_matrix({"setting": ["indiv", "group", "indiv", "group"],
                                   "dose": ["1", "2", "3", "4.5"]}, 4)
    assert names == ("intrcpt", "settingindiv", "dose")
    np.testing.assert_array_equal(X[:, 1], [1, 0, 1, 0])
    np.testing.assert_array_equal(X[:, 2], [1, 2, 3, 4.5])


@pytest.mark.parametrize(("mods", "match"), [
    ({"g": ["a", "a", "a", "a", "a"]}, "single level"),
    ({"x": [1, 2, None, 4, 5]}, r"moderator 'x', study 3: missing"),
    ({"x": [1, 2, 3]}, "3 values for 5 studies"),
    ({"x": [1, 2, 3, 4, 5], "y": [2, 4, 6, 8, 10]}, "collinear"),
    ({"g": ["a", "b", "c", "d", "e"]}, "needs more than 5 studies"),
])
def test_bad_moderators(mods, match):
    with pytest.raises(InputError, match=match):
        meta.rma_mods([0.1, 0.2, 0.3, 0.4, 0.5], [0.1] * 5, mods)


def test_summary_lists_coefficients_intercept_first():
    out = fit("alloc", "REML_knha").summary()
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "allocrandom",
                                                        "allocsystematic"]
    assert set(out["coefficients"][0]) == {"name", "estimate", "se", "stat", "p", "ci_lb",
                                           "ci_ub"}
    json.dumps(out)


# --------------------------------------------------------------------------- subgroups

SUB_KEYS = [key for key in SUB if key not in ("data", "description", "generated_by")]


@pytest.mark.parametrize("key", SUB_KEYS)
def test_common_tau2_subgroups_are_metafors_factor_model(key):
    method, test = key.split("_")
    ref = SUB[key]["common"]
    sg = meta.subgroups(DATA["yi"], DATA["vi"], DATA["alloc"], method=method, test=test)
    assert sg.tau2_mode == "common"
    assert sg.Q_between == pytest.approx(ref["Q_between"], rel=REL)
    assert sg.p == pytest.approx(ref["p"], rel=REL)
    assert sg.tau2 == pytest.approx(ref["tau2"], rel=REL, abs=1e-12)
    assert sg.df == ref["df"][0]
    assert sg.df2 == (ref["df"][1] if test == "knha" else None)
    for name, est, se, lb, ub in zip(ref["groups"], ref["estimate"], ref["se"], ref["ci_lb"],
                                     ref["ci_ub"], strict=True):
        g = sg.groups[name]
        assert (g.estimate, g.se, g.ci_lb, g.ci_ub) == pytest.approx((est, se, lb, ub),
                                                                     rel=REL), name
        assert g.tau2 == sg.tau2


@pytest.mark.parametrize("key", SUB_KEYS)
def test_separate_tau2_subgroups_are_one_model_per_group_and_a_wald_test(key):
    method, test = key.split("_")
    ref = SUB[key]["separate"]
    sg = meta.subgroups(DATA["yi"], DATA["vi"], DATA["alloc"], method=method, test=test,
                        tau2_mode="separate")
    assert sg.Q_between == pytest.approx(ref["Q_between"], rel=REL)
    assert sg.p == pytest.approx(ref["p"], rel=REL)
    assert sg.df == ref["df"] and sg.df2 is None and sg.tau2 is None
    for name, est, se, tau2 in zip(ref["groups"], ref["estimate"], ref["se"], ref["tau2"],
                                   strict=True):
        g = sg.groups[name]
        assert (g.estimate, g.se, g.tau2) == pytest.approx((est, se, tau2), rel=REL,
                                                           abs=1e-12), name


def test_subgroup_output_says_which_mode_ran():
    common = meta.subgroups(DATA["yi"], DATA["vi"], DATA["alloc"]).to_dict()
    assert common["tau2_mode"] == "common" and common["statistic"] == "chi2"
    knha = meta.subgroups(DATA["yi"], DATA["vi"], DATA["alloc"], test="knha").to_dict()
    assert knha["statistic"] == "F" and knha["df2"] == 10
    with pytest.raises(InputError, match="tau2_mode must be"):
        meta.subgroups(DATA["yi"], DATA["vi"], DATA["alloc"], tau2_mode="pooled")
