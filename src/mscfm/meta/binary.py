"""Mantel-Haenszel (OR, RR, RD; metafor ``rma.mh``) and Peto (OR; ``rma.peto``) pooling of
2x2 tables: the Cochrane methods for sparse binary outcomes such as adverse events.

As in metafor, the pooled estimate uses the raw counts (no continuity correction; a study with
no events in either group adds nothing to the OR and RR sums but counts in the RD
denominators), and the heterogeneity test Q uses the study effects from ``escalc`` (1/2 added to
the cells of a study with a zero cell) weighted by 1/vi around the pooled estimate. ``drop00``
(default True, as ``rma.mh`` and ``rma.peto``) leaves studies with no events or only events in
both groups out of Q and its degrees of freedom. Variances: Robins-Breslow-Greenland (OR),
Greenland-Robins (RR), Sato-Greenland-Robins (RD), 1/sum(V) (Peto).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from mscfm import effects
from mscfm.errors import InputError
from mscfm.meta._core import (
    RATIO_MEASURES,
    _ToDict,
    check_finite,
    check_level,
    default_labels,
    frozen,
    jsonable,
)

MH_MEASURES = ("OR", "RR", "RD")


@dataclass(frozen=True, eq=False)
class BinaryPoolResult(_ToDict):
    """A Mantel-Haenszel or Peto pooled estimate (log scale for OR and RR)."""

    method: str  # "MH" or "PETO"
    measure: str  # OR, RR or RD (Peto: OR)
    level: float
    k: int  # tables pooled
    k_yi: int  # studies in the heterogeneity test
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lb: float
    ci_ub: float
    Q: float
    Q_df: int
    Q_p: float
    I2: float
    H2: float
    drop00: bool
    cmh: float | None = None  # Cochran-Mantel-Haenszel test (OR; with continuity correction)
    cmh_p: float | None = None
    tarone: float | None = None  # Tarone's test of homogeneous ORs
    tarone_p: float | None = None
    study_labels: tuple[str, ...] = field(default=(), repr=False)
    yi: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)  # escalc effects
    vi: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    kept_rows: tuple[int, ...] = field(default=(), repr=False)  # rows with a yi

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    @property
    def labels(self) -> tuple[str, ...]:
        return self.study_labels

    def back_transformed(self) -> dict[str, float]:
        f = np.exp if self.is_ratio else float
        return {key: float(f(getattr(self, key))) for key in ("estimate", "ci_lb", "ci_ub")}

    def summary(self) -> dict[str, Any]:
        keys = ("k", "k_yi", "method", "measure", "level", "estimate", "se", "stat", "pval",
                "ci_lb", "ci_ub", "Q", "Q_df", "Q_p", "I2", "H2", "drop00", "cmh", "cmh_p",
                "tarone", "tarone_p")
        return {key: jsonable(getattr(self, key)) for key in keys}


def _heterogeneity(measure: str, counts: dict[str, ArrayLike], beta: float, drop00: bool,
                   labels: Sequence[str]) -> tuple[effects.EffectSizes, float, int, float,
                                                    float, float]:
    es = effects.binary(measure, **counts, labels=labels, drop00=drop00)  # type: ignore[arg-type]
    k_yi = es.k
    if k_yi <= 1:
        return es, 0.0, max(k_yi - 1, 0), 1.0, 0.0, 1.0
    q = max(0.0, float(np.sum((es.yi - beta) ** 2 / es.vi)))
    df = k_yi - 1
    i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
    return es, q, df, float(special.chdtrc(df, q)), i2, q / df


def _z_summary(beta: float, se: float, level: float) -> tuple[float, float, float, float]:
    crit = float(special.ndtri(1 - (1 - level) / 2))
    stat = beta / se
    return stat, float(2 * special.ndtr(-abs(stat))), beta - crit * se, beta + crit * se


def _counts(ai: ArrayLike, ci: ArrayLike, bi: ArrayLike | None, di: ArrayLike | None,
            n1i: ArrayLike | None, n2i: ArrayLike | None, source: str | None, first_row: int
            ) -> tuple[np.ndarray, ...]:
    a, b, c, d = effects.counts_2x2(ai, ci, bi=bi, di=di, n1i=n1i, n2i=n2i, source=source,
                                    first_row=first_row)
    if a.size == 0:
        raise InputError("no studies to pool (k = 0)")
    return tuple(x.astype(float) for x in (a, b, c, d))


def rma_mh(ai: ArrayLike, ci: ArrayLike, *, bi: ArrayLike | None = None,
           di: ArrayLike | None = None, n1i: ArrayLike | None = None,
           n2i: ArrayLike | None = None, measure: str = "OR", level: float = 0.95,
           drop00: bool = True, labels: Sequence[str] | None = None,
           source: str | None = None, first_row: int = 1) -> BinaryPoolResult:
    """Mantel-Haenszel pooled OR, RR or RD (metafor ``rma.mh``)."""
    measure = measure.upper()
    if measure not in MH_MEASURES:
        raise InputError(f"the Mantel-Haenszel method needs measure OR, RR or RD, got "
                         f"{measure!r}")
    check_level(level)
    a, b, c, d = _counts(ai, ci, bi, di, n1i, n2i, source, first_row)
    n1, n2 = a + b, c + d
    n = n1 + n2
    extra: dict[str, float | None] = {}
    if measure == "OR":
        beta, se, extra = _mh_or(a, b, c, d)
    elif measure == "RR":
        r, s = float(np.sum(a * n2 / n)), float(np.sum(c * n1 / n))
        if a.sum() == 0 or c.sum() == 0:
            raise InputError("the Mantel-Haenszel risk ratio is undefined: no events in one "
                             "group of every study")
        beta = float(np.log(r / s))
        se = float(np.sqrt(np.sum(n1 / n * n2 / n * (a + c) - a / n * c) / (r * s)))
    else:
        denom = float(np.sum(n1 * n2 / n))
        beta = float(np.sum(a * n2 / n - c * n1 / n)) / denom
        se = float(np.sqrt((beta * np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2
                                         + n1 / n * n2 / n * (n2 - n1) / 2)
                            + np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2) / denom**2))
    return _result("MH", measure, level, a, b, c, d, beta, se, drop00, labels, extra)


def _mh_or(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray
           ) -> tuple[float, float, dict[str, float | None]]:
    n1, n2 = a + b, c + d
    n = n1 + n2
    ri, si = a / n * d, b / n * c
    r, s = float(ri.sum()), float(si.sum())
    if r == 0 or s == 0:
        raise InputError("the Mantel-Haenszel odds ratio is undefined: every study has a zero "
                         "in the same diagonal of its 2x2 table (e.g. no events in one group)")
    pi, qi = a / n + d / n, b / n + c / n
    psi = r / s
    se = float(np.sqrt(0.5 * (np.sum(pi * ri) / r**2 + np.sum(pi * si + qi * ri) / (r * s)
                              + np.sum(qi * si) / s**2)))
    xt, yt = a + c, b + d
    extra: dict[str, float | None] = {}
    if xt.sum() > 0 and yt.sum() > 0:
        num = (abs(float(np.sum(a - n1 / n * xt))) - 0.5) ** 2
        cmh = num / float(np.sum(n1 / n * n2 / n * xt * yt / (n - 1)))
        extra.update(cmh=cmh, cmh_p=float(special.chdtrc(1, cmh)))
    extra.update(_tarone(a, n1, n2, xt, yt, n, psi))
    return float(np.log(psi)), se, extra


def _tarone(a: np.ndarray, n1: np.ndarray, n2: np.ndarray, xt: np.ndarray, yt: np.ndarray,
            n: np.ndarray, psi: float) -> dict[str, float | None]:
    """Tarone's test of homogeneity of the ORs (metafor's TA, with Breslow-Day's N11)."""
    if psi == 1:
        n11 = n1 / n * xt
    else:
        big_a = psi * (n1 + xt) + (n2 - xt)
        big_b = np.sqrt(big_a**2 - 4 * n1 * xt * psi * (psi - 1))
        n11 = (big_a - big_b) / (2 * (psi - 1))
    pos = (n11 > 0) & (xt > 0) & (yt > 0)
    n11, a_pos = n11[pos], a[pos]
    n12, n21 = n1[pos] - n11, xt[pos] - n11
    n22 = n11 - n1[pos] - xt[pos] + n[pos]
    inv = 1 / n11 + 1 / n12 + 1 / n21 + 1 / n22
    bd = max(0.0, float(np.sum((a_pos - n11) ** 2 * inv)))
    ta = max(0.0, bd - float(np.sum(a_pos - n11)) ** 2 / float(np.sum(1 / inv)))
    k_pos = int(pos.sum())
    return {"tarone": ta, "tarone_p": float(special.chdtrc(k_pos - 1, ta)) if k_pos > 1
            else None}


def rma_peto(ai: ArrayLike, ci: ArrayLike, *, bi: ArrayLike | None = None,
             di: ArrayLike | None = None, n1i: ArrayLike | None = None,
             n2i: ArrayLike | None = None, level: float = 0.95, drop00: bool = True,
             labels: Sequence[str] | None = None, source: str | None = None,
             first_row: int = 1) -> BinaryPoolResult:
    """Peto's one-step pooled log odds ratio (metafor ``rma.peto``)."""
    check_level(level)
    a, b, c, d = _counts(ai, ci, bi, di, n1i, n2i, source, first_row)
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    expected = xt * n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, xt * yt * (n1 / n) * (n2 / n) / (n - 1), 0.0)
    total = float(var.sum())
    if total == 0:
        raise InputError("Peto's method cannot be used: one of the two outcomes never "
                         "occurred in any study")
    beta = float(np.sum(a - expected)) / total
    se = 1 / np.sqrt(total)
    pos = var > 0
    q = max(0.0, float(np.sum((a - expected)[pos] ** 2 / var[pos]))
            - float(np.sum(a - expected)) ** 2 / total)
    return _result("PETO", "OR", level, a, b, c, d, beta, float(se), drop00, labels, {},
                   peto_q=(q, int(pos.sum())))


def _result(method: str, measure: str, level: float, a: np.ndarray, b: np.ndarray,
            c: np.ndarray, d: np.ndarray, beta: float, se: float, drop00: bool,
            labels: Sequence[str] | None, extra: dict[str, float | None],
            peto_q: tuple[float, int] | None = None) -> BinaryPoolResult:
    k = a.size
    names = default_labels(k) if labels is None else tuple(str(x) for x in labels)
    if len(names) != k:
        raise InputError(f"got {len(names)} labels for {k} studies")
    counts = {"ai": a, "bi": b, "ci": c, "di": d}
    es, q, df, q_p, i2, h2 = _heterogeneity("PETO" if method == "PETO" else measure, counts,
                                            beta, drop00, names)
    if peto_q is not None:  # Peto's own Q; its df still counts the studies with a yi
        q, k_pos = peto_q
        df = max(es.k - 1, 0)
        if k_pos > 1 and df > 0:
            q_p = float(special.chdtrc(df, q))
            i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
            h2 = q / df
        else:
            q_p, i2, h2 = 1.0, 0.0, 1.0
    stat, pval, lb, ub = _z_summary(beta, se, level)
    result = BinaryPoolResult(method, measure, level, k, es.k, beta, se, stat, pval, lb, ub, q,
                              df, q_p, i2, h2, drop00, study_labels=names, yi=frozen(es.yi),
                              vi=frozen(es.vi), kept_rows=es.kept_rows,
                              **extra)  # type: ignore[arg-type]
    check_finite({"the estimate": beta, "its standard error": se, "Q": q, "I^2": i2,
                  "H^2": h2}, f"{'Mantel-Haenszel' if method == 'MH' else 'Peto'} pooling")
    return result


__all__ = ["MH_MEASURES", "BinaryPoolResult", "rma_mh", "rma_peto"]
