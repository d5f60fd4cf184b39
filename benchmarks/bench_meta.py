"""Time REML, DL and PM (mscfm.meta) against statsmodels' combine_effects on the same data.

Run by hand (not a test):  .venv/bin/python benchmarks/bench_meta.py
Prints one row per (k, method): best-of-N wall time in ms and the ratio ours/statsmodels.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
from statsmodels.stats.meta_analysis import combine_effects

from mscfm import meta

SEED = 20240601
SIZES = (10, 100, 1_000, 10_000)


def data(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Heterogeneous studies: true tau^2 = 0.1, within-study variances 0.01-0.5."""
    rng = np.random.default_rng(SEED + k)
    vi = rng.uniform(0.01, 0.5, k)
    yi = rng.normal(0.3, np.sqrt(0.1 + vi))
    return yi, vi


def best_ms(fn: Callable[[], object], budget_s: float = 0.5, max_repeats: int = 200) -> float:
    fn()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats and (time.perf_counter() - start < budget_s or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"{'k':>6}  {'method':<6} {'ours ms':>9} {'statsmodels ms':>15} {'ratio':>7}")
    for k in SIZES:
        yi, vi = data(k)
        for method in ("REML", "DL", "PM"):
            ours = best_ms(lambda m=method, y=yi, v=vi: meta.rma(y, v, method=m))
            if method == "REML":
                theirs, ratio = "n/a", "n/a"
            else:
                sm = best_ms(lambda m=method, y=yi, v=vi: combine_effects(
                    y, v, method_re=m.lower()))
                theirs, ratio = f"{sm:.3f}", f"{ours / sm:.2f}"
            print(f"{k:>6}  {method:<6} {ours:>9.3f} {theirs:>15} {ratio:>7}")


if __name__ == "__main__":
    main()
