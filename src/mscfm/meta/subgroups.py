"""Subgroup analysis and the test for subgroup differences, two ways.

- ``tau2_mode="common"`` (default, metafor's ``rma(yi, vi, mods = ~ factor(g))``): one model
  with a tau^2 shared by all subgroups; the test is that model's QM test of the group dummies
  (chi^2 with G - 1 df, or F with (G - 1, k - G) df under Knapp-Hartung). The subgroup
  estimates are those of ``mods = ~ factor(g) - 1``.
- ``tau2_mode="separate"`` (Cochrane/RevMan): each subgroup its own model and tau^2; the test
  is the heterogeneity Q of the subgroup estimates weighted by 1/se^2, chi^2 with G - 1 df.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from mscfm.errors import InputError
from mscfm.meta._core import EXACT_TOL, _ToDict, check_options, inputs, intercept, jsonable, wls
from mscfm.meta.model import MetaResult, fit
from mscfm.meta.regression import INTERCEPT, fit_design

TAU2_MODES = ("common", "separate")


@dataclass(frozen=True, eq=False)
class SubgroupResult(_ToDict):
    """Models per subgroup (in order of first appearance) and the test for differences."""

    groups: dict[str, MetaResult]
    Q_between: float  # chi^2 statistic, or F (common tau^2 with Knapp-Hartung)
    df: int
    p: float
    tau2_mode: str = "separate"
    df2: int | None = None  # denominator df of the F test
    tau2: float | None = None  # the common tau^2 (common mode)

    @property
    def statistic(self) -> str:
        return "F" if self.df2 is not None else "chi2"

    def to_dict(self) -> dict[str, Any]:
        return {"groups": {name: r.summary() for name, r in self.groups.items()},
                "Q_between": jsonable(self.Q_between), "df": self.df, "df2": self.df2,
                "p": jsonable(self.p), "statistic": self.statistic,
                "tau2_mode": self.tau2_mode, "tau2": jsonable(self.tau2)}


def subgroups(yi: ArrayLike, vi: ArrayLike, groups: Sequence[Any], method: str = "REML",
              test: str = "z", level: float = 0.95, labels: Sequence[str] | None = None,
              measure: str = "GEN", tol: float = EXACT_TOL, tau2_mode: str = "common"
              ) -> SubgroupResult:
    """A model per subgroup and the test for subgroup differences (see the module docstring
    for the two ``tau2_mode`` values)."""
    y, v = inputs(yi, vi)
    method, test = check_options(method, test, level)
    if tau2_mode not in TAU2_MODES:
        raise InputError(f"tau2_mode must be 'common' or 'separate', got {tau2_mode!r}")
    g = [str(x) for x in groups]
    if len(g) != y.size:
        raise InputError(f"groups has {len(g)} values for {y.size} studies")
    names = tuple(f"Study {i + 1}" for i in range(y.size)) if labels is None else tuple(labels)
    order = list(dict.fromkeys(g))
    if len(order) < 2:
        raise InputError("subgroup analysis needs at least 2 subgroups")
    masks = {name: np.array([x == name for x in g]) for name in order}
    if tau2_mode == "common":
        return _common(y, v, masks, names, method, test, level, measure, tol)
    fits = {name: fit(y[sel], v[sel], method, test if sel.sum() > 1 else "z", level,
                      [names[i] for i in np.flatnonzero(sel)], measure, tol)
            for name, sel in masks.items()}
    est = np.array([r.estimate for r in fits.values()])
    var = np.array([r.se**2 for r in fits.values()])
    q_between = wls(est, var, intercept(est.size), 0.0).rss
    df = est.size - 1
    return SubgroupResult(fits, float(q_between), df, float(stats.chi2.sf(q_between, df)),
                          "separate")


def _common(y: np.ndarray, v: np.ndarray, masks: dict[str, np.ndarray],
            names: tuple[str, ...], method: str, test: str, level: float, measure: str,
            tol: float) -> SubgroupResult:
    levels = sorted(masks)
    if y.size <= len(levels):
        raise InputError(f"a common-tau^2 subgroup model with {len(levels)} subgroups needs "
                         f"more than {len(levels)} studies, got k = {y.size}")
    dummies = np.column_stack([np.ones(y.size)] + [masks[name] for name in levels[1:]])
    model = fit_design(y, v, dummies.astype(float), (INTERCEPT, *levels[1:]), method, test,
                       level, tol=tol, with_r2=False)
    cells = fit_design(y, v, np.column_stack([masks[name] for name in levels]).astype(float),
                       tuple(levels), method, test, level, tol=tol, tau2_fixed=model.tau2,
                       with_r2=False)
    tail = 1 - (1 - level) / 2
    crit = float(special.stdtrit(cells.df, tail)) if cells.df else float(special.ndtri(tail))
    fits = {}
    for name, sel in masks.items():
        own = fit(y[sel], v[sel], method, "z", level, [names[i] for i in np.flatnonzero(sel)],
                  measure, tol, tau2_fixed=model.tau2)
        c = cells.coefficient(name)
        half = crit * np.sqrt(c.se**2 + model.tau2)
        fits[name] = dataclasses.replace(
            own, test=test, estimate=c.estimate, se=c.se, stat=c.stat, pval=c.p,
            df=float(cells.df) if cells.df else None, ci_lb=c.ci_lb, ci_ub=c.ci_ub,
            pi_lb=float(c.estimate - half), pi_ub=float(c.estimate + half))
    return SubgroupResult(fits, model.QM, model.QM_df, model.QM_p, "common", model.QM_df2,
                          model.tau2)


__all__ = ["TAU2_MODES", "SubgroupResult", "subgroups"]
