"""Meta-regression: metafor ``rma(yi, vi, mods = ...)`` with numeric and factor moderators.

A moderator whose values are all numbers is used as it is; any other (text) moderator is a
factor, dummy-coded against its first level in sorted (code-point) order, each column named as
metafor names it: the moderator name followed by the level (``allocrandom``, ``settingindiv``).
The intercept is ``intrcpt``. Tests (as metafor): z, or Knapp-Hartung t with k - p df and an F
test with (m, k - p) df for the moderators (QM); tau^2 by the same estimators as the
intercept-only model; R^2 = (tau^2_RE - tau^2_ME) / tau^2_RE (0 when tau^2_RE = 0; for EE the
adjusted R^2 of the weighted regression), as a percentage truncated at 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from mscfm.effects import PLAIN_NUMBER
from mscfm.errors import InputError
from mscfm.meta._core import (
    EXACT_TOL,
    _ToDict,
    check_finite,
    check_options,
    default_labels,
    frozen,
    i2_h2,
    inputs,
    intercept,
    jsonable,
    labels_tuple,
    se_tau2,
    tau2_of,
    wls,
)

INTERCEPT = "intrcpt"


@dataclass(frozen=True)
class Coefficient(_ToDict):
    name: str
    estimate: float
    se: float
    stat: float  # z, or t for knha
    p: float
    ci_lb: float
    ci_ub: float


@dataclass(frozen=True, eq=False)
class MetaRegression(_ToDict):
    """A fitted mixed-effects (or equal-effects) meta-regression."""

    method: str
    test: str
    measure: str
    level: float
    k: int
    coefficients: tuple[Coefficient, ...]
    QM: float  # chi^2 statistic, or F for knha, of the moderators (all but the intercept)
    QM_df: int
    QM_df2: int | None  # denominator df of the F test (knha); None for z
    QM_p: float
    QE: float  # residual heterogeneity (weights 1/vi)
    QE_df: int
    QE_p: float
    tau2: float
    se_tau2: float | None
    I2: float  # residual I^2 (percent)
    H2: float
    R2: float | None  # percent of tau^2 accounted for; None without an intercept or moderators
    df: int | None  # t-test df (knha)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)  # variance-covariance of the coefficients
    study_labels: tuple[str, ...] | None = field(repr=False)
    btt: tuple[int, ...] = field(repr=False)  # columns tested by QM
    s2w: float = field(default=1.0, repr=False)  # Knapp-Hartung scale factor (1 for z)
    tol: float = field(default=EXACT_TOL, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.coefficients)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.study_labels if self.study_labels is not None else default_labels(self.k)

    @property
    def beta(self) -> np.ndarray:
        return np.array([c.estimate for c in self.coefficients])

    def coefficient(self, name: str) -> Coefficient:
        for c in self.coefficients:
            if c.name == name:
                return c
        raise KeyError(f"no coefficient {name!r} (have {', '.join(self.names)})")

    def weights(self) -> np.ndarray:
        w = 1 / (np.asarray(self.vi) + self.tau2)
        return 100 * w / w.sum()

    def summary(self) -> dict[str, Any]:
        out = {key: jsonable(getattr(self, key)) for key in (
            "k", "method", "test", "measure", "level", "QM", "QM_df", "QM_df2", "QM_p", "QE",
            "QE_df", "QE_p", "tau2", "se_tau2", "I2", "H2", "R2", "df")}
        out["coefficients"] = [c.to_dict() for c in self.coefficients]
        return out


# --------------------------------------------------------------------------- design matrix

def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    return isinstance(value, str) and bool(PLAIN_NUMBER.fullmatch(value.strip()))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (float, np.floating)) and np.isnan(value))


def design_matrix(mods: Mapping[str, Sequence[Any]], k: int, *, add_intercept: bool = True
                  ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The model matrix and its column names from named moderator columns (as R's
    ``model.matrix``: without an intercept, the first factor keeps all its levels)."""
    full_coding = not add_intercept
    columns: list[np.ndarray] = [np.ones(k)] if add_intercept else []
    names: list[str] = [INTERCEPT] if add_intercept else []
    if not mods:
        raise InputError("give at least one moderator")
    for name, values in mods.items():
        as_array = np.asarray(values) if not isinstance(values, str) else None
        if as_array is not None and as_array.dtype.kind in "iuf" and as_array.ndim == 1:
            if as_array.size != k:
                raise InputError(f"moderator '{name}' has {as_array.size} values for {k} "
                                 f"studies")
            col = as_array.astype(float)
            bad = ~np.isfinite(col)
            if bad.any():
                raise InputError(f"moderator '{name}', study {int(np.flatnonzero(bad)[0]) + 1}: "
                                 f"expected a finite number")
            columns.append(col)
            names.append(str(name))
            continue
        vals = list(values)
        if len(vals) != k:
            raise InputError(f"moderator '{name}' has {len(vals)} values for {k} studies")
        for i, value in enumerate(vals):
            if _missing(value):
                raise InputError(f"moderator '{name}', study {i + 1}: missing value")
        if all(_is_number(x) for x in vals):
            col = np.array([float(x) for x in vals])
            if not np.all(np.isfinite(col)):
                i = int(np.flatnonzero(~np.isfinite(col))[0])
                raise InputError(f"moderator '{name}', study {i + 1}: expected a finite number")
            columns.append(col)
            names.append(str(name))
            continue
        text = [str(x).strip() for x in vals]
        levels = sorted(set(text))
        if len(levels) < 2:
            raise InputError(f"moderator '{name}' has a single level ({levels[0]!r}): "
                             f"nothing to compare")
        for level in (levels if full_coding else levels[1:]):
            columns.append(np.array([1.0 if x == level else 0.0 for x in text]))
            names.append(f"{name}{level}")
        full_coding = False
    X = np.column_stack(columns)
    return X, tuple(names)


def _check_design(X: np.ndarray, names: Sequence[str]) -> None:
    k, p = X.shape
    if k <= p:
        raise InputError(f"a meta-regression with {p} coefficients needs more than {p} "
                         f"studies, got k = {k}")
    if np.linalg.matrix_rank(X) < p:
        raise InputError(f"the moderators are collinear (columns {', '.join(names)}): the "
                         f"model matrix is not of full rank")


# --------------------------------------------------------------------------- the model

def rma_mods(yi: ArrayLike, vi: ArrayLike, mods: Mapping[str, Sequence[Any]],
             method: str = "REML", test: str = "z", level: float = 0.95,
             labels: Sequence[str] | None = None, measure: str = "GEN",
             tol: float = EXACT_TOL) -> MetaRegression:
    """Meta-regression on named moderator columns (metafor ``rma(yi, vi, mods = ~ a + b)``)."""
    y, v = inputs(yi, vi)
    method, test = check_options(method, test, level)
    X, names = design_matrix(mods, y.size)
    with np.errstate(all="ignore"):  # overflow shows up as a non-finite result, refused
        return fit_design(y, v, X, names, method, test, level, labels, measure, tol)


def fit_design(y: np.ndarray, v: np.ndarray, X: np.ndarray, names: Sequence[str],
               method: str, test: str, level: float, labels: Sequence[str] | None = None,
               measure: str = "GEN", tol: float = EXACT_TOL,
               tau2_fixed: float | None = None, with_r2: bool = True) -> MetaRegression:
    """The model for a given design matrix (with or without an intercept column)."""
    try:
        return _fit_design(y, v, X, names, method, test, level, labels, measure, tol,
                           tau2_fixed, with_r2)
    except np.linalg.LinAlgError:
        raise InputError("meta-regression: the weighted model matrix is singular (the "
                         "weights or moderators are too extreme to compute with)") from None


def _fit_design(y: np.ndarray, v: np.ndarray, X: np.ndarray, names: Sequence[str],
                method: str, test: str, level: float, labels: Sequence[str] | None,
                measure: str, tol: float, tau2_fixed: float | None, with_r2: bool
                ) -> MetaRegression:
    _check_design(X, names)
    k, p = X.shape
    has_intercept = bool(names) and names[0] == INTERCEPT
    tau2 = float(tau2_fixed) if tau2_fixed is not None else tau2_of(method, y, v, X, tol)
    model = wls(y, v, X, tau2)
    s2w = model.rss / (k - p) if test == "knha" else 1.0
    cov = model.cov * s2w
    beta = model.beta
    se = np.sqrt(np.diag(cov))
    if np.any(se == 0):
        raise InputError("meta-regression: a coefficient has standard error 0 (with the "
                         "Knapp-Hartung test this happens when the model fits the effects "
                         "exactly); use the z test")
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    btt = tuple(range(1, p)) if has_intercept and p > 1 else tuple(range(p))
    sub = cov[np.ix_(btt, btt)]
    b = beta[list(btt)]
    qm = float(b @ np.linalg.solve(sub, b))
    m = len(btt)
    tail = 1 - (1 - level) / 2
    if test == "knha":
        df: int | None = k - p
        qm /= m
        qm_p = float(special.fdtrc(m, k - p, qm))
        pvals = 2 * special.stdtr(k - p, -np.abs(stat))
        crit = float(special.stdtrit(k - p, tail))
    else:
        df = None
        qm_p = float(special.chdtrc(m, qm))
        pvals = 2 * special.ndtr(-np.abs(stat))
        crit = float(special.ndtri(tail))
    coefs = tuple(Coefficient(str(n), float(b_), float(s), float(z), float(pv),
                              float(b_ - crit * s), float(b_ + crit * s))
                  for n, b_, s, z, pv in zip(names, beta, se, stat, pvals, strict=True))
    qe = wls(y, v, X, 0.0).rss
    i2, h2 = i2_h2(method, qe, k - p, tau2, v, X)
    r2 = _r2(y, v, X, method, tau2, tol) if with_r2 and has_intercept and p > 1 else None
    result = MetaRegression(
        method=method, test=test, measure=measure, level=level, k=k, coefficients=coefs,
        QM=qm, QM_df=m, QM_df2=df, QM_p=qm_p, QE=qe, QE_df=k - p,
        QE_p=float(special.chdtrc(k - p, qe)), tau2=tau2,
        se_tau2=se_tau2(method, y, v, X, tau2) if tau2_fixed is None else None, I2=i2, H2=h2,
        R2=r2, df=df, yi=frozen(y), vi=frozen(v), X=frozen(X), cov=frozen(cov),
        study_labels=labels_tuple(labels, k), btt=btt, s2w=s2w, tol=tol)
    check_finite({"QM": qm, "QE": qe, "tau^2": tau2, "I^2": i2, "H^2": h2,
                  **{f"coefficient {c.name}": c.estimate for c in coefs},
                  **{f"the SE of {c.name}": c.se for c in coefs}}, "meta-regression")
    return result


def _r2(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, tau2: float,
        tol: float) -> float:
    if method == "EE":
        return _adjusted_r2(y, X, 1 / v)
    tau2_re = tau2_of(method, y, v, intercept(y.size), tol)
    if tau2_re == 0:
        return 0.0
    return max(0.0, 100 * (tau2_re - tau2) / tau2_re)


def _adjusted_r2(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    """R's summary(lm(y ~ X, weights = w))$adj.r.squared, as a truncated percentage."""
    if np.var(y) == 0:
        return 0.0
    fit = wls(y, 1 / w, X, 0.0)
    fitted = y - fit.resid
    mean = np.dot(w, fitted) / w.sum()
    mss = float(np.dot(w, (fitted - mean) ** 2))
    rss = fit.rss
    k, p = X.shape
    r2 = mss / (mss + rss)
    return max(0.0, 100 * (1 - (1 - r2) * (k - 1) / (k - p)))


__all__ = ["INTERCEPT", "Coefficient", "MetaRegression", "design_matrix", "fit_design",
           "rma_mods"]
