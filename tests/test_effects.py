"""Effect sizes against metafor's escalc output (fixtures in tests/fixtures/metafor)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from mscfm import effects
from mscfm.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


BCG = load("bcg")
NORMAND = load("normand1999")
CHEN = load("chen_peace")


def bcg_rr() -> effects.EffectSizes:
    d = BCG["data"]
    return effects.escalc("RR", ai=d["tpos"], bi=d["tneg"], ci=d["cpos"], di=d["cneg"])


def test_bcg_log_rr_matches_escalc_printout():
    es = bcg_rr()
    ref = BCG["escalc_rr"]
    np.testing.assert_allclose(es.yi, ref["yi"], atol=ref["abs_tol"], rtol=0)
    np.testing.assert_allclose(es.vi, ref["vi"], atol=ref["abs_tol"], rtol=0)
    full = BCG["escalc_rr_row1_full"]
    assert es.yi[0] == pytest.approx(full["yi"], abs=full["abs_tol"])
    assert es.vi[0] == pytest.approx(full["vi"], abs=full["abs_tol"])


def test_events_and_totals_give_the_same_table():
    d = BCG["data"]
    n1 = np.add(d["tpos"], d["tneg"])
    n2 = np.add(d["cpos"], d["cneg"])
    es = effects.escalc("RR", ai=d["tpos"], n1i=n1, ci=d["cpos"], n2i=n2)
    np.testing.assert_allclose(es.yi, bcg_rr().yi, rtol=1e-13)


def test_normand_smd_rows_1_to_4():
    d, ref = NORMAND["data"], NORMAND["smd_rows_1_4"]
    cols = {key: d[key][:4] for key in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    es = effects.escalc("SMD", **cols)
    np.testing.assert_allclose(es.yi, ref["yi"], atol=ref["abs_tol"], rtol=0)
    np.testing.assert_allclose(es.vi, ref["vi"], atol=ref["abs_tol"], rtol=0)


def test_chen_peace_smd_full_precision():
    d = CHEN["data"]
    args = [d[key] for key in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")]
    np.testing.assert_allclose(effects.smd(*args).yi, CHEN["yi"], rtol=CHEN["rel_tol"])
    np.testing.assert_allclose(effects.smd(*args, vtype="UB").vi, CHEN["vi_UB"],
                               rtol=CHEN["vi_UB_rel_tol"])


def test_hedges_j_is_the_exact_gamma_ratio_and_close_to_the_approximation():
    m = np.array([2.0, 10.0, 100.0])
    exact = special.gamma(m / 2) / (np.sqrt(m / 2) * special.gamma((m - 1) / 2))
    np.testing.assert_allclose(effects.hedges_j(m), exact, rtol=1e-12)
    approx = 1 - 3 / (4 * m - 1)
    assert np.all(np.abs(effects.hedges_j(m[1:]) - approx[1:]) < 1e-3)


def test_md_variance_types():
    es_ls = effects.md([10], [2], [20], [8], [4], [40])
    assert es_ls.yi[0] == 2
    assert es_ls.vi[0] == pytest.approx(4 / 20 + 16 / 40)
    es_ho = effects.md([10], [2], [20], [8], [4], [40], vtype="HO")
    sp2 = (19 * 4 + 39 * 16) / 58
    assert es_ho.vi[0] == pytest.approx(sp2 * (1 / 20 + 1 / 40))


def test_zero_cell_gets_half_added_to_all_four_cells_only_in_that_study():
    es = effects.escalc("OR", ai=[0, 5], bi=[10, 5], ci=[3, 2], di=[7, 8])
    assert es.yi[0] == pytest.approx(np.log(0.5 * 7.5 / (10.5 * 3.5)))
    assert es.vi[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
    assert es.yi[1] == pytest.approx(np.log(5 * 8 / (5 * 2)))  # untouched


def test_double_zero_studies_are_kept_by_default_as_in_metafor_and_dropped_on_request():
    kwargs = dict(ai=[0, 4, 3], n1i=[20, 20, 3], ci=[0, 6, 3], n2i=[25, 20, 3],
                  labels=["none", "some", "all"])
    rr = effects.escalc("RR", **kwargs)
    assert rr.k == 3 and rr.dropped == ()
    # 1/2 added to all four cells of a study with a zero cell: (0.5/21) / (0.5/26)
    assert rr.yi[0] == pytest.approx(np.log(26 / 21))
    dropped = effects.escalc("RR", **kwargs, drop00=True)
    assert dropped.labels == ("some",)
    assert dropped.dropped == ("none", "all")
    assert dropped.kept_rows == (1,)
    rd = effects.escalc("RD", **kwargs)
    assert rd.k == 3
    assert rd.yi[0] == pytest.approx(0.5 / 21 - 0.5 / 26)
    assert effects.escalc("RD", **kwargs, drop00=True).k == 1  # as escalc(drop00=TRUE)


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize("drop00", [False, True])
def test_nielweise_double_zero_against_metafor(measure, drop00):
    ref = load("escalc_drop00")
    d = ref["data"]
    expected = ref[f"{measure}_{'drop00' if drop00 else 'default'}"]
    es = effects.escalc(measure, ai=d["ai"], n1i=d["n1i"], ci=d["ci"], n2i=d["n2i"],
                        labels=d["study"], drop00=drop00)
    kept = [i for i, y in enumerate(expected["yi"]) if y is not None]
    assert list(es.kept_rows) == kept
    np.testing.assert_allclose(es.yi, [expected["yi"][i] for i in kept], rtol=1e-12)
    np.testing.assert_allclose(es.vi, [expected["vi"][i] for i in kept], rtol=1e-12)


def test_rd_large_sample_variance():
    es = effects.escalc("RD", ai=[10], n1i=[50], ci=[5], n2i=[40])
    p1, p2 = 0.2, 0.125
    assert es.yi[0] == pytest.approx(p1 - p2)
    assert es.vi[0] == pytest.approx(p1 * (1 - p1) / 50 + p2 * (1 - p2) / 40)


def test_sd_from_se_and_ci():
    assert effects.sd_from_se(2.0, 25) == pytest.approx(10.0)
    # a 95% z-interval of half-width 1.96 * 10 / sqrt(100) gives SD 10
    half = 1.959963984540054
    assert effects.sd_from_ci(-half, half, 100, dist="z") == pytest.approx(10.0)
    from scipy import stats
    t = stats.t.ppf(0.975, 24)
    assert effects.sd_from_ci(5 - t * 2, 5 + t * 2, 25, dist="t") == pytest.approx(10.0)


def test_from_ci_recovers_the_variance_and_logs_ratios():
    es = effects.from_ci(0.5, 0.5 - 1.959963984540054 * 0.2, 0.5 + 1.959963984540054 * 0.2)
    assert es.vi[0] == pytest.approx(0.04)
    es = effects.from_ci(2.0, 1.0, 4.0, log=True)
    assert es.yi[0] == pytest.approx(np.log(2.0))
    assert es.vi[0] == pytest.approx((np.log(4.0) / (2 * 1.959963984540054)) ** 2)


def test_smd_from_md_ci_matches_smd_from_means():
    from scipy import stats
    n1, n2, sd = 30, 34, 8.0
    se = sd * np.sqrt(1 / n1 + 1 / n2)
    t = stats.t.ppf(0.975, n1 + n2 - 2)
    via_ci = effects.smd_from_md_ci(5.0, 5 - t * se, 5 + t * se, n1, n2)
    via_means = effects.smd([15.0], [sd], [n1], [10.0], [sd], [n2])
    assert via_ci.yi[0] == pytest.approx(via_means.yi[0], rel=1e-10)
    assert via_ci.vi[0] == pytest.approx(via_means.vi[0], rel=1e-10)


@pytest.mark.parametrize(("measure", "columns", "match"), [
    ("GEN", {"yi": [0.1, 0.2], "vi": [0.1, -0.2]}, r"row 2, column 'vi'.*positive"),
    ("SMD", {"m1i": [1, 2], "sd1i": [1, 0], "n1i": [10, 10], "m2i": [1, 1], "sd2i": [1, 1],
             "n2i": [10, 10]}, r"row 2, column 'sd1i'.*> 0"),
    ("RR", {"ai": [12, 3], "n1i": [10, 10], "ci": [1, 1], "n2i": [10, 10]},
     r"row 1, column 'ai'.*events <= n1i"),
    ("OR", {"ai": [1, 3], "bi": [5, -1], "ci": [1, 1], "di": [3, 3]}, r"row 2, column 'bi'"),
    ("MD", {"m1i": [1], "sd1i": [1], "n1i": [10], "m2i": [1], "sd2i": [1]},
     r"missing column 'n2i'"),
    ("GEN", {"yi": [0.1, "abc"], "vi": [0.1, 0.1]}, r"row 2, column 'yi'.*number"),
    ("GEN", {"yi": ["0.1", "1_000"], "vi": ["0.1", "0.1"]}, r"row 2, column 'yi'.*'1_000'"),
    ("GEN", {"yi": ["0.1", "0.2"], "vi": ["0.1", "inf"]}, r"row 2, column 'vi'.*'inf'"),
    ("GEN", {"yi": ["nan", "0.2"], "vi": ["0.1", "0.1"]}, r"row 1, column 'yi'.*'nan'"),
])
def test_bad_input_names_row_and_column(measure, columns, match):
    with pytest.raises(InputError, match=match):
        effects.escalc(measure, **columns)


def test_error_rows_follow_the_callers_numbering():
    with pytest.raises(InputError, match=r"^data.csv: row 3, column 'vi'"):
        effects.escalc("GEN", yi=[0.1, 0.2], vi=[0.1, 0.0], source="data.csv", first_row=2)
