"""`kill -9` of a build at any moment leaves a project from which the next plain build succeeds,
and nothing the killed build started goes on writing (issue 15).

Each test runs the real command line in a child process on the mini project, kills it with
SIGKILL at a chosen moment (while a chapter executes, while Sphinx runs), and checks what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import add_chapter

from mscfm.paths import EXECUTED_DIR, HTML_DIR, WORK_DIR

pytestmark = pytest.mark.slow
MSCFM = [str(Path(sys.executable).with_name("mscfm"))]
STARTED = "sleepy-started"  # at the root: _build/ may not exist yet


def _sleepy_chapter(root: Path) -> None:
    """A chapter that says when it started and then runs for ``wait`` seconds."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["mscfm"] = {"inputs": [], "timeout": 120}
    params = nbformat.v4.new_code_cell("wait: float = 0.0  # seconds to run")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A chapter that takes its time"),
        params,
        nbformat.v4.new_code_cell(
            "import pathlib, time\n"
            f"pathlib.Path('{STARTED}').touch()\n"
            "time.sleep(wait)\n"
            "print('ran with', wait)"),
    ]
    source = root / "02_sleepy.ipynb"
    nbformat.write(nb, source)
    add_chapter(root, source)
    source.unlink()


def _build(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "MSCFM_ROOT": str(root)}
    return subprocess.Popen([*MSCFM, "build", "--no-pdf", "--jobs", "1", *args], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the build ended before {path.name}:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear in {timeout} s")
        time.sleep(0.05)


def _descendants(process: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(process.pid).children(recursive=True)


def _all_gone(processes: list[psutil.Process], timeout: float = 10) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for proc in alive:  # do not leave them behind for the next test
        proc.kill()
    return alive


def _plain_build_succeeds(root: Path) -> str:
    result = subprocess.run([*MSCFM, "build", "--no-pdf"], cwd=root, capture_output=True,
                            text=True, env={**os.environ, "MSCFM_ROOT": str(root)}, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_killed_while_executing_no_worker_survives_and_the_next_build_succeeds(
    mini_project: Path,
) -> None:
    root = mini_project
    _sleepy_chapter(root)
    _plain_build_succeeds(root)  # the last good book, run with the default wait = 0
    executed = root / EXECUTED_DIR / "02_sleepy.ipynb"
    good = executed.read_bytes()
    (root / STARTED).unlink()

    build = _build(root, "--force", "-p", "wait=4")  # a run under other parameters
    _wait_for(root / STARTED, build)
    children = _descendants(build)  # the pool worker and its kernel
    assert children, "no worker process found"
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    assert _all_gone(children) == [], "a worker or kernel outlived the killed build"
    time.sleep(5)  # past the killed run's own end: nothing may have finished it
    assert executed.read_bytes() == good
    out = _plain_build_succeeds(root)
    assert "unfinished run" in out or "executed 0" in out or "02_sleepy" in out
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
    assert "ran with 0.0" in text and "ran with 4" not in text


def test_killed_while_sphinx_runs_the_next_build_succeeds(mini_project: Path) -> None:
    root = mini_project
    _plain_build_succeeds(root)
    intro = root / "book" / "intro.md"
    intro.write_text(intro.read_text(encoding="utf-8") + "\nA new sentence.\n", "utf-8")
    build = _build(root)
    _wait_for(root / WORK_DIR / ".sphinx-in-progress", build)
    time.sleep(1.0)  # well inside Sphinx's run
    children = _descendants(build)
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    assert _all_gone(children) == [], "Sphinx outlived the killed build"
    _plain_build_succeeds(root)
    page = (root / HTML_DIR / "book" / "intro.html").read_text(encoding="utf-8")
    assert "A new sentence." in page
