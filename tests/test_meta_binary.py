"""Mantel-Haenszel and Peto pooling against metafor's rma.mh and rma.peto (fixtures generated
by tests/fixtures/metafor/generate.R): dat.bcg, dat.nielweise2007 (one double-zero trial) and a
sparse set in which four of five trials have no events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mscfm import meta
from mscfm.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"
MH = json.loads((FIXTURES / "mh_peto.json").read_text(encoding="utf-8"))
SETS = ("bcg", "nielweise2007", "sparse")
KEYS = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "Q", "Q_p", "I2", "H2")


def counts(name: str) -> dict:
    d = MH[name]["data"]
    keys = ("ai", "bi", "ci", "di") if "bi" in d else ("ai", "n1i", "ci", "n2i")
    return {key: d[key] for key in keys} | {"labels": d["study"]}


def check(result: meta.BinaryPoolResult, ref: dict) -> None:
    assert result.k == ref["k"] and result.k_yi == ref["k_yi"]
    for key in KEYS:
        assert getattr(result, key) == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize("drop00", [True, False])
def test_mantel_haenszel_matches_rma_mh(name, measure, drop00):
    ref = MH[name][f"mh_{measure}" + ("" if drop00 else "_keep00")]
    result = meta.rma_mh(**counts(name), measure=measure, drop00=drop00)
    check(result, ref)
    assert result.method == "MH" and result.measure == measure
    if measure == "OR":
        assert result.cmh == pytest.approx(ref["MH"], rel=1e-9)
        assert result.cmh_p == pytest.approx(ref["MHp"], rel=1e-9)
        assert result.tarone == pytest.approx(ref["TA"], rel=1e-9, abs=1e-12)
        if "TAp" in ref:
            assert result.tarone_p == pytest.approx(ref["TAp"], rel=1e-9)
        else:  # one informative table: metafor gives NA
            assert result.tarone_p is None


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("drop00", [True, False])
def test_peto_matches_rma_peto(name, drop00):
    ref = MH[name]["peto" + ("" if drop00 else "_keep00")]
    result = meta.rma_peto(**counts(name), drop00=drop00)
    check(result, ref)
    assert result.method == "PETO" and result.measure == "OR"


@pytest.mark.parametrize("name", SETS)
def test_level_90(name):
    check(meta.rma_mh(**counts(name), measure="OR", level=0.90), MH[name]["mh_OR_level90"])


def test_bcg_mh_rr_and_peto_or_as_printed_by_metafor():
    # metafor's test_misc_confint.r: MH RR 0.6353 [0.5881, 0.6862]; Peto OR 0.6222 [0.5746,
    # 0.6738] (transcribed, independent of the generated fixture)
    rr = meta.rma_mh(**counts("bcg"), measure="RR").back_transformed()
    assert [rr[k] for k in ("estimate", "ci_lb", "ci_ub")] == pytest.approx(
        [0.6353, 0.5881, 0.6862], abs=5e-5)
    peto = meta.rma_peto(**counts("bcg")).back_transformed()
    assert [peto[k] for k in ("estimate", "ci_lb", "ci_ub")] == pytest.approx(
        [0.6222, 0.5746, 0.6738], abs=5e-5)


def test_double_zero_trials_count_in_the_rd_denominator_but_not_in_the_or():
    with_zeros = meta.rma_mh(ai=[5, 0, 0], n1i=[50, 40, 40], ci=[2, 0, 0], n2i=[50, 40, 40],
                             measure="RD")
    alone = meta.rma_mh(ai=[5], n1i=[50], ci=[2], n2i=[50], measure="RD")
    assert with_zeros.estimate == pytest.approx(alone.estimate * 25 / 65)
    or_zeros = meta.rma_mh(ai=[5, 0, 0], n1i=[50, 40, 40], ci=[2, 0, 0], n2i=[50, 40, 40])
    or_alone = meta.rma_mh(ai=[5], n1i=[50], ci=[2], n2i=[50])
    assert or_zeros.estimate == pytest.approx(or_alone.estimate, rel=1e-14)
    assert or_zeros.k == 3 and or_zeros.k_yi == 1


@pytest.mark.parametrize(("call", "match"), [
    (lambda: meta.rma_mh(ai=[0, 0], n1i=[10, 10], ci=[2, 3], n2i=[10, 10]),
     "odds ratio is undefined"),
    (lambda: meta.rma_mh(ai=[0, 0], n1i=[10, 10], ci=[2, 3], n2i=[10, 10], measure="RR"),
     "risk ratio is undefined"),
    (lambda: meta.rma_peto(ai=[0, 0], n1i=[10, 10], ci=[0, 0], n2i=[10, 10]),
     "never occurred"),
    (lambda: meta.rma_mh(ai=[1], n1i=[10], ci=[1], n2i=[10], measure="SMD"), "OR, RR or RD"),
    (lambda: meta.rma_mh(ai=[11], n1i=[10], ci=[1], n2i=[10]), r"row 1, column 'ai'"),
])
def test_clear_errors(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_summary_is_json_safe_and_has_no_nan():
    result = meta.rma_mh(**counts("sparse"), measure="OR")
    text = json.dumps(result.summary())
    assert "NaN" not in text and json.loads(text)["tarone_p"] is None
    assert np.isfinite(result.estimate)


def test_statsmodels_stratified_table_second_opinion():
    from statsmodels.stats.contingency_tables import StratifiedTable
    d = MH["nielweise2007"]["data"]
    a, c = np.array(d["ai"]), np.array(d["ci"])
    cube = np.array([[a, np.array(d["n1i"]) - a], [c, np.array(d["n2i"]) - c]], dtype=float)
    theirs = StratifiedTable(cube)
    ours = meta.rma_mh(**counts("nielweise2007"), measure="OR")
    assert ours.estimate == pytest.approx(np.log(theirs.oddsratio_pooled), rel=1e-12)
    assert ours.se == pytest.approx(theirs.logodds_pooled_se, rel=1e-12)
    rr = meta.rma_mh(**counts("nielweise2007"), measure="RR")
    assert rr.estimate == pytest.approx(np.log(theirs.riskratio_pooled), rel=1e-12)
