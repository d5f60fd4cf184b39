"""Sample size: statsmodels, a hand formula, sourced defaults, dropout, validation, figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from mscfm import power
from mscfm.plots.power import sample_size_plot
from mscfm.plots.style import alt_text


def instruments() -> pd.DataFrame:
    """Rows as in data/instruments.csv (Wang 2010, table 2 and table 3 footnote)."""
    rows = [("fiq_mcid_points_wang", "FIQ", "mcid_points", 8.1, None),
            ("fiq_chg12_taichi_lb", "FIQ", "change_ci_lb", -33.8, 33),
            ("fiq_chg12_taichi_ub", "FIQ", "change_ci_ub", -21.8, 33),
            ("fiq_chg12_control_lb", "FIQ", "change_ci_lb", -15.5, 33),
            ("fiq_chg12_control_ub", "FIQ", "change_ci_ub", -3.4, 33)]
    return pd.DataFrame([{"id": i, "instrument": ins, "quantity": q, "value": v, "n": n,
                          "source": "wang2010randomized"} for i, ins, q, v, n in rows])


def normal_with_guenther(d: float, power_: float, alpha: float) -> float:
    """Hand formula: 2 (z_a + z_b)^2 / d^2 plus Guenther's z_a^2 / 4 t-correction."""
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power_)
    return 2 * (za + zb) ** 2 / d**2 + za**2 / 4


@pytest.mark.parametrize("d", [0.3, 0.48, 0.6, 0.8, 1.0])
@pytest.mark.parametrize("power_", [0.8, 0.9])
def test_matches_statsmodels_and_the_hand_formula(d, power_):
    s = power.sample_size(d * 10, 10, power=power_, alpha=0.05, dropout=0)
    direct = TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=power_, ratio=1)
    assert s.n_analysed == math.ceil(direct)
    assert abs(s.n_analysed - math.ceil(normal_with_guenther(d, power_, 0.05))) <= 1
    # the plain normal approximation never asks for more than the t test
    assert power.n_per_arm_normal(d, power_, 0.05) <= power.n_per_arm_exact(d, power_, 0.05)


def test_textbook_value_half_sd():
    # d = 0.5, alpha .05, power .8: 64 per arm (Cohen's tables)
    assert power.sample_size(5, 10, 0.8, 0.05, 0).n_analysed == 64


def test_dropout_inflation():
    s = power.sample_size(5, 10, 0.8, 0.05, 0.2)
    assert s.n_enrolled == 80  # 64 / 0.8
    assert s.total_enrolled == 160


def test_sourced_defaults_by_hand():
    mcid = power.default_mcid(instruments())
    assert mcid.value == 8.1 and mcid.source == "wang2010randomized"
    sd = power.default_sd(instruments())
    t = stats.t.ppf(0.975, 32)
    s1, s2 = 12.0 / (2 * t) * math.sqrt(33), 12.1 / (2 * t) * math.sqrt(33)
    assert sd.value == pytest.approx(math.sqrt((s1**2 + s2**2) / 2))
    diff, sd_value, m, s = power.resolve(0, 0, instruments())
    assert (diff, sd_value) == (8.1, pytest.approx(sd.value))
    diff, sd_value, m, s = power.resolve(10, 20, instruments())
    assert (diff, sd_value, m, s) == (10, 20, None, None)


def test_missing_sources_and_bad_values_are_value_errors():
    with pytest.raises(ValueError, match="mcid_points"):
        power.default_mcid(instruments().iloc[1:])
    with pytest.raises(ValueError, match="fiq_chg12_control_ub"):
        power.default_sd(instruments().iloc[:-1])
    for kwargs, name in (({"difference": 0}, "difference"), ({"sd": -1}, "sd"),
                         ({"power": 1.0}, "power"), ({"alpha": 0}, "alpha"),
                         ({"dropout": 1.0}, "dropout")):
        args = {"difference": 5, "sd": 10, "power": 0.8, "alpha": 0.05, "dropout": 0.2}
        args.update(kwargs)
        with pytest.raises(ValueError, match=name):
            power.sample_size(**args)


def test_table_grid_and_figure():
    grid = power.difference_grid(8.1, 17.0)
    assert 8.1 in grid and grid.min() == pytest.approx(4.2) and grid.max() == 17.0
    table = power.sample_size_table(grid, 17.0)
    assert table["n_analysed"].is_monotonic_decreasing
    c = power.curve(17.0, 0.8, 0.05, 0.2, 4.0, 17.0)
    assert np.allclose(c["n_enrolled"], c["n_analysed"] / 0.8)
    s = power.sample_size(8.1, 17.0)
    fig = sample_size_plot(c, 8.1, s.n_analysed, s.n_enrolled)
    assert f"{s.n_enrolled} enrolled" in alt_text(fig)
    assert fig.axes[0].get_yscale() == "log"
