"""Leave-one-out, cumulative meta-analysis and influence diagnostics (metafor ``leave1out``,
``cumul`` and ``influence``).

Every loop refits on a fresh index array per study, so memory stays O(k) whatever k (a k x k
mask would need k^2 bytes: 10 GB at k = 100,000).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from mscfm.errors import InputError
from mscfm.meta._core import _ToDict, intercept, jsonable, vector, wls
from mscfm.meta.model import MetaResult, fit
from mscfm.meta.regression import INTERCEPT, MetaRegression, fit_design


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


def _row(label: str, r: MetaResult) -> StudyFit:
    return StudyFit(label, r.k, r.estimate, r.se, r.stat, r.pval, r.ci_lb, r.ci_ub, r.Q,
                    r.Q_p, r.tau2, r.I2, r.H2)


def min_k_leave1out(method: str) -> int:
    """Studies needed so that every leave-one-out fit is a model of its kind."""
    return 2 if method == "EE" else 3


def _without(k: int) -> Iterator[tuple[int, np.ndarray]]:
    """(i, indices of all studies but i), one small array at a time."""
    everyone = np.arange(k)
    for i in range(k):
        yield i, np.delete(everyone, i)


def leave1out(result: MetaResult) -> tuple[StudyFit, ...]:
    """Refit the model leaving out each study in turn (metafor ``leave1out``); row i omits
    study i and carries its label."""
    need = min_k_leave1out(result.method)
    if result.k < need:
        raise InputError(f"leave-one-out needs k >= {need} for {result.method}, "
                         f"got k = {result.k}")
    y, v = np.asarray(result.yi), np.asarray(result.vi)
    labels = result.labels
    return tuple(_row(labels[i], fit(y[rest], v[rest], result.method, result.test,
                                     result.level, None, result.measure, result.tol))
                 for i, rest in _without(result.k))


def cumulative(result: MetaResult, order: ArrayLike | None = None) -> tuple[StudyFit, ...]:
    """Cumulative meta-analysis (metafor ``cumul``): studies added in increasing ``order``
    (stable, so ties keep input order); row j pools the first j studies and is labelled with
    the study added."""
    y, v = np.asarray(result.yi), np.asarray(result.vi)
    key = np.arange(result.k) if order is None else vector(order, "order")
    if key.size != result.k:
        raise InputError(f"order has {key.size} values for {result.k} studies")
    idx = np.argsort(key, kind="stable")
    labels = result.labels
    rows = []
    for j in range(1, result.k + 1):
        sel = idx[:j]
        test = result.test if j > 1 else "z"
        rows.append(_row(labels[idx[j - 1]],
                         fit(y[sel], v[sel], result.method, test, result.level, None,
                             result.measure, result.tol)))
    return tuple(rows)


# --------------------------------------------------------------------------- influence

@dataclass(frozen=True)
class InfluenceRow(_ToDict):
    """Case diagnostics of one study (metafor ``influence(rma)``); None where the model
    without the study cannot be fitted (e.g. it was the only study of a factor level)."""

    study: str
    rstudent: float | None  # externally standardised (deleted) residual
    dffits: float | None
    cooks_d: float | None
    cov_r: float | None
    tau2_del: float | None
    QE_del: float | None
    hat: float
    weight: float  # percent
    dfbetas: dict[str, float | None]
    influential: bool  # metafor's "*" mark

    def to_dict(self) -> dict:
        return {key: jsonable(value) for key, value in self.__dict__.items()}


@dataclass(frozen=True)
class _Model:
    """What the diagnostics need of a fitted model, with or without moderators."""

    y: np.ndarray
    v: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    beta: np.ndarray
    cov: np.ndarray  # includes the Knapp-Hartung factor
    tau2: float
    method: str
    test: str
    level: float
    labels: tuple[str, ...]
    weights: np.ndarray
    tol: float


def _as_model(model: MetaResult | MetaRegression) -> _Model:
    if isinstance(model, MetaRegression):
        return _Model(np.asarray(model.yi), np.asarray(model.vi), np.asarray(model.X),
                      model.names, model.beta, np.asarray(model.cov), model.tau2, model.method,
                      model.test, model.level, model.labels, model.weights(),
                      model.tol)
    return _Model(np.asarray(model.yi), np.asarray(model.vi), intercept(model.k), (INTERCEPT,),
                  np.array([model.estimate]), np.array([[model.se**2]]), model.tau2,
                  model.method, model.test, model.level, model.labels,
                  np.asarray(model.weights), model.tol)


def _deleted(m: _Model, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float,
                                                   float] | None:
    """beta, cov (with its Knapp-Hartung factor), tau^2, QE and s2w without one study."""
    X = m.X[rest]
    try:
        reg = fit_design(m.y[rest], m.v[rest], X, m.names, m.method, m.test, m.level,
                         tol=m.tol, with_r2=False)
    except (InputError, np.linalg.LinAlgError):
        return None
    return reg.beta, np.asarray(reg.cov), reg.tau2, reg.QE, reg.s2w


def hat_values(m: _Model) -> np.ndarray:
    fit_ = wls(m.y, m.v, m.X, m.tau2)
    h = np.einsum("ij,jk,ik->i", m.X, fit_.cov, m.X) * fit_.w
    h[h > 1 - 10 * np.finfo(float).eps] = 1.0
    return h


def influence(model: MetaResult | MetaRegression) -> tuple[InfluenceRow, ...]:
    """Influence diagnostics in input order, as metafor ``influence(rma)``: rstudent
    (deleted residual over its SE), DFFITS, Cook's distance and COVRATIO on the tested
    coefficients, tau^2 and QE without the study, hat value, weight and DFBETAS per
    coefficient."""
    m = _as_model(model)
    k, p = m.X.shape
    need = max(3, p + 2)  # every model without one study still has k > p
    if k < need:
        raise InputError(f"influence diagnostics need k >= {need} for this model, got k = {k}")
    hat = hat_values(m)
    pred_full = m.X @ m.beta
    btt = list(range(p))  # metafor: Cook's distance and COVRATIO over all coefficients
    svb = np.linalg.inv(m.cov[np.ix_(btt, btt)])
    det_full = float(np.linalg.det(m.cov[np.ix_(btt, btt)]))
    rows = []
    for i, rest in _without(k):
        deleted = _deleted(m, rest)
        if deleted is None:
            rows.append(InfluenceRow(m.labels[i], None, None, None, None, None, None,
                                     float(hat[i]), float(m.weights[i]),
                                     dict.fromkeys(m.names), False))
            continue
        beta_d, cov_d, tau2_d, qe_d, s2w_d = deleted
        xi = m.X[i]
        delpred = float(xi @ beta_d)
        resid = m.y[i] - delpred
        if abs(resid) < 100 * np.finfo(float).eps:
            resid = 0.0
        se_resid = np.sqrt(m.v[i] * s2w_d + float(xi @ cov_d @ xi) + tau2_d * s2w_d)
        dffits = (pred_full[i] - delpred) / np.sqrt(s2w_d * hat[i] * (tau2_d + m.v[i]))
        vb_del = wls(m.y, m.v, m.X, tau2_d).cov  # all k studies, tau^2 of the deleted fit
        dfb = m.beta - beta_d
        dfbetas = dfb / np.sqrt(s2w_d * np.diag(vb_del))
        cook = float(dfb[btt] @ svb @ dfb[btt])
        cov_r = float(np.linalg.det(cov_d[np.ix_(btt, btt)])) / det_full
        rows.append(InfluenceRow(
            m.labels[i], float(resid / se_resid), float(dffits), cook, cov_r, float(tau2_d),
            float(qe_d), float(hat[i]), float(m.weights[i]),
            {name: float(x) for name, x in zip(m.names, dfbetas, strict=True)},
            _influential(dffits, cook, hat[i], dfbetas, k, p, len(btt))))
    return tuple(rows)


def _influential(dffits: float, cook: float, hat: float, dfbetas: np.ndarray, k: int, p: int,
                 m: int) -> bool:
    """metafor's rule for marking a study as influential."""
    return bool(abs(dffits) > 3 * np.sqrt(p / (k - p)) or special.chdtr(m, cook) > 0.5
                or hat > 3 * p / k or np.any(np.abs(dfbetas) > 1))


__all__ = ["InfluenceRow", "StudyFit", "cumulative", "hat_values", "influence", "leave1out",
           "min_k_leave1out"]
