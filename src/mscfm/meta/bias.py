"""Small-study effects: Egger's regression test, Begg's rank test and trim-and-fill
(metafor ``regtest``, ``ranktest``, ``trimfill``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from mscfm.errors import InputError
from mscfm.meta._core import _ToDict, inputs, jsonable, tau2_of, wls
from mscfm.meta.model import MetaResult, check_result, fit
from mscfm.meta.regression import INTERCEPT, fit_design

EGGER_MODELS = ("lm", "rma")
TRIMFILL_REFITS = ("z", "model")


@dataclass(frozen=True)
class EggerResult(_ToDict):
    """Egger's regression test with predictor sei (metafor ``regtest``).

    ``model="lm"``: weighted regression of yi on sqrt(vi) with weights 1/vi and an estimated
    residual variance, t test with k - 2 df. ``model="rma"`` (metafor's default): the
    meta-regression ``rma(yi, vi, mods = ~ sei)`` with the model's estimator and test (z, or t
    with k - 2 df for Knapp-Hartung).
    """

    stat: float  # the test statistic: t for lm and knha, z for rma with test z
    p: float
    df: int | None
    limit_estimate: float  # intercept: the estimate as the standard error goes to 0
    limit_ci_lb: float
    limit_ci_ub: float
    model: str = "lm"
    method: str | None = None  # tau^2 estimator of the rma model

    @property
    def t(self) -> float:
        """The statistic under its old name (a z value for ``model="rma"`` with test z)."""
        return self.stat

    @property
    def statistic_name(self) -> str:
        return "t" if self.df is not None else "z"

    def summary(self) -> dict[str, Any]:
        return {self.statistic_name: jsonable(self.stat), "p": jsonable(self.p), "df": self.df,
                "model": self.model, "limit_estimate": jsonable(self.limit_estimate),
                "limit_ci_lb": jsonable(self.limit_ci_lb),
                "limit_ci_ub": jsonable(self.limit_ci_ub)}


def _from_result_or_arrays(yi: ArrayLike | MetaResult, vi: ArrayLike | None
                           ) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(yi, MetaResult):
        return np.asarray(yi.yi), np.asarray(yi.vi)
    if vi is None:
        raise InputError("give a MetaResult or both yi and vi")
    return inputs(yi, vi)


def egger_test(yi: ArrayLike | MetaResult, vi: ArrayLike | None = None,
               level: float = 0.95, model: str = "lm", method: str | None = None,
               test: str | None = None) -> EggerResult:
    """Egger's test. With a MetaResult, ``model="rma"`` uses its estimator and test unless
    ``method``/``test`` are given (with arrays they default to REML and z, as metafor)."""
    if model not in EGGER_MODELS:
        raise InputError(f"model must be 'lm' or 'rma', got {model!r}")
    y, v = _from_result_or_arrays(yi, vi)
    k = y.size
    if k < 3:
        raise InputError(f"Egger's test needs at least 3 studies, got k = {k}")
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    if model == "rma":
        if isinstance(yi, MetaResult):
            method, test = method or yi.method, test or yi.test
            level = yi.level
        reg = fit_design(y, v, X, (INTERCEPT, "sei"), method or "REML", test or "z", level,
                         with_r2=False)
        slope, icpt = reg.coefficients[1], reg.coefficients[0]
        return EggerResult(slope.stat, slope.p, reg.df, icpt.estimate, icpt.ci_lb,
                           icpt.ci_ub, "rma", reg.method)
    lm = wls(y, v, X, 0.0)
    df = k - 2
    sigma2 = lm.rss / df
    se = np.sqrt(np.diag(lm.cov) * sigma2)
    t = float(lm.beta[1] / se[1])
    crit = stats.t.ppf(1 - (1 - level) / 2, df)
    b0 = float(lm.beta[0])
    return EggerResult(t, float(2 * stats.t.sf(abs(t), df)), df, b0,
                       float(b0 - crit * se[0]), float(b0 + crit * se[0]), "lm")


@dataclass(frozen=True)
class RankResult(_ToDict):
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``)."""

    tau: float
    p: float
    exact: bool


def rank_test(yi: ArrayLike | MetaResult, vi: ArrayLike | None = None) -> RankResult:
    """Begg's rank test: Kendall's tau between standardised deviates from the EE estimate and
    vi. Exact p-value as R's ``cor.test(exact=TRUE)`` when there are no ties (k <= 300),
    otherwise the normal approximation with tie correction."""
    y, v = _from_result_or_arrays(yi, vi)
    if y.size < 3:
        raise InputError(f"the rank test needs at least 3 studies, got k = {y.size}")
    w = 1 / v
    theta, vb = np.dot(w, y) / w.sum(), 1 / w.sum()
    y_star = (y - theta) / np.sqrt(v - vb)
    ties = np.unique(y_star).size < y.size or np.unique(v).size < v.size
    exact = not ties and y.size <= 300
    res = stats.kendalltau(y_star, v, method="exact" if exact else "asymptotic")
    return RankResult(float(res.statistic), float(res.pvalue), exact)


# --------------------------------------------------------------------------- trim-and-fill

@dataclass(frozen=True, eq=False)
class TrimFillResult(_ToDict):
    """Trim-and-fill (L0): number and side of imputed studies and the model on filled data."""

    k0: int
    se_k0: float
    side: str
    result: MetaResult
    filled_yi: np.ndarray
    filled_vi: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"k0": self.k0, "se_k0": jsonable(self.se_k0), "side": self.side,
                "estimate": jsonable(self.result.estimate), "se": jsonable(self.result.se),
                "tau2": jsonable(self.result.tau2), "k": self.result.k,
                "test": self.result.test,
                "ci_lb": jsonable(self.result.ci_lb), "ci_ub": jsonable(self.result.ci_ub),
                "filled_yi": jsonable(self.filled_yi), "filled_vi": jsonable(self.filled_vi)}


def _side(y: np.ndarray, v: np.ndarray, method: str, tol: float) -> str:
    """metafor: regress yi on sqrt(vi) with the model's estimator; a negative slope means the
    missing studies are on the right."""
    X = np.column_stack([np.ones(y.size), np.sqrt(v)])
    tau2 = tau2_of(method, y, v, X, tol)
    return "right" if wls(y, v, X, tau2).beta[1] < 0 else "left"


def trimfill(result: MetaResult, side: str | None = None, maxiter: int = 100,
             refit: str = "z") -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill with the L0 estimator, as metafor ``trimfill``: the
    model is refitted to the filled data with the same estimator and, by default
    (``refit="z"``), the z test, as metafor does even for a Knapp-Hartung fit;
    ``refit="model"`` keeps the fit's own test. With no study imputed, the fit is returned
    unchanged."""
    if refit not in TRIMFILL_REFITS:
        raise InputError(f"refit must be 'z' or 'model', got {refit!r}")
    y, v = np.asarray(result.yi), np.asarray(result.vi)
    k = result.k
    if k < 3:
        raise InputError(f"trim-and-fill needs at least 3 studies, got k = {k}")
    if side is None:
        side = _side(y, v, result.method, result.tol)
    elif side not in ("left", "right"):
        raise InputError(f"side must be 'left' or 'right', got {side!r}")
    ys = -y if side == "right" else y.copy()
    order = np.argsort(ys, kind="stable")
    ys, vs = ys[order], v[order]
    k0, k0_prev, iteration = 0, -1, 0
    beta, se_k0 = 0.0, 0.0
    while k0 != k0_prev:
        k0_prev = k0
        iteration += 1
        if iteration > maxiter:
            raise InputError("trim-and-fill did not converge")
        trunc = fit(ys[:k - k0], vs[:k - k0], result.method, "z", result.level, None,
                    result.measure, result.tol)
        beta = trunc.estimate
        centred = ys - beta
        ranks = stats.rankdata(np.abs(centred), method="ordinal")  # R ties.method="first"
        s_r = float(ranks[centred > 0].sum())
        k0_raw = (4 * s_r - k * (k + 1)) / (2 * k - 1)
        var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0_raw**3 + 27 * k0_raw**2 + 17 * k0_raw
                  - 18 * k * k0_raw**2 - 18 * k * k0_raw + 6 * k**2 * k0_raw) / 24
        se_k0 = max(0.0, 4 * np.sqrt(max(var_sr, 0.0)) / (2 * k - 1))
        k0 = max(0, int(np.round(k0_raw)))  # numpy rounds half to even, as R does
    if k0 == 0:
        return TrimFillResult(0, float(se_k0), side, result, np.empty(0), np.empty(0))
    mirrored = 2 * beta - ys[k - k0:]
    fill_y = -mirrored if side == "right" else mirrored
    fill_v = vs[k - k0:]
    labels = result.labels + tuple(f"Filled {i + 1}" for i in range(k0))
    test = "z" if refit == "z" else result.test
    filled = fit(np.concatenate([y, fill_y]), np.concatenate([v, fill_v]), result.method,
                 test, result.level, labels, result.measure, result.tol)
    check_result(filled, "trim-and-fill")
    fy, fv = np.array(fill_y), np.array(fill_v)
    fy.flags.writeable = fv.flags.writeable = False
    return TrimFillResult(k0, float(se_k0), side, filled, fy, fv)


__all__ = ["EGGER_MODELS", "TRIMFILL_REFITS", "EggerResult", "RankResult", "TrimFillResult",
           "egger_test", "rank_test", "trimfill"]
