"""A scratch copy of the project's data with a large registry table, and the peak memory of
`mscfm validate` on it (shared by the memory test and benchmarks/bench_validate.py)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

FIRST_NEW_NCT = 90_000_000  # above any real NCT number in the snapshot


def write_large_project(source: Path, dest: Path, rows: int) -> Path:
    """Copy data/ (without raw/) and references.bib from ``source`` into ``dest``; grow
    data/registry.csv to ``rows`` rows by repeating its rows under new, unused NCT numbers."""
    dest.mkdir(parents=True)
    shutil.copytree(source / "data", dest / "data", ignore=shutil.ignore_patterns("raw"))
    shutil.copy(source / "references.bib", dest / "references.bib")
    path = dest / "data" / "registry.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        header, *originals = list(csv.reader(handle))
    key = header.index("nct_id")
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for number in range(rows - len(originals)):
            row = list(originals[number % len(originals)])
            row[key] = f"NCT{FIRST_NEW_NCT + number:08d}"
            writer.writerow(row)
    return dest


# Runs the CLI in a fresh interpreter, which prints its own peak resident memory in KiB. It reads
# VmHWM, the high-water mark of its own address space: ru_maxrss would not do, as Linux carries
# it over from the parent through fork and exec (under a test session holding 500 MB, a 100 MB
# validate reported 503 MB).
_MEASURE = """
import resource, sys
from mscfm.cli import main
code = main(["validate", "--root", sys.argv[1]])
try:
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:  # not Linux: the rusage figure is the best there is
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(code, peak, file=sys.stderr)
"""


def measure_validate(root: Path) -> tuple[int, float, str]:
    """(exit code, peak resident memory in MB, stdout) of `mscfm validate --root root`."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(root)], capture_output=True,
                          text=True)
    if not done.stderr.split()[-2:][0].lstrip("-").isdigit():
        raise RuntimeError(f"validate crashed:\n{done.stderr[-3000:]}")
    code, kib = done.stderr.split()[-2:]
    return int(code), int(kib) / 1024, done.stdout
