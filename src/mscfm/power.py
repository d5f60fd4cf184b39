"""Sample size for a two-arm, parallel, placebo-controlled FM trial on the FIQR total score.

The difference to detect defaults to the minimal clinically important difference recorded in
``data/instruments.csv``; the SD defaults to the SD of the 12-week change in the FIQ recovered
from the 95% CIs of both arms of a sourced FM trial (Wang 2010, row ids ``fiq_chg12_*``). The
calculation is statsmodels' two-sample t test power (``TTestIndPower``), two-sided, 1:1; the
number enrolled is inflated for dropout as ``ceil(n / (1 - dropout))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from mscfm import effects

MCID_QUANTITY = "mcid_points"
FIQ_INSTRUMENTS = ("FIQR", "FIQ")
SD_SOURCE_WEEK = 12  # primary endpoint of the source trial
SD_SOURCE_ARMS = ("taichi", "control")


@dataclass(frozen=True)
class Sourced:
    """A default value with where it came from (instrument rows)."""

    value: float
    source: str  # references.bib key
    row_ids: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class SampleSize:
    difference: float
    sd: float
    effect_size: float  # Cohen's d = difference / sd
    power: float
    alpha: float
    dropout: float
    n_analysed: int  # per arm, rounded up
    n_enrolled: int  # per arm, after dropout inflation

    @property
    def total_enrolled(self) -> int:
        return 2 * self.n_enrolled


# --------------------------------------------------------------------------- sourced defaults

def default_mcid(instruments: pd.DataFrame) -> Sourced:
    """The FIQR/FIQ MCID in points (first by id if several rows qualify)."""
    rows = instruments[instruments["instrument"].isin(FIQ_INSTRUMENTS)
                       & (instruments["quantity"] == MCID_QUANTITY)
                       & instruments["value"].notna()].sort_values("id")
    if rows.empty:
        raise ValueError("data/instruments.csv has no FIQ/FIQR row with quantity "
                         f"'{MCID_QUANTITY}': give the difference explicitly")
    row = rows.iloc[0]
    return Sourced(float(row["value"]), str(row["source"]), (str(row["id"]),),
                   f"{row['instrument']} MCID in points")


def _arm(instruments: pd.DataFrame, week: int, arm: str) -> tuple[float, float, float, str]:
    ids = {part: f"fiq_chg{week}_{arm}_{part}" for part in ("lb", "ub")}
    rows = instruments.set_index("id")
    missing = [i for i in ids.values() if i not in rows.index]
    if missing:
        raise ValueError(f"data/instruments.csv lacks row(s) {', '.join(missing)}: "
                         "give the SD explicitly")
    lb, ub = (rows.loc[ids[p]] for p in ("lb", "ub"))
    return float(lb["value"]), float(ub["value"]), float(lb["n"]), str(lb["source"])


def default_sd(instruments: pd.DataFrame, week: int = SD_SOURCE_WEEK) -> Sourced:
    """Pooled SD of change recovered from both arms' 95% CIs (t with n - 1 df)."""
    ns, sds, sources, row_ids = [], [], set(), []
    for arm in SD_SOURCE_ARMS:
        lb, ub, n, source = _arm(instruments, week, arm)
        sds.append(float(effects.sd_from_ci(lb, ub, n, dist="t")))
        ns.append(n)
        sources.add(source)
        row_ids += [f"fiq_chg{week}_{arm}_lb", f"fiq_chg{week}_{arm}_ub"]
    pooled = math.sqrt(sum((n - 1) * s**2 for n, s in zip(ns, sds, strict=True))
                       / (sum(ns) - 2))
    return Sourced(pooled, ", ".join(sorted(sources)), tuple(row_ids),
                   f"pooled SD of the week-{week} FIQ change, from both arms' 95% CIs")


# --------------------------------------------------------------------------- calculation

def check_parameters(difference: float, sd: float, power: float, alpha: float,
                     dropout: float) -> None:
    """ValueError naming the argument; difference and sd must be resolved (> 0) here."""
    if not difference > 0:
        raise ValueError(f"difference must be > 0 points, got {difference!r}")
    if not sd > 0:
        raise ValueError(f"sd must be > 0 points, got {sd!r}")
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, got {power!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def resolve(difference: float, sd: float, instruments: pd.DataFrame
            ) -> tuple[float, float, Sourced | None, Sourced | None]:
    """Parameter value 0 means: use the sourced default."""
    mcid = default_mcid(instruments) if difference == 0 else None
    sd_src = default_sd(instruments) if sd == 0 else None
    return (mcid.value if mcid else float(difference), sd_src.value if sd_src else float(sd),
            mcid, sd_src)


def n_per_arm_exact(effect_size: float, power: float, alpha: float) -> float:
    """Unrounded n per arm from statsmodels (two-sided two-sample t test, 1:1)."""
    return float(TTestIndPower().solve_power(effect_size=effect_size, alpha=alpha, power=power,
                                             ratio=1.0, alternative="two-sided"))


def n_per_arm_normal(effect_size: float, power: float, alpha: float) -> float:
    """Normal approximation 2 (z_{1-a/2} + z_{power})^2 / d^2 (unrounded)."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(2 * z**2 / effect_size**2)


def sample_size(difference: float, sd: float, power: float = 0.8, alpha: float = 0.05,
                dropout: float = 0.2) -> SampleSize:
    check_parameters(difference, sd, power, alpha, dropout)
    d = difference / sd
    n = math.ceil(n_per_arm_exact(d, power, alpha) - 1e-9)
    enrolled = math.ceil(n / (1 - dropout) - 1e-9)
    return SampleSize(difference, sd, d, power, alpha, dropout, n, enrolled)


def difference_grid(difference: float, sd: float) -> np.ndarray:
    """Differences to tabulate: from a quarter SD to one SD, always including ``difference``."""
    grid = np.round(np.linspace(0.25 * sd, 1.0 * sd, 7), 1)
    return np.unique(np.append(grid, round(difference, 2)))


def sample_size_table(differences: np.ndarray, sd: float, power: float = 0.8,
                      alpha: float = 0.05, dropout: float = 0.2) -> pd.DataFrame:
    """One row per difference: d, n analysed and enrolled per arm, total enrolled."""
    rows = []
    for diff in sorted(float(x) for x in differences):
        s = sample_size(diff, sd, power, alpha, dropout)
        rows.append({"difference": diff, "effect_size": s.effect_size,
                     "n_analysed": s.n_analysed, "n_enrolled": s.n_enrolled,
                     "total_enrolled": s.total_enrolled})
    return pd.DataFrame(rows)


def curve(sd: float, power: float, alpha: float, dropout: float, low: float, high: float,
          points: int = 200) -> pd.DataFrame:
    """n per arm (unrounded, analysed and enrolled) over a range of differences, for plots."""
    check_parameters(low, sd, power, alpha, dropout)
    diffs = np.linspace(low, high, points)
    n = np.array([n_per_arm_exact(x / sd, power, alpha) for x in diffs])
    return pd.DataFrame({"difference": diffs, "n_analysed": n, "n_enrolled": n / (1 - dropout)})


def plot_range(difference: float, sd: float) -> tuple[float, float]:
    """Differences to draw: from below the chosen one (at most a quarter SD) to beyond an SD."""
    return min(0.25 * sd, 0.75 * difference), max(1.2 * sd, 1.5 * difference)
