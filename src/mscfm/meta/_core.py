"""Shared pieces of the engine: options, input checks, weighted least squares and the tau^2
estimators (for any design matrix X; intercept-only models take fast paths)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from mscfm.errors import InputError

METHODS = ("EE", "DL", "REML", "PM")
TESTS = ("z", "knha")
RATIO_MEASURES = frozenset({"RR", "OR"})
REML_THRESHOLD = 1e-5  # metafor control$threshold: Fisher scoring stops below this step
REML_MAXITER = 100  # metafor control$maxiter
METAFOR_TOL = np.finfo(float).eps ** 0.25  # metafor control$tol (uniroot tolerance, ll0 check)
EXACT_TOL = 1e-12  # our root-finding tolerance on tau^2 (PM fallback, Q-profile CI)
_RTOL = 4 * np.finfo(float).eps  # with xtol, the same stopping rule as R's uniroot (zeroin)


# --------------------------------------------------------------------------- results

def jsonable(value: Any) -> Any:
    """Plain Python version of a field value (arrays to lists, numpy scalars to Python).

    A NaN or infinite number stays as it is, so that a caller can refuse it (the engine uses
    None, not NaN, for a number that is not defined); ``json.dumps(..., allow_nan=False)``
    then guarantees that no such number is printed."""
    if isinstance(value, np.ndarray):
        return [jsonable(x) for x in value.tolist()]
    if isinstance(value, (tuple, list)):
        return [jsonable(x) for x in value]
    if isinstance(value, dict):
        return {key: jsonable(x) for key, x in value.items()}
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return {key: jsonable(value) for key, value in asdict(self).items()}  # type: ignore[call-overload]


def check_finite(values: Mapping[str, float | None], what: str) -> None:
    """InputError when a computed number is NaN or infinite (None means "not defined")."""
    for name, value in values.items():
        if value is not None and not np.isfinite(value):
            raise InputError(f"{what}: {name} is not finite ({value}); the effect sizes are too "
                             f"large, or the sampling variances too small, to compute with in "
                             f"double precision")


def frozen(arr: ArrayLike) -> np.ndarray:
    out = np.array(arr, dtype=float)
    out.flags.writeable = False
    return out


# --------------------------------------------------------------------------- input checks

def vector(values: ArrayLike, name: str) -> np.ndarray:
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


def inputs(yi: ArrayLike, vi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated yi, vi: finite, same length, k >= 1, variances positive with finite 1/vi."""
    y, v = vector(yi, "yi"), vector(vi, "vi")
    if y.size != v.size:
        raise InputError(f"yi and vi differ in length ({y.size} and {v.size})")
    if y.size == 0:
        raise InputError("no studies to pool (k = 0)")
    bad = v <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"argument 'vi', study {i + 1}: expected a positive sampling "
                         f"variance, got {v[i]}")
    with np.errstate(over="ignore", divide="ignore"):
        tiny = ~np.isfinite(1.0 / v)
    if tiny.any():
        i = int(np.flatnonzero(tiny)[0])
        raise InputError(f"argument 'vi', study {i + 1}: the sampling variance {v[i]:g} is too "
                         f"small for its weight 1/vi to be a finite number")
    return y, v


def check_options(method: str, test: str, level: float) -> tuple[str, str]:
    method, test = method.upper(), test.lower()
    if method == "FE":
        method = "EE"
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if test == "hksj":
        test = "knha"
    if test not in TESTS:
        raise InputError(f"test must be 'z' or 'knha', got {test!r}")
    check_level(level)
    return method, test


def check_level(level: float) -> None:
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")


def labels_tuple(labels: ArrayLike | None, k: int) -> tuple[str, ...] | None:
    if labels is None:
        return None
    out = tuple(str(x) for x in labels)  # type: ignore[union-attr]
    if len(out) != k:
        raise InputError(f"got {len(out)} labels for {k} studies")
    return out


def default_labels(k: int) -> tuple[str, ...]:
    return tuple(f"Study {i + 1}" for i in range(k))


# --------------------------------------------------------------------------- weighted regression

@dataclass(frozen=True)
class WLS:
    """Weighted least squares pieces for weights w = 1/(vi + tau2); P = W - W X A^-1 X' W."""

    beta: np.ndarray
    cov: np.ndarray  # A^-1 = (X' W X)^-1
    w: np.ndarray
    resid: np.ndarray

    @property
    def rss(self) -> float:  # y' P y
        return float(np.dot(self.w, self.resid**2))


def wls(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> WLS:
    w = 1.0 / (v + tau2)
    if X.shape[1] == 1 and np.all(X == 1.0):  # intercept-only fast path (scalars)
        sw = w.sum()
        beta = np.array([np.dot(w, y) / sw])
        return WLS(beta, np.array([[1.0 / sw]]), w, y - beta[0])
    Xw = X * w[:, None]
    try:
        cov = np.linalg.inv(X.T @ Xw)
    except np.linalg.LinAlgError:
        raise InputError("the moderators are collinear at these weights (X'WX is singular)"
                         ) from None
    beta = cov @ (Xw.T @ y)
    return WLS(beta, cov, w, y - X @ beta)


def traces(fit: WLS, X: np.ndarray) -> tuple[np.float64, np.float64]:
    """tr(P) and tr(PP) in O(k p^2), without forming the k x k matrix P."""
    w = fit.w
    if X.shape[1] == 1 and np.all(X == 1.0):
        s1, s2, s3 = w.sum(), np.dot(w, w), np.dot(w * w, w)
        return s1 - s2 / s1, s2 - 2 * s3 / s1 + (s2 / s1) ** 2
    b2 = fit.cov @ (X.T @ (X * (w**2)[:, None]))
    b3 = fit.cov @ (X.T @ (X * (w**3)[:, None]))
    tr_p = w.sum() - np.trace(b2)
    tr_pp = np.dot(w, w) - 2 * np.trace(b3) + np.trace(b2 @ b2)
    # numpy scalars, not floats: a division by a round-off zero gives inf (refused downstream
    # as not finite) rather than a ZeroDivisionError
    return np.float64(tr_p), np.float64(tr_pp)


def reml_loglik(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    fit = wls(y, v, X, tau2)
    k, p = X.shape
    logdet = np.linalg.slogdet(X.T @ (X * fit.w[:, None]))[1]  # log|X'WX|, not inv(inv(.))
    return float(-0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2))
                 - 0.5 * logdet - 0.5 * fit.rss)


def intercept(k: int) -> np.ndarray:
    return np.ones((k, 1))


# --------------------------------------------------------------------------- tau^2 estimators

def _tau2_dl(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    fit = wls(y, v, X, 0.0)
    tr_p, _ = traces(fit, X)
    check_finite({"tr(P)": tr_p}, "tau^2 estimation (DL)")
    if tr_p <= 0:  # round-off on extreme variances can leave tr(P) at 0
        raise InputError(f"tau^2 estimation (DL): tr(P) is {tr_p}; the sampling variances are "
                         "too different in size to compute with in double precision")
    return max(0.0, (fit.rss - (X.shape[0] - X.shape[1])) / tr_p)


def _tau2_he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Hedges' (HE) estimator, metafor's starting value for REML."""
    k, p = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    resid = y - X @ (xtx_inv @ (X.T @ y))
    tr_pv = v.sum() - np.trace(xtx_inv @ (X.T @ (X * v[:, None])))
    return (float(resid @ resid) - tr_pv) / (k - p)


def reml_score(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float
               ) -> tuple[float, float]:
    """Fisher scoring step (y'PPy - tr P) / tr(PP) and tr(PP) at tau2."""
    fit = wls(y, v, X, tau2)
    tr_p, tr_pp = traces(fit, X)
    py = fit.w * fit.resid
    return (float(py @ py) - tr_p) / tr_pp, tr_pp


def _reml_step(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """The Fisher scoring step, refused when not finite (an infinite step would make the step
    halving spin forever; a NaN would end the iteration on a meaningless value)."""
    step = reml_score(y, v, X, tau2)[0]
    if not np.isfinite(step):
        raise InputError(f"REML: the score is not finite at tau^2 = {tau2:.3g} "
                         "(the estimates or variances are too extreme)")
    return step


def _tau2_reml(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    if _reml_step(y, v, X, 0.0) <= 0:
        return 0.0  # the restricted likelihood decreases from 0: the exact boundary estimate
    tau2 = max(0.0, _tau2_he(y, v, X))
    change, iteration = REML_THRESHOLD + 1, 0
    while change > REML_THRESHOLD:
        iteration += 1
        if iteration > REML_MAXITER:
            # metafor stops with an error here; solve the score equation by Brent instead
            tau2 = _tau2_reml_brent(y, v, X)
            break
        adj = _reml_step(y, v, X, tau2)
        while tau2 + adj < 0:  # step halving keeps tau2 >= 0
            adj /= 2
        tau2, change = tau2 + adj, abs(adj)
    # metafor's check for a spurious interior maximum
    if (tau2 > REML_THRESHOLD
            and reml_loglik(y, v, X, 0.0) - reml_loglik(y, v, X, tau2) > METAFOR_TOL):
        return 0.0
    return float(tau2)


def _tau2_reml_brent(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Root of the REML score (positive at 0 when called) when Fisher scoring oscillates."""
    def score(tau2: float) -> float:
        return _reml_step(y, v, X, tau2)

    hi = upper_bracket(score, max(1e-8, 2 * float(np.var(y))))
    return root_in(score, hi, "tau^2 estimation (REML)")


def q_gen(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    return wls(y, v, X, tau2).rss


def root_in(f: Callable[[float], float], hi: float, what: str, tol: float = EXACT_TOL) -> float:
    """The root of f on [0, hi] by Brent's method; an InputError where it cannot be found
    (a NaN inside the bracket, or no convergence in 100 steps on numerically flat data)."""
    try:
        return float(optimize.brentq(f, 0.0, hi, xtol=tol, rtol=_RTOL))
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"{what}: no root found ({exc}); the data may be degenerate or too "
                         "extreme for double precision") from None


def upper_bracket(f: Callable[[float], float], start: float) -> float:
    """A tau^2 at which f is negative (f decreases in tau^2), doubling from ``start``."""
    hi = start
    for _ in range(200):
        value = f(hi)
        check_finite({"Q": value}, "tau^2 estimation")
        if value < 0:
            return hi
        hi *= 2
    raise InputError("could not bracket tau^2 (the data may be degenerate)")


def _tau2_pm_newton(y: np.ndarray, v: np.ndarray, target: float) -> float | None:
    """PM root of Q(tau^2) = k - 1 by Newton's method from 0 (intercept-only models).

    Q is decreasing and convex in tau^2, so Newton steps from the left never overshoot and
    converge monotonically; dQ/dtau^2 = -sum(w^2 r^2). The root is found to near machine
    precision. None if it does not converge.
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


def _tau2_pm(y: np.ndarray, v: np.ndarray, X: np.ndarray, tol: float = EXACT_TOL) -> float:
    k, p = X.shape
    target = k - p
    intercept_only = p == 1 and bool(np.all(X == 1.0))
    if intercept_only:  # lean closure for the common case (called ~20-40 times)
        def excess(tau2: float) -> float:
            w = 1.0 / (v + tau2)
            resid = y - np.dot(w, y) / w.sum()
            return float(np.dot(w, resid * resid)) - target
    else:
        def excess(tau2: float) -> float:
            return q_gen(y, v, X, tau2) - target

    at_zero = excess(0.0)
    check_finite({"Q at tau^2 = 0": at_zero}, "tau^2 estimation (PM)")
    if at_zero <= 0:
        return 0.0
    if intercept_only:
        root = _tau2_pm_newton(y, v, target)
        if root is not None:
            return root
    mad = 1.4826 * np.median(np.abs(y - np.median(y)))  # R's mad()
    hi = upper_bracket(excess, max(100.0, 10 * mad**2))  # metafor's tau2.max
    return root_in(excess, hi, "tau^2 estimation (PM)", tol)


def se_tau2(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float
            ) -> float | None:
    k, p = X.shape
    if method == "EE":
        return None
    if method == "DL":
        fit = wls(y, v, X, 0.0)
        tr_p, tr_pp = traces(fit, X)
        return float(np.sqrt((2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * tr_pp) / tr_p**2))
    if method == "REML":
        _, tr_pp = reml_score(y, v, X, tau2)
        return float(np.sqrt(2 / tr_pp))
    w = 1 / (v + tau2)  # PM
    return float(np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2))


def tau2_of(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray,
            tol: float = EXACT_TOL) -> float:
    """tau^2 by EE (0), DL, REML or PM for the design X."""
    if method == "EE":
        return 0.0
    if method == "DL":
        return _tau2_dl(y, v, X)
    if method == "REML":
        return _tau2_reml(y, v, X)
    return _tau2_pm(y, v, X, tol)


def typical_variance(v: np.ndarray, X: np.ndarray | None = None) -> float:
    """metafor's "typical" sampling variance (k - p) / tr(P), P at tau^2 = 0."""
    if X is None or (X.shape[1] == 1 and np.all(X == 1.0)):
        w = 1 / v
        return (v.size - 1) / (w.sum() - np.dot(w, w) / w.sum())
    fit = wls(np.zeros(v.size), v, X, 0.0)
    return (X.shape[0] - X.shape[1]) / traces(fit, X)[0]


def i2_h2(method: str, q: float, q_df: int, tau2: float, v: np.ndarray,
          X: np.ndarray | None = None) -> tuple[float, float]:
    """I^2 (percent) and H^2: Q-based for EE, tau^2-based otherwise (as metafor)."""
    if q_df == 0:
        return 0.0, 1.0
    if method == "EE":
        return (max(0.0, 100 * (q - q_df) / q) if q > 0 else 0.0), q / q_df
    s2 = typical_variance(v, X)
    return 100 * tau2 / (tau2 + s2), (tau2 + s2) / s2
