"""Effect sizes with metafor ``escalc`` conventions (numpy/scipy only).

Every function returns :class:`EffectSizes` (``yi``, ``vi``, study labels). Invalid input raises
:class:`mscfm.errors.InputError` naming the row and column, so a CSV user can find the cell.

Conventions (metafor 5.x ``escalc`` defaults unless noted):

- RR, OR, RD: 1/2 is added to every cell of a study that has a zero cell (``add=1/2,
  to="only0"``). Studies with no events (or only events) in both arms are kept, with the 1/2
  added, as metafor's ``escalc`` keeps them (``drop00=FALSE``); ``drop00=True`` drops them, as
  the Cochrane Handbook advises for ratio measures (such a study says nothing about which arm
  has the higher risk).
- RD uses the large-sample variance ``p1(1-p1)/n1 + p2(1-p2)/n2``.
- SMD is Hedges' g with the exact bias correction ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``
  and metafor's default large-sample variance ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``.
- MD uses unpooled SDs by default (``vtype="LS"``); ``vtype="HO"`` assumes equal variances.

Numbers given as text (a CSV cell) must be plain decimals such as ``12``, ``-0.5`` or ``1e-3``:
Python's ``float`` would also take ``1_000``, ``nan`` or ``inf``, which no spreadsheet writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from mscfm.errors import InputError

RATIO_MEASURES = frozenset({"RR", "OR"})
MEASURES = ("GEN", "RR", "OR", "RD", "SMD", "MD")
BINARY_MEASURES = ("RR", "OR", "RD", "PETO")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Effect sizes on the analysis scale (log scale for RR and OR) and their variances."""

    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...]
    measure: str
    dropped: tuple[str, ...] = field(default=())  # labels of studies left out (double zero)
    kept_rows: tuple[int, ...] = field(default=())  # 0-based input index of each kept study

    @property
    def k(self) -> int:
        return int(self.yi.size)

    def to_dict(self) -> dict:
        return {"measure": self.measure, "labels": list(self.labels),
                "yi": self.yi.tolist(), "vi": self.vi.tolist(), "dropped": list(self.dropped)}


# --------------------------------------------------------------------------- validation helpers

def _where(i: int, column: str, source: str | None, first_row: int) -> str:
    prefix = f"{source}: " if source else ""
    return f"{prefix}row {i + first_row}, column '{column}'"


def as_numbers(values: ArrayLike, column: str, source: str | None = None, first_row: int = 1
               ) -> np.ndarray:
    """A 1-D float array; missing, non-numeric or non-finite cells are an error naming the
    cell (``first_row`` is the number of the first value's row in the caller's file)."""
    numeric = np.asarray(values) if not isinstance(values, (str, bytes)) else None
    if numeric is not None and numeric.dtype.kind in "iuf" and numeric.ndim <= 1:
        out = np.atleast_1d(numeric.astype(float))  # numbers already: check them in one pass
        bad = ~np.isfinite(out)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{_where(i, column, source, first_row)}: expected a finite "
                             f"number, got {out[i]!r}")
        return out
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    if arr.ndim != 1:
        raise InputError(f"column '{column}' must be one-dimensional")
    out = np.empty(arr.size, dtype=float)
    for i, value in enumerate(arr):
        try:
            if isinstance(value, str) and not PLAIN_NUMBER.fullmatch(value.strip()):
                raise ValueError(value)
            out[i] = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{_where(i, column, source, first_row)}: expected a number "
                             f"(plain decimal such as 12, -0.5 or 1e-3), got {value!r}") from None
        if not np.isfinite(out[i]):
            raise InputError(f"{_where(i, column, source, first_row)}: expected a finite number, "
                             f"got {value!r}")
    return out


def _columns(source: str | None, first_row: int, **columns: ArrayLike) -> dict[str, np.ndarray]:
    arrays = {name: as_numbers(v, name, source, first_row) for name, v in columns.items()}
    sizes = {a.size for a in arrays.values()}
    if len(sizes) != 1:
        detail = ", ".join(f"{name}={a.size}" for name, a in arrays.items())
        raise InputError(f"{source + ': ' if source else ''}columns differ in length ({detail})")
    return arrays


def _check(bad: np.ndarray, column: str, expected: str, values: np.ndarray,
           source: str | None, first_row: int) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{_where(i, column, source, first_row)}: expected {expected}, "
                         f"got {values[i]:g}")


def _labels(labels: Sequence[str] | None, k: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    labels = tuple(str(x) for x in labels)
    if len(labels) != k:
        raise InputError(f"got {len(labels)} study labels for {k} studies")
    return labels


# --------------------------------------------------------------------------- measures

def generic(yi: ArrayLike, vi: ArrayLike, labels: Sequence[str] | None = None, *,
            source: str | None = None, first_row: int = 1) -> EffectSizes:
    """Precomputed effect sizes (metafor's ``yi``/``vi``); variances must be positive."""
    cols = _columns(source, first_row, yi=yi, vi=vi)
    _check(cols["vi"] <= 0, "vi", "a positive sampling variance", cols["vi"], source, first_row)
    k = cols["yi"].size
    return EffectSizes(cols["yi"], cols["vi"], _labels(labels, k), "GEN",
                       kept_rows=tuple(range(k)))


def counts_2x2(ai: ArrayLike, ci: ArrayLike, *, bi: ArrayLike | None = None,
               di: ArrayLike | None = None, n1i: ArrayLike | None = None,
               n2i: ArrayLike | None = None, source: str | None = None, first_row: int = 1
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated cells a, b, c, d of each study's 2x2 table, from events ``ai``/``ci`` with
    either non-events ``bi``/``di`` or group sizes ``n1i``/``n2i`` (group 1 = treatment)."""
    if bi is not None and di is not None:
        cols = _columns(source, first_row, ai=ai, bi=bi, ci=ci, di=di)
        for name in ("ai", "bi", "ci", "di"):
            _check(cols[name] < 0, name, "a count >= 0", cols[name], source, first_row)
        a, b, c, d = cols["ai"], cols["bi"], cols["ci"], cols["di"]
        _check((a + b) <= 0, "bi", "a group with at least one participant", b, source,
               first_row)
        _check((c + d) <= 0, "di", "a group with at least one participant", d, source,
               first_row)
        return a, b, c, d
    if n1i is not None and n2i is not None:
        cols = _columns(source, first_row, ai=ai, n1i=n1i, ci=ci, n2i=n2i)
        for name in ("ai", "ci"):
            _check(cols[name] < 0, name, "a count >= 0", cols[name], source, first_row)
        for name in ("n1i", "n2i"):
            _check(cols[name] <= 0, name, "a group size > 0", cols[name], source, first_row)
        _check(cols["ai"] > cols["n1i"], "ai", "events <= n1i", cols["ai"], source, first_row)
        _check(cols["ci"] > cols["n2i"], "ci", "events <= n2i", cols["ci"], source, first_row)
        a, c = cols["ai"], cols["ci"]
        return a, cols["n1i"] - a, c, cols["n2i"] - c
    raise InputError("give either bi and di (non-events) or n1i and n2i (group sizes)")


def binary(measure: str, ai: ArrayLike, ci: ArrayLike, *, bi: ArrayLike | None = None,
           di: ArrayLike | None = None, n1i: ArrayLike | None = None,
           n2i: ArrayLike | None = None, labels: Sequence[str] | None = None,
           source: str | None = None, first_row: int = 1, drop00: bool = False) -> EffectSizes:
    """RR, OR, RD (or Peto's log OR, ``PETO``) from a 2x2 table per study: events
    ``ai``/``ci`` with either non-events ``bi``/``di`` or group sizes ``n1i``/``n2i`` (group 1
    = treatment). ``drop00=True`` leaves out studies with no events (or only events) in both
    groups, for every measure, as metafor's ``escalc(drop00=TRUE)`` does."""
    measure = measure.upper()
    if measure not in BINARY_MEASURES:
        raise InputError(f"measure must be RR, OR or RD, got {measure!r}")
    a, b, c, d = counts_2x2(ai, ci, bi=bi, di=di, n1i=n1i, n2i=n2i, source=source,
                            first_row=first_row)
    k = a.size
    names = _labels(labels, k)
    keep = ~double_zero(a, b, c, d) if drop00 else np.ones(k, dtype=bool)
    a, b, c, d = (x[keep].astype(float) for x in (a, b, c, d))
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    a, b, c, d = (np.where(zero, x + 0.5, x) for x in (a, b, c, d))
    n1, n2 = a + b, c + d
    if measure == "RR":
        yi = np.log(a / n1) - np.log(c / n2)
        vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    elif measure == "OR":
        yi = np.log(a * d / (b * c))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    elif measure == "PETO":
        n = n1 + n2
        expected = (a + c) * n1 / n
        variance = (a + c) * (b + d) * (n1 / n) * (n2 / n) / (n - 1)
        yi, vi = (a - expected) / variance, 1 / variance
    else:
        p1, p2 = a / n1, c / n2
        yi = p1 - p2
        vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    kept = tuple(int(i) for i in np.flatnonzero(keep))
    dropped = tuple(names[i] for i in np.flatnonzero(~keep))
    return EffectSizes(yi, vi, tuple(names[i] for i in kept), measure, dropped, kept)


def double_zero(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Studies with no events, or only events, in both groups."""
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def hedges_j(m: ArrayLike) -> np.ndarray:
    """Exact small-sample correction J(m) for Hedges' g, m = n1 + n2 - 2 degrees of freedom."""
    m = np.asarray(m, dtype=float)
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def _check_means(cols: dict[str, np.ndarray], source: str | None, first_row: int) -> None:
    for name in ("sd1i", "sd2i"):
        _check(cols[name] <= 0, name, "a standard deviation > 0", cols[name], source, first_row)
    for name in ("n1i", "n2i"):
        _check(cols[name] < 2, name, "a group size >= 2", cols[name], source, first_row)


def smd(m1i: ArrayLike, sd1i: ArrayLike, n1i: ArrayLike, m2i: ArrayLike, sd2i: ArrayLike,
        n2i: ArrayLike, labels: Sequence[str] | None = None, *, vtype: str = "LS",
        source: str | None = None, first_row: int = 1) -> EffectSizes:
    """Hedges' g (group 1 minus group 2) with metafor's exact J.

    ``vtype="LS"`` (metafor default): ``1/n1 + 1/n2 + g^2/(2(n1+n2))``;
    ``vtype="UB"``: unbiased ``1/n1 + 1/n2 + (1 - (m-2)/(m J^2)) g^2``.
    """
    cols = _columns(source, first_row, m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i)
    _check_means(cols, source, first_row)
    n1, n2 = cols["n1i"], cols["n2i"]
    m = n1 + n2 - 2
    sd_pooled = np.sqrt(((n1 - 1) * cols["sd1i"] ** 2 + (n2 - 1) * cols["sd2i"] ** 2) / m)
    j = hedges_j(m)
    yi = j * (cols["m1i"] - cols["m2i"]) / sd_pooled
    if vtype == "LS":
        vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    elif vtype == "UB":
        vi = 1 / n1 + 1 / n2 + (1 - (m - 2) / (m * j**2)) * yi**2
    else:
        raise InputError(f"vtype for SMD must be 'LS' or 'UB', got {vtype!r}")
    k = yi.size
    return EffectSizes(yi, vi, _labels(labels, k), "SMD", kept_rows=tuple(range(k)))


def md(m1i: ArrayLike, sd1i: ArrayLike, n1i: ArrayLike, m2i: ArrayLike, sd2i: ArrayLike,
       n2i: ArrayLike, labels: Sequence[str] | None = None, *, vtype: str = "LS",
       source: str | None = None, first_row: int = 1) -> EffectSizes:
    """Raw mean difference (group 1 minus group 2).

    ``vtype="LS"`` (metafor default): ``sd1^2/n1 + sd2^2/n2``; ``vtype="HO"``: pooled SD.
    """
    cols = _columns(source, first_row, m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i)
    _check_means(cols, source, first_row)
    n1, n2, s1, s2 = cols["n1i"], cols["n2i"], cols["sd1i"], cols["sd2i"]
    yi = cols["m1i"] - cols["m2i"]
    if vtype == "LS":
        vi = s1**2 / n1 + s2**2 / n2
    elif vtype == "HO":
        sp2 = ((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2)
        vi = sp2 * (1 / n1 + 1 / n2)
    else:
        raise InputError(f"vtype for MD must be 'LS' or 'HO', got {vtype!r}")
    k = yi.size
    return EffectSizes(yi, vi, _labels(labels, k), "MD", kept_rows=tuple(range(k)))


# --------------------------------------------------------------------------- conversions

def _critical(level: float, dist: str, df: ArrayLike | None) -> np.ndarray:
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    q = 1 - (1 - level) / 2
    if dist == "z":
        return np.asarray(stats.norm.ppf(q))
    if dist == "t":
        if df is None:
            raise InputError("dist='t' needs degrees of freedom (or n)")
        df = np.asarray(df, dtype=float)
        if np.any(df < 1):
            raise InputError("degrees of freedom for dist='t' must be >= 1")
        return np.asarray(stats.t.ppf(q, df))
    raise InputError(f"dist must be 't' or 'z', got {dist!r}")


def sd_from_se(se: ArrayLike, n: ArrayLike) -> np.ndarray:
    """SD of one group from the standard error of its mean: ``se * sqrt(n)``."""
    se, n = np.asarray(se, dtype=float), np.asarray(n, dtype=float)
    if np.any(se <= 0) or np.any(n < 1):
        raise InputError("sd_from_se needs se > 0 and n >= 1")
    return se * np.sqrt(n)


def sd_from_ci(lb: ArrayLike, ub: ArrayLike, n: ArrayLike, dist: str = "t",
               level: float = 0.95) -> np.ndarray:
    """SD of one group from a CI of its mean (Cochrane Handbook 6.5.2.2): the CI half-width over
    the critical value gives the SE; t uses n - 1 degrees of freedom."""
    lb, ub, n = (np.asarray(x, dtype=float) for x in (lb, ub, n))
    if np.any(ub <= lb) or np.any(n < 2):
        raise InputError("sd_from_ci needs ub > lb and n >= 2")
    crit = _critical(level, dist, n - 1 if dist == "t" else None)
    return (ub - lb) / (2 * crit) * np.sqrt(n)


def from_ci(estimate: ArrayLike, lb: ArrayLike, ub: ArrayLike, *, level: float = 0.95,
            dist: str = "z", df: ArrayLike | None = None, log: bool = False,
            labels: Sequence[str] | None = None) -> EffectSizes:
    """A reported effect and its CI as ``yi``, ``vi`` (GEN). ``log=True`` for ratios (OR, RR, HR)
    reported on the natural scale: estimate and bounds are log-transformed first."""
    est, lo, hi = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (estimate, lb, ub))
    if log:
        if np.any(est <= 0) or np.any(lo <= 0):
            raise InputError("ratios reported on the natural scale must be > 0 (log=True)")
        est, lo, hi = np.log(est), np.log(lo), np.log(hi)
    if np.any(hi <= lo) or np.any(est < lo) or np.any(est > hi):
        raise InputError("from_ci needs lb < estimate < ub")
    se = (hi - lo) / (2 * _critical(level, dist, df))
    return generic(est, se**2, labels)


def smd_from_md_ci(md_value: ArrayLike, lb: ArrayLike, ub: ArrayLike, n1i: ArrayLike,
                   n2i: ArrayLike, *, level: float = 0.95, dist: str = "t",
                   labels: Sequence[str] | None = None) -> EffectSizes:
    """Hedges' g from a reported mean difference and its CI: the pooled SD is recovered from the
    CI width (t with n1 + n2 - 2 df by default, Cochrane Handbook 6.5.2.3)."""
    est, lo, hi, n1, n2 = (np.atleast_1d(np.asarray(x, dtype=float))
                           for x in (md_value, lb, ub, n1i, n2i))
    if np.any(hi <= lo) or np.any(n1 < 2) or np.any(n2 < 2):
        raise InputError("smd_from_md_ci needs ub > lb and group sizes >= 2")
    m = n1 + n2 - 2
    se = (hi - lo) / (2 * _critical(level, dist, m if dist == "t" else None))
    sd_pooled = se / np.sqrt(1 / n1 + 1 / n2)
    yi = hedges_j(m) * est / sd_pooled
    vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    return EffectSizes(yi, vi, _labels(labels, yi.size), "SMD", kept_rows=tuple(range(yi.size)))


def escalc(measure: str, **columns: ArrayLike) -> EffectSizes:
    """Dispatch on ``measure`` with escalc column names (``labels``, ``source``, ``first_row``,
    ``vtype`` and, for RR, OR and RD, ``drop00`` are passed through)."""
    measure = measure.upper()
    options = {key: columns.pop(key) for key in ("labels", "source", "first_row", "vtype",
                                                  "drop00") if key in columns}
    source = options.get("source")
    required = {
        "GEN": ("yi", "vi"),
        "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
        "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    }
    if measure not in MEASURES:
        raise InputError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    if measure in ("RR", "OR", "RD"):
        options.pop("vtype", None)
        for name in ("ai", "ci"):
            if name not in columns:
                raise InputError(f"{source + ': ' if source else ''}missing column '{name}' "
                                 f"(measure {measure} needs ai, ci and bi, di or n1i, n2i)")
        return binary(measure, **columns, **options)
    missing = [name for name in required[measure] if name not in columns]
    if missing:
        raise InputError(f"{source + ': ' if source else ''}missing column '{missing[0]}' "
                         f"(measure {measure} needs {', '.join(required[measure])})")
    args = [columns[name] for name in required[measure]]
    options.pop("drop00", None)
    if measure == "GEN":
        options.pop("vtype", None)
        return generic(*args, **options)
    return (smd if measure == "SMD" else md)(*args, **options)
