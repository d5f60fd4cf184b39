"""Dask is an optional extra: without it, `mscfm sweep --scheduler` says in one line how to
install it, and the default lock does not install it."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from mscfm.cli import main

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = "pip install -e '.[cluster]' -c constraints.txt"


def test_sweep_on_a_scheduler_without_dask_says_how_to_install_it(
        mini_project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    code = main(["sweep", "01_good", "-p", "scale=1,2", "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code != 0
    error = err.strip().splitlines()[-1]
    assert error.startswith("mscfm sweep: error: --scheduler needs Dask")
    assert INSTALL_HINT in error and "Traceback" not in err
    assert not list((mini_project / "_build" / "sweeps").glob("*/*.ipynb"))  # nothing ran


def test_dask_is_the_cluster_extra_pinned_in_constraints_not_in_requirements() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = project["optional-dependencies"]["cluster"]
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    for pin in extra:
        assert pin in constraints
        assert pin.split("==")[0] not in requirements
    assert INSTALL_HINT in requirements
