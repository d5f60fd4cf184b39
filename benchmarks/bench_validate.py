"""Time and peak memory of `mscfm validate` on a large table (default: 200,000 registry rows).

Run by hand (not a test):  .venv/bin/python benchmarks/bench_validate.py [--rows N] [--repeat R]
Builds a scratch copy of the project's data in a temporary folder, grows data/registry.csv to N
rows by repeating its rows under new NCT numbers, then runs `mscfm validate --root` in a fresh
interpreter and prints its wall time and peak resident memory (that process's ru_maxrss).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from large_table import measure_validate, write_large_project  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs (best time is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mscfm-bench-validate-") as tmp:
        root = write_large_project(ROOT, Path(tmp) / "project", args.rows)
        size_mb = (root / "data" / "registry.csv").stat().st_size / 1e6
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            code, peak_mb, out = measure_validate(root)
            runs.append((time.perf_counter() - start, peak_mb))
    best = min(seconds for seconds, _ in runs)
    peak = max(mb for _, mb in runs)
    print(f"mscfm validate, registry.csv with {args.rows:,} rows ({size_mb:.0f} MB)")
    print(f"  exit code {code}: {out.strip().splitlines()[-1] if out.strip() else '(no output)'}")
    print(f"  wall time {best:.1f} s (best of {len(runs)}), peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
