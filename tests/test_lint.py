"""The code base stays ruff-clean (package, tests, scripts, benchmarks and chapter notebooks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_ruff_reports_nothing(project_root: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "src", "tests", "scripts", "benchmarks", "notebooks"],
        cwd=project_root, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
