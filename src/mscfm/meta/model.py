"""The intercept-only model (metafor ``rma.uni`` without moderators) and its tau^2 CI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from mscfm.errors import InputError
from mscfm.meta._core import (
    EXACT_TOL,
    METAFOR_TOL,
    RATIO_MEASURES,
    _ToDict,
    check_finite,
    check_options,
    frozen,
    i2_h2,
    inputs,
    intercept,
    jsonable,
    labels_tuple,
    q_gen,
    root_in,
    se_tau2,
    tau2_of,
    typical_variance,
    upper_bracket,
    wls,
)


@dataclass(frozen=True, eq=False)
class MetaResult(_ToDict):
    """One fitted model; numbers on the analysis scale (log scale for ratio measures)."""

    method: str
    test: str
    measure: str
    level: float
    k: int
    estimate: float
    se: float
    stat: float  # z, or t when test="knha"
    pval: float
    df: float | None  # degrees of freedom of the t test (None for z)
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    se_tau2: float | None
    I2: float
    H2: float
    Q: float
    Q_df: int
    Q_p: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)  # percent, as metafor's weights()
    study_labels: tuple[str, ...] | None = field(repr=False)  # None: "Study 1", "Study 2", ...
    tol: float = field(default=EXACT_TOL, repr=False)  # PM root-finding tolerance
    tau2_fixed: bool = field(default=False, repr=False)  # tau^2 given, not estimated

    @property
    def labels(self) -> tuple[str, ...]:
        """Study labels (built on demand, so large unlabelled analyses stay fast)."""
        if self.study_labels is not None:
            return self.study_labels
        return tuple(f"Study {i + 1}" for i in range(self.k))

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    def back_transformed(self) -> dict[str, float]:
        """Estimate, CI and PI on the display scale (exp for RR and OR, else unchanged)."""
        f: Callable[[float], float] = np.exp if self.is_ratio else float
        return {key: float(f(getattr(self, key)))
                for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}

    def summary(self) -> dict[str, Any]:
        """The headline numbers only (what the CLI prints with --json)."""
        keys = ("k", "method", "test", "measure", "level", "estimate", "se", "stat", "pval",
                "df", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "se_tau2", "I2", "H2", "Q",
                "Q_df", "Q_p")
        return {key: jsonable(getattr(self, key)) for key in keys}


def estimate_tau2(yi: ArrayLike, vi: ArrayLike, method: str = "REML",
                  mods: ArrayLike | None = None) -> float:
    """tau^2 by EE (0), DL, REML or PM; ``mods`` adds numeric moderator columns (an intercept
    is added)."""
    y, v = inputs(yi, vi)
    method, _ = check_options(method, "z", 0.95)
    X = intercept(y.size)
    if mods is not None:
        m = np.asarray(mods, dtype=float).reshape(y.size, -1)
        if not np.all(np.isfinite(m)):
            raise InputError("moderators must be finite numbers")
        X = np.column_stack([X, m])
    return tau2_of(method, y, v, X)


def rma(yi: ArrayLike, vi: ArrayLike, method: str = "REML", test: str = "z",
        level: float = 0.95, labels: Sequence[str] | None = None, measure: str = "GEN",
        tol: float = EXACT_TOL, tau2: float | None = None) -> MetaResult:
    """Fit an equal-effects or random-effects model (metafor ``rma.uni`` without moderators).

    ``tol`` is the root-finding tolerance on tau^2 where a root finder is used (PM with
    moderators, or when Newton's method fails). ``tau2`` fixes tau^2 instead of estimating it
    (metafor's ``rma(tau2=...)``). Raises :class:`InputError` for non-finite values,
    non-positive variances, a random-effects model with fewer than 2 studies, and results that
    are not finite numbers.
    """
    y, v = inputs(yi, vi)
    method, test = check_options(method, test, level)
    if method != "EE" and y.size < 2 and tau2 is None:
        raise InputError(f"a random-effects model ({method}) needs at least 2 studies, "
                         f"got k = {y.size}")
    if tau2 is not None and not (np.isfinite(tau2) and tau2 >= 0):
        raise InputError(f"a fixed tau2 must be a finite number >= 0, got {tau2}")
    with np.errstate(all="ignore"):  # overflow shows up as a non-finite result, refused below
        result = fit(y, v, method, test, level, labels, measure, tol, tau2)
    check_result(result)
    return result


def check_result(r: MetaResult, what: str = "meta-analysis") -> None:
    if r.se == 0:
        raise InputError(f"{what}: the standard error of the estimate is 0 (with the "
                         f"Knapp-Hartung test this happens when the effects fit the model "
                         f"exactly); use the z test")
    check_finite({"the estimate": r.estimate, "its standard error": r.se, "tau^2": r.tau2,
                  "Q": r.Q, "I^2": r.I2, "H^2": r.H2, "the CI": r.ci_lb + r.ci_ub,
                  "the prediction interval": r.pi_lb + r.pi_ub}, what)


def fit(y: np.ndarray, v: np.ndarray, method: str, test: str, level: float,
        labels: Sequence[str] | None, measure: str, tol: float = EXACT_TOL,
        tau2_fixed: float | None = None) -> MetaResult:
    """The model on validated arrays; k = 1 is allowed (tau^2 = 0), as metafor does."""
    k = y.size
    X = intercept(k)
    if tau2_fixed is not None:
        tau2 = float(tau2_fixed)
    else:
        tau2 = tau2_of(method, y, v, X, tol) if k > 1 else 0.0
    model = wls(y, v, X, tau2)
    estimate, var = float(model.beta[0]), float(model.cov[0, 0])
    q_df = k - 1
    q = wls(y, v, X, 0.0).rss
    tail = 1 - (1 - level) / 2
    # scipy.special rather than scipy.stats: the same functions without per-call overhead
    if test == "knha" and k > 1:
        var *= model.rss / q_df
        df: float | None = float(q_df)
        crit = float(special.stdtrit(q_df, tail))
    else:
        df, crit = None, float(special.ndtri(tail))
    se = float(np.sqrt(var))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.float64(estimate) / se
    pval = float(2 * (special.stdtr(df, -abs(stat)) if df else special.ndtr(-abs(stat))))
    pi_half = crit * np.sqrt(var + tau2)
    i2, h2 = i2_h2(method, q, q_df, tau2, v)
    return MetaResult(
        method=method, test=test, measure=measure, level=level, k=k, estimate=estimate, se=se,
        stat=float(stat), pval=pval, df=df, ci_lb=estimate - crit * se,
        ci_ub=estimate + crit * se, pi_lb=float(estimate - pi_half),
        pi_ub=float(estimate + pi_half), tau2=float(tau2),
        se_tau2=se_tau2(method, y, v, X, tau2) if k > 1 and tau2_fixed is None else None,
        I2=i2, H2=h2, Q=q, Q_df=q_df, Q_p=float(special.chdtrc(q_df, q)) if q_df > 0 else 1.0,
        yi=frozen(y), vi=frozen(v), weights=frozen(100 * model.w / model.w.sum()),
        study_labels=labels_tuple(labels, k), tol=tol, tau2_fixed=tau2_fixed is not None)


def back_transform(values: ArrayLike, measure: str) -> np.ndarray:
    """Display scale: exp for RR and OR, identity otherwise."""
    arr = np.asarray(values, dtype=float)
    return np.exp(arr) if measure.upper() in RATIO_MEASURES else arr


# --------------------------------------------------------------------------- tau^2 CI

@dataclass(frozen=True)
class Tau2CI(_ToDict):
    """Q-profile confidence interval for tau^2 (metafor ``confint``), with tau, I^2 and H^2."""

    level: float
    tau2: float
    tau2_lb: float
    tau2_ub: float
    tau: float
    tau_lb: float
    tau_ub: float
    I2: float
    I2_lb: float
    I2_ub: float
    H2: float
    H2_lb: float
    H2_ub: float


def tau2_ci(result: MetaResult, level: float = 0.95, tol: float = EXACT_TOL) -> Tau2CI:
    """Q-profile CI for tau^2 (metafor ``confint(res)``): the tau^2 values at which the
    generalised Q statistic equals the chi^2(k-1) quantiles; bounds are truncated at 0.

    The roots are found to ``tol`` (absolute, on tau^2; default 1e-12), i.e. the true
    roots. metafor's bounds differ from these in two ways: ``uniroot`` stops at its default
    tolerance ``eps^0.25`` (about 1.2e-4: for dat.molloy2014 its lower bound is 0.0017010
    against the root 0.0016952), and it never searches above ``max(100, 10 tau^2)``, returning
    that cap as the upper bound when the root lies beyond it; here the bracket keeps doubling.
    Pass ``tol=METAFOR_TOL`` to come within metafor's printed 4 decimals on ordinary data.
    """
    if result.method == "EE":
        raise InputError("an equal-effects model has no tau^2 to give a CI for")
    if result.k < 2:
        raise InputError(f"a CI for tau^2 needs at least 2 studies, got k = {result.k}")
    y, v, k = np.asarray(result.yi), np.asarray(result.vi), result.k
    X = intercept(k)
    alpha = 1 - level
    crit_hi, crit_lo = stats.chi2.isf(alpha / 2, k - 1), stats.chi2.ppf(alpha / 2, k - 1)

    def root(target: float) -> float:
        def f(tau2: float) -> float:
            return q_gen(y, v, X, tau2) - target
        if f(0.0) <= 0:
            return 0.0
        hi = upper_bracket(f, max(100.0, 10 * result.tau2))  # metafor's first interval
        return root_in(f, hi, "Q-profile CI for tau^2", tol)

    lb, ub = root(crit_hi), root(crit_lo)
    s2 = typical_variance(v)
    i2 = lambda t: 100 * t / (t + s2)  # noqa: E731
    h2 = lambda t: (t + s2) / s2  # noqa: E731
    return Tau2CI(level, result.tau2, lb, ub, result.tau, float(np.sqrt(lb)),
                  float(np.sqrt(ub)), i2(result.tau2), i2(lb), i2(ub), h2(result.tau2), h2(lb),
                  h2(ub))


__all__ = ["METAFOR_TOL", "MetaResult", "Tau2CI", "back_transform", "check_result",
           "estimate_tau2", "fit", "rma", "tau2_ci"]
