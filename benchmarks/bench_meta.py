"""Time the pooling engine (mscfm.meta) against statsmodels on the same data.

Run by hand (not a test):  .venv/bin/python benchmarks/bench_meta.py
Prints one row per (k, analysis): best-of-N wall time in ms and the ratio ours/statsmodels
("n/a" where statsmodels has no counterpart), then the peak memory of leave-one-out.

Rows: REML, DL and PM (statsmodels combine_effects); Mantel-Haenszel OR (statsmodels
StratifiedTable, which computes the same Robins-Breslow-Greenland estimate); Peto; a
meta-regression with two moderators by REML and, against statsmodels WLS, by EE.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
from statsmodels.regression.linear_model import WLS
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.meta_analysis import combine_effects

from mscfm import meta

SEED = 20240601
SIZES = (10, 100, 1_000, 10_000)
LEAVE1OUT_K = 10_000


def data(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Heterogeneous studies: true tau^2 = 0.1, within-study variances 0.01-0.5."""
    rng = np.random.default_rng(SEED + k)
    vi = rng.uniform(0.01, 0.5, k)
    yi = rng.normal(0.3, np.sqrt(0.1 + vi))
    return yi, vi


def tables(k: int) -> dict[str, np.ndarray]:
    """2x2 tables with 20-200 participants per arm and event risks around 10%."""
    rng = np.random.default_rng(SEED - k)
    n1, n2 = rng.integers(20, 200, k), rng.integers(20, 200, k)
    return {"ai": rng.binomial(n1, 0.12), "n1i": n1, "ci": rng.binomial(n2, 0.08), "n2i": n2}


def moderators(k: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED * 2 + k)
    return {"dose": rng.uniform(10, 100, k), "year": rng.integers(2000, 2025, k).astype(float)}


def best_ms(fn: Callable[[], object], budget_s: float = 0.5, max_repeats: int = 200) -> float:
    fn()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats and (time.perf_counter() - start < budget_s or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def row(k: int, name: str, ours: Callable[[], object], theirs: Callable[[], object] | None
        ) -> None:
    ours_ms = best_ms(ours)
    if theirs is None:
        sm, ratio = "n/a", "n/a"
    else:
        sm_ms = best_ms(theirs)
        sm, ratio = f"{sm_ms:.3f}", f"{ours_ms / sm_ms:.2f}"
    print(f"{k:>6}  {name:<14} {ours_ms:>9.3f} {sm:>15} {ratio:>7}")


def stratified(t: dict[str, np.ndarray]) -> StratifiedTable:
    a, c = t["ai"], t["ci"]
    cube = np.array([[a, t["n1i"] - a], [c, t["n2i"] - c]], dtype=float)
    return StratifiedTable(cube)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"{'k':>6}  {'analysis':<14} {'ours ms':>9} {'statsmodels ms':>15} {'ratio':>7}")
    for k in SIZES:
        yi, vi = data(k)
        for method in ("REML", "DL", "PM"):
            theirs = None if method == "REML" else (
                lambda m=method, y=yi, v=vi: combine_effects(y, v, method_re=m.lower()))
            row(k, method, lambda m=method, y=yi, v=vi: meta.rma(y, v, method=m), theirs)
        t = tables(k)
        row(k, "MH OR", lambda t=t: meta.rma_mh(**t, measure="OR"),
            lambda t=t: (lambda s: (s.oddsratio_pooled, s.logodds_pooled_se))(stratified(t)))
        row(k, "Peto OR", lambda t=t: meta.rma_peto(**t), None)
        mods = moderators(k)
        X = np.column_stack([np.ones(k), mods["dose"], mods["year"]])
        row(k, "metareg REML", lambda y=yi, v=vi, m=mods: meta.rma_mods(y, v, m), None)
        row(k, "metareg EE", lambda y=yi, v=vi, m=mods: meta.rma_mods(y, v, m, method="EE"),
            lambda y=yi, v=vi, X=X: WLS(y, X, weights=1 / v).fit().bse)
    yi, vi = data(LEAVE1OUT_K)
    fit = meta.rma(yi, vi, method="EE")
    tracemalloc.start()
    t0 = time.perf_counter()
    meta.leave1out(fit)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\nleave1out, EE, k = {LEAVE1OUT_K:,}: {seconds:.1f} s, peak traced memory "
          f"{peak / 1e6:.1f} MB (a k x k mask alone would be {LEAVE1OUT_K**2 / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
