"""`mscfm validate` on a 200,000-row table stays under 500 MB (its time: benchmarks/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from large_table import measure_validate, write_large_project

ROOT = Path(__file__).resolve().parents[1]
ROWS = 200_000
LIMIT_MB = 500


@pytest.mark.slow
def test_validate_of_200000_rows_stays_under_500_mb(tmp_path: Path) -> None:
    root = write_large_project(ROOT, tmp_path / "project", ROWS)
    code, peak_mb, out = measure_validate(root)
    assert code == 0 and out.startswith("data valid:"), out[-2000:]
    assert peak_mb < LIMIT_MB, f"peak memory {peak_mb:.0f} MB"
