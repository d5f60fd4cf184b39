"""Meta-analysis that reproduces metafor's ``rma.uni`` (numpy/scipy only, array-likes in).

Models: equal effects (``EE``, inverse variance) and random effects with the DerSimonian-Laird
(``DL``, tau^2 clipped at 0), restricted maximum likelihood (``REML``, metafor's Fisher scoring
from the Hedges start, threshold 1e-5) or Paule-Mandel (``PM``) estimator; ``test="z"`` or
Knapp-Hartung (``"knha"``, t with k - 1 df, no truncation).

Definitions pinned to metafor (see tests/fixtures/metafor):

- Q is always the equal-effects Q (weights 1/vi).
- I^2 and H^2: for EE from Q, ``I2 = max(0, (Q - df)/Q)``, ``H2 = Q/df``; for random-effects
  models from tau^2, ``I2 = tau2/(tau2 + s2)``, ``H2 = (tau2 + s2)/s2`` with the "typical"
  sampling variance ``s2 = (k - 1) / (sum w - sum w^2 / sum w)`` (identical to the Q-based
  values for DL).
- Prediction interval: ``estimate +- crit * sqrt(se^2 + tau2)`` with crit from z, or t(k - 1)
  when ``test="knha"`` (not Riley's k - 2).
- REML returns exactly 0 when the restricted likelihood decreases from tau^2 = 0 (metafor stops
  a step-halving sequence at a value below its 1e-5 threshold instead).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from mscfm.errors import InputError

METHODS = ("EE", "DL", "REML", "PM")
TESTS = ("z", "knha")
RATIO_MEASURES = frozenset({"RR", "OR"})
REML_THRESHOLD = 1e-5  # metafor control$threshold
REML_MAXITER = 100  # metafor control$maxiter
METAFOR_TOL = np.finfo(float).eps ** 0.25  # metafor control$tol (uniroot tolerance, ll0 check)
_RTOL = 4 * np.finfo(float).eps  # with xtol, the same stopping rule as R's uniroot (zeroin)


# --------------------------------------------------------------------------- result objects

def jsonable(value: Any) -> Any:
    """JSON-safe version of a field value (arrays to lists, NaN to None)."""
    if isinstance(value, np.ndarray):
        return [jsonable(x) for x in value.tolist()]
    if isinstance(value, (tuple, list)):
        return [jsonable(x) for x in value]
    if isinstance(value, dict):
        return {key: jsonable(x) for key, x in value.items()}
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return {key: jsonable(value) for key, value in asdict(self).items()}  # type: ignore[call-overload]


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
    tol: float = field(default=METAFOR_TOL, repr=False)  # PM root-finding tolerance

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
        keys = ("k", "method", "test", "measure", "estimate", "se", "stat", "pval", "df",
                "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "se_tau2", "I2", "H2", "Q", "Q_df",
                "Q_p")
        return {key: jsonable(getattr(self, key)) for key in keys}


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


@dataclass(frozen=True)
class StudyFit(_ToDict):
    """One row of a leave-one-out or cumulative analysis."""

    label: str
    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lb: float
    ci_ub: float
    Q: float
    Q_p: float
    tau2: float
    I2: float
    H2: float


@dataclass(frozen=True)
class EggerResult(_ToDict):
    """Egger's regression test (metafor ``regtest(model="lm", predictor="sei")``)."""

    t: float
    p: float
    df: int
    limit_estimate: float  # intercept: the estimate as the standard error goes to 0
    limit_ci_lb: float
    limit_ci_ub: float


@dataclass(frozen=True)
class RankResult(_ToDict):
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``)."""

    tau: float
    p: float
    exact: bool


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
                "ci_lb": jsonable(self.result.ci_lb), "ci_ub": jsonable(self.result.ci_ub),
                "filled_yi": jsonable(self.filled_yi), "filled_vi": jsonable(self.filled_vi)}


@dataclass(frozen=True, eq=False)
class SubgroupResult(_ToDict):
    """Separate models per subgroup and the test for subgroup differences.

    The test is the Cochrane/RevMan one: Q between = the heterogeneity Q of the subgroup
    estimates weighted by 1/se^2 (each subgroup with its own tau^2), chi^2 with G - 1 df.
    """

    groups: dict[str, MetaResult]
    Q_between: float
    df: int
    p: float

    def to_dict(self) -> dict[str, Any]:
        return {"groups": {name: r.summary() for name, r in self.groups.items()},
                "Q_between": jsonable(self.Q_between), "df": self.df, "p": jsonable(self.p)}


# --------------------------------------------------------------------------- input checks

def _vector(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"argument '{name}' must be numeric") from None
    if arr.ndim != 1:
        arr = np.atleast_1d(arr.squeeze())
        if arr.ndim != 1:
            raise InputError(f"argument '{name}' must be one-dimensional")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"argument '{name}', study {i + 1}: expected a finite number, "
                         f"got {arr[i]}")
    return arr


def _inputs(yi: ArrayLike, vi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y, v = _vector(yi, "yi"), _vector(vi, "vi")
    if y.size != v.size:
        raise InputError(f"yi and vi differ in length ({y.size} and {v.size})")
    if y.size == 0:
        raise InputError("no studies to pool (k = 0)")
    bad = v <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"argument 'vi', study {i + 1}: expected a positive sampling "
                         f"variance, got {v[i]}")
    return y, v


def _check_options(method: str, test: str, level: float) -> tuple[str, str]:
    method, test = method.upper(), test.lower()
    if method == "FE":
        method = "EE"
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if test == "hksj":
        test = "knha"
    if test not in TESTS:
        raise InputError(f"test must be 'z' or 'knha', got {test!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    return method, test


# --------------------------------------------------------------------------- weighted regression

@dataclass(frozen=True)
class _WLS:
    """Weighted least squares pieces for weights w = 1/(vi + tau2); P = W - W X A^-1 X' W."""

    beta: np.ndarray
    cov: np.ndarray  # A^-1 = (X' W X)^-1
    w: np.ndarray
    resid: np.ndarray

    @property
    def rss(self) -> float:  # y' P y
        return float(np.dot(self.w, self.resid**2))


def _wls(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> _WLS:
    w = 1.0 / (v + tau2)
    if X.shape[1] == 1:  # intercept-only fast path (everything is a scalar)
        sw = w.sum()
        beta = np.array([np.dot(w, y) / sw])
        return _WLS(beta, np.array([[1.0 / sw]]), w, y - beta[0])
    Xw = X * w[:, None]
    cov = np.linalg.inv(X.T @ Xw)
    beta = cov @ (Xw.T @ y)
    return _WLS(beta, cov, w, y - X @ beta)


def _traces(fit: _WLS, X: np.ndarray) -> tuple[float, float]:
    """tr(P) and tr(PP) in O(k p^2), without forming the k x k matrix P."""
    w = fit.w
    if X.shape[1] == 1:
        s1, s2, s3 = w.sum(), np.dot(w, w), np.dot(w * w, w)
        return s1 - s2 / s1, s2 - 2 * s3 / s1 + (s2 / s1) ** 2
    b2 = fit.cov @ (X.T @ (X * (w**2)[:, None]))
    b3 = fit.cov @ (X.T @ (X * (w**3)[:, None]))
    tr_p = w.sum() - np.trace(b2)
    tr_pp = np.dot(w, w) - 2 * np.trace(b3) + np.trace(b2 @ b2)
    return float(tr_p), float(tr_pp)


def _reml_loglik(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    fit = _wls(y, v, X, tau2)
    k, p = X.shape
    logdet = np.linalg.slogdet(np.linalg.inv(fit.cov))[1]
    return float(-0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2))
                 - 0.5 * logdet - 0.5 * fit.rss)


# --------------------------------------------------------------------------- tau^2 estimators

def _tau2_dl(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    fit = _wls(y, v, X, 0.0)
    tr_p, _ = _traces(fit, X)
    return max(0.0, (fit.rss - (X.shape[0] - X.shape[1])) / tr_p)


def _tau2_he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Hedges' (HE) estimator, metafor's starting value for REML."""
    k, p = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    resid = y - X @ (xtx_inv @ (X.T @ y))
    tr_pv = v.sum() - np.trace(xtx_inv @ (X.T @ (X * v[:, None])))
    return (float(resid @ resid) - tr_pv) / (k - p)


def _reml_score(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float
                ) -> tuple[float, float]:
    """Fisher scoring step (y'PPy - tr P) / tr(PP) and tr(PP) at tau2."""
    fit = _wls(y, v, X, tau2)
    tr_p, tr_pp = _traces(fit, X)
    py = fit.w * fit.resid
    return (float(py @ py) - tr_p) / tr_pp, tr_pp


def _tau2_reml(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    if _reml_score(y, v, X, 0.0)[0] <= 0:
        return 0.0  # the restricted likelihood decreases from 0: boundary estimate
    tau2 = max(0.0, _tau2_he(y, v, X))
    change, iteration = REML_THRESHOLD + 1, 0
    while change > REML_THRESHOLD:
        iteration += 1
        if iteration > REML_MAXITER:
            # metafor stops with an error here; solve the score equation by Brent instead
            tau2 = _tau2_reml_brent(y, v, X)
            break
        adj = _reml_score(y, v, X, tau2)[0]
        while tau2 + adj < 0:  # step halving keeps tau2 >= 0
            adj /= 2
        tau2, change = tau2 + adj, abs(adj)
    # metafor's check for a spurious interior maximum
    if (tau2 > REML_THRESHOLD
            and _reml_loglik(y, v, X, 0.0) - _reml_loglik(y, v, X, tau2) > METAFOR_TOL):
        return 0.0
    return float(tau2)


def _tau2_reml_brent(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Root of the REML score (positive at 0 when called) when Fisher scoring oscillates."""
    def score(tau2: float) -> float:
        return _reml_score(y, v, X, tau2)[0]

    hi = _upper_bracket(score, max(1e-8, 2 * float(np.var(y))))
    return float(optimize.brentq(score, 0.0, hi, xtol=1e-12, rtol=_RTOL))


def _q_gen(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    return _wls(y, v, X, tau2).rss


def _upper_bracket(f: Callable[[float], float], start: float) -> float:
    """A tau^2 at which f is negative (f decreases in tau^2), doubling from ``start``."""
    hi = start
    for _ in range(200):
        if f(hi) < 0:
            return hi
        hi *= 2
    raise InputError("could not bracket tau^2 (the data may be degenerate)")


def _tau2_pm_newton(y: np.ndarray, v: np.ndarray, target: float) -> float | None:
    """PM root of Q(tau^2) = k - 1 by Newton's method from 0 (intercept-only models).

    Q is decreasing and convex in tau^2, so Newton steps from the left never overshoot and
    converge monotonically; dQ/dtau^2 = -sum(w^2 r^2). The root is found to near machine
    precision, i.e. at least as precisely as metafor's uniroot. None if it does not converge.
    """
    tau2 = 0.0
    for _ in range(100):
        w = 1.0 / (v + tau2)
        resid = y - np.dot(w, y) / w.sum()
        q = float(np.dot(w, resid * resid))
        slope = float(np.dot(w * w, resid * resid))
        if slope <= 0:
            return None
        step = (q - target) / slope
        tau2 += step
        if abs(step) <= 1e-13 * max(1.0, tau2):
            return float(tau2)
    return None


def _tau2_pm(y: np.ndarray, v: np.ndarray, X: np.ndarray, tol: float = METAFOR_TOL) -> float:
    k, p = X.shape
    target = k - p
    if p == 1:  # lean closure for the common intercept-only case (called ~20-40 times)
        def excess(tau2: float) -> float:
            w = 1.0 / (v + tau2)
            resid = y - np.dot(w, y) / w.sum()
            return float(np.dot(w, resid * resid)) - target
    else:
        def excess(tau2: float) -> float:
            return _q_gen(y, v, X, tau2) - target

    if excess(0.0) <= 0:
        return 0.0
    if p == 1:
        root = _tau2_pm_newton(y, v, target)
        if root is not None:
            return root
    mad = 1.4826 * np.median(np.abs(y - np.median(y)))  # R's mad()
    hi = _upper_bracket(excess, max(100.0, 10 * mad**2))  # metafor's tau2.max
    return float(optimize.brentq(excess, 0.0, hi, xtol=tol, rtol=_RTOL))


def _se_tau2(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float
             ) -> float | None:
    k, p = X.shape
    if method == "EE":
        return None
    if method == "DL":
        fit = _wls(y, v, X, 0.0)
        tr_p, tr_pp = _traces(fit, X)
        return float(np.sqrt((2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * tr_pp) / tr_p**2))
    if method == "REML":
        _, tr_pp = _reml_score(y, v, X, tau2)
        return float(np.sqrt(2 / tr_pp))
    w = 1 / (v + tau2)  # PM
    return float(np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2))


def estimate_tau2(yi: ArrayLike, vi: ArrayLike, method: str = "REML",
                  mods: ArrayLike | None = None) -> float:
    """tau^2 by EE (0), DL, REML or PM; ``mods`` adds moderator columns (an intercept is added)."""
    y, v = _inputs(yi, vi)
    method, _ = _check_options(method, "z", 0.95)
    return _tau2(method, y, v, _design(y.size, mods))


def _tau2(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray,
          tol: float = METAFOR_TOL) -> float:
    if method == "EE":
        return 0.0
    if method == "DL":
        return _tau2_dl(y, v, X)
    if method == "REML":
        return _tau2_reml(y, v, X)
    return _tau2_pm(y, v, X, tol)


def _design(k: int, mods: ArrayLike | None) -> np.ndarray:
    if mods is None:
        return np.ones((k, 1))
    m = np.asarray(mods, dtype=float)
    m = m.reshape(k, -1)
    if not np.all(np.isfinite(m)):
        raise InputError("moderators must be finite numbers")
    return np.column_stack([np.ones(k), m])


# --------------------------------------------------------------------------- the model

def rma(yi: ArrayLike, vi: ArrayLike, method: str = "REML", test: str = "z",
        level: float = 0.95, labels: Sequence[str] | None = None, measure: str = "GEN",
        tol: float = METAFOR_TOL) -> MetaResult:
    """Fit an equal-effects or random-effects model (metafor ``rma.uni`` without moderators).

    ``tol`` is the root-finding tolerance of PM (metafor's default ``control$tol``; metafor
    output produced with ``control=list(tol=...)`` needs the same value here). Raises
    :class:`InputError` for non-finite values, non-positive variances and for a random-effects
    model with fewer than 2 studies.
    """
    y, v = _inputs(yi, vi)
    method, test = _check_options(method, test, level)
    if method != "EE" and y.size < 2:
        raise InputError(f"a random-effects model ({method}) needs at least 2 studies, "
                         f"got k = {y.size}")
    return _fit(y, v, method, test, level, labels, measure, tol)


def _fit(y: np.ndarray, v: np.ndarray, method: str, test: str, level: float,
         labels: Sequence[str] | None, measure: str, tol: float = METAFOR_TOL) -> MetaResult:
    """The model on validated arrays; k = 1 is allowed (tau^2 = 0), as metafor does."""
    k = y.size
    X = np.ones((k, 1))
    tau2 = _tau2(method, y, v, X, tol) if k > 1 else 0.0
    fit = _wls(y, v, X, tau2)
    estimate, var = float(fit.beta[0]), float(fit.cov[0, 0])
    q_df = k - 1
    fe = _wls(y, v, X, 0.0)
    q = fe.rss
    tail = 1 - (1 - level) / 2
    # scipy.special rather than scipy.stats: the same functions without per-call overhead
    if test == "knha" and k > 1:
        var *= fit.rss / q_df
        df: float | None = float(q_df)
        crit = float(special.stdtrit(q_df, tail))
    else:
        df, crit = None, float(special.ndtri(tail))
    se = float(np.sqrt(var))
    stat = estimate / se
    pval = float(2 * (special.stdtr(df, -abs(stat)) if df else special.ndtr(-abs(stat))))
    pi_half = crit * np.sqrt(var + tau2)
    i2, h2 = _i2_h2(method, q, q_df, tau2, v)
    labels_t = tuple(str(x) for x in labels) if labels is not None else None
    if labels_t is not None and len(labels_t) != k:
        raise InputError(f"got {len(labels_t)} labels for {k} studies")
    return MetaResult(
        method=method, test=test, measure=measure, level=level, k=k, estimate=estimate, se=se,
        stat=float(stat), pval=pval, df=df, ci_lb=estimate - crit * se,
        ci_ub=estimate + crit * se, pi_lb=float(estimate - pi_half),
        pi_ub=float(estimate + pi_half), tau2=float(tau2),
        se_tau2=_se_tau2(method, y, v, X, tau2) if k > 1 else None, I2=i2, H2=h2, Q=q,
        Q_df=q_df, Q_p=float(special.chdtrc(q_df, q)) if q_df > 0 else 1.0, yi=_frozen(y),
        vi=_frozen(v), weights=_frozen(100 * fit.w / fit.w.sum()), study_labels=labels_t,
        tol=tol)


def _frozen(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, dtype=float)
    out.flags.writeable = False
    return out


def _typical_variance(v: np.ndarray) -> float:
    w = 1 / v
    return (v.size - 1) / (w.sum() - np.dot(w, w) / w.sum())


def _i2_h2(method: str, q: float, q_df: int, tau2: float, v: np.ndarray) -> tuple[float, float]:
    if q_df == 0:
        return 0.0, 1.0
    if method == "EE":
        return (max(0.0, 100 * (q - q_df) / q) if q > 0 else 0.0), q / q_df
    s2 = _typical_variance(v)
    return 100 * tau2 / (tau2 + s2), (tau2 + s2) / s2


# --------------------------------------------------------------------------- tau^2 CI

def tau2_ci(result: MetaResult, level: float = 0.95, tol: float = METAFOR_TOL) -> Tau2CI:
    """Q-profile CI for tau^2 (metafor ``confint(res)``): the tau^2 values at which the
    generalised Q statistic equals the chi^2(k-1) quantiles; bounds are truncated at 0.

    Roots are found by Brent's method with metafor's tolerance by default, which reproduces
    metafor's printed bounds (the I^2 bounds move in the 4th decimal with a tighter ``tol``).
    """
    if result.method == "EE":
        raise InputError("an equal-effects model has no tau^2 to give a CI for")
    y, v, k = np.asarray(result.yi), np.asarray(result.vi), result.k
    X = np.ones((k, 1))
    alpha = 1 - level
    crit_hi, crit_lo = stats.chi2.isf(alpha / 2, k - 1), stats.chi2.ppf(alpha / 2, k - 1)

    def root(target: float) -> float:
        def f(tau2: float) -> float:
            return _q_gen(y, v, X, tau2) - target
        if f(0.0) <= 0:
            return 0.0
        hi = _upper_bracket(f, max(100.0, 10 * result.tau2))  # metafor's search interval
        return float(optimize.brentq(f, 0.0, hi, xtol=tol, rtol=_RTOL))

    lb, ub = root(crit_hi), root(crit_lo)
    s2 = _typical_variance(v)
    i2 = lambda t: 100 * t / (t + s2)  # noqa: E731
    h2 = lambda t: (t + s2) / s2  # noqa: E731
    return Tau2CI(level, result.tau2, lb, ub, result.tau, float(np.sqrt(lb)),
                  float(np.sqrt(ub)), i2(result.tau2), i2(lb), i2(ub), h2(result.tau2), h2(lb),
                  h2(ub))


# --------------------------------------------------------------------------- sensitivity

def _row(label: str, r: MetaResult) -> StudyFit:
    return StudyFit(label, r.k, r.estimate, r.se, r.stat, r.pval, r.ci_lb, r.ci_ub, r.Q,
                    r.Q_p, r.tau2, r.I2, r.H2)


def leave1out(result: MetaResult) -> tuple[StudyFit, ...]:
    """Refit the model leaving out each study in turn (metafor ``leave1out``); row i omits
    study i and carries its label."""
    if result.k < 2 or (result.method != "EE" and result.k < 3):
        raise InputError(f"leave-one-out needs k >= {2 if result.method == 'EE' else 3} "
                         f"for {result.method}, got k = {result.k}")
    y, v = np.asarray(result.yi), np.asarray(result.vi)
    keep = ~np.eye(result.k, dtype=bool)
    return tuple(
        _row(result.labels[i], _fit(y[keep[i]], v[keep[i]], result.method, result.test,
                                    result.level, None, result.measure, result.tol))
        for i in range(result.k))


def cumulative(result: MetaResult, order: ArrayLike | None = None) -> tuple[StudyFit, ...]:
    """Cumulative meta-analysis (metafor ``cumul``): studies added in increasing ``order``
    (stable, so ties keep input order); row j pools the first j studies and is labelled with
    the study added."""
    y, v = np.asarray(result.yi), np.asarray(result.vi)
    key = np.arange(result.k) if order is None else _vector(order, "order")
    if key.size != result.k:
        raise InputError(f"order has {key.size} values for {result.k} studies")
    idx = np.argsort(key, kind="stable")
    rows = []
    for j in range(1, result.k + 1):
        sel = idx[:j]
        test = result.test if j > 1 else "z"
        rows.append(_row(result.labels[idx[j - 1]],
                         _fit(y[sel], v[sel], result.method, test, result.level, None,
                              result.measure, result.tol)))
    return tuple(rows)


# --------------------------------------------------------------------------- small-study tests

def egger_test(yi: ArrayLike | MetaResult, vi: ArrayLike | None = None,
               level: float = 0.95) -> EggerResult:
    """Egger's test: weighted regression of yi on sqrt(vi) with weights 1/vi and an estimated
    residual variance (``lm``); t test of the slope with k - 2 df."""
    y, v = _from_result_or_arrays(yi, vi)
    k = y.size
    if k < 3:
        raise InputError(f"Egger's test needs at least 3 studies, got k = {k}")
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    fit = _wls(y, v, X, 0.0)
    df = k - 2
    sigma2 = fit.rss / df
    se = np.sqrt(np.diag(fit.cov) * sigma2)
    t = float(fit.beta[1] / se[1])
    crit = stats.t.ppf(1 - (1 - level) / 2, df)
    b0 = float(fit.beta[0])
    return EggerResult(t, float(2 * stats.t.sf(abs(t), df)), df, b0,
                       float(b0 - crit * se[0]), float(b0 + crit * se[0]))


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


def _from_result_or_arrays(yi: ArrayLike | MetaResult, vi: ArrayLike | None
                           ) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(yi, MetaResult):
        return np.asarray(yi.yi), np.asarray(yi.vi)
    if vi is None:
        raise InputError("give a MetaResult or both yi and vi")
    return _inputs(yi, vi)


def _side(y: np.ndarray, v: np.ndarray, method: str, tol: float) -> str:
    """metafor: regress yi on sqrt(vi) with the model's estimator; a negative slope means the
    missing studies are on the right."""
    X = np.column_stack([np.ones(y.size), np.sqrt(v)])
    tau2 = _tau2(method, y, v, X, tol)
    return "right" if _wls(y, v, X, tau2).beta[1] < 0 else "left"


def trimfill(result: MetaResult, side: str | None = None, maxiter: int = 100) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill with the L0 estimator, as metafor ``trimfill``: the
    model is refitted to the filled data with the same estimator and test."""
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
        trunc = _fit(ys[:k - k0], vs[:k - k0], result.method, result.test, result.level,
                     None, result.measure, result.tol)
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
    filled = _fit(np.concatenate([y, fill_y]), np.concatenate([v, fill_v]), result.method,
                  result.test, result.level, labels, result.measure, result.tol)
    return TrimFillResult(k0, float(se_k0), side, filled, _frozen(fill_y), _frozen(fill_v))


# --------------------------------------------------------------------------- subgroups

def subgroups(yi: ArrayLike, vi: ArrayLike, groups: Sequence[Any], method: str = "REML",
              test: str = "z", level: float = 0.95, labels: Sequence[str] | None = None,
              measure: str = "GEN", tol: float = METAFOR_TOL) -> SubgroupResult:
    """A model per subgroup (own tau^2; a single-study subgroup is its own estimate) and the
    test for subgroup differences. Groups keep their order of first appearance."""
    y, v = _inputs(yi, vi)
    method, test = _check_options(method, test, level)
    g = [str(x) for x in groups]
    if len(g) != y.size:
        raise InputError(f"groups has {len(g)} values for {y.size} studies")
    names = tuple(f"Study {i + 1}" for i in range(y.size)) if labels is None else tuple(labels)
    fits: dict[str, MetaResult] = {}
    for name in dict.fromkeys(g):
        sel = np.array([x == name for x in g])
        fits[name] = _fit(y[sel], v[sel], method, test if sel.sum() > 1 else "z", level,
                          [names[i] for i in np.flatnonzero(sel)], measure, tol)
    if len(fits) < 2:
        raise InputError("subgroup analysis needs at least 2 subgroups")
    est = np.array([r.estimate for r in fits.values()])
    var = np.array([r.se**2 for r in fits.values()])
    q_between = _wls(est, var, np.ones((est.size, 1)), 0.0).rss
    df = est.size - 1
    return SubgroupResult(fits, float(q_between), df, float(stats.chi2.sf(q_between, df)))


def back_transform(values: ArrayLike, measure: str) -> np.ndarray:
    """Display scale: exp for RR and OR, identity otherwise."""
    arr = np.asarray(values, dtype=float)
    return np.exp(arr) if measure.upper() in RATIO_MEASURES else arr
