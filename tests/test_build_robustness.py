"""The build never publishes a stale, partial or unsafe book (issue 15): change detection by
content, a relocatable and atomic rebuild state, one build at a time, leftovers of interrupted
builds, and the table of contents against the chapters.

Nothing here executes a notebook (``mark_executed`` fakes a good build), except where a test
says so; the kill tests are in tests/test_kill_build.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import add_chapter, mark_executed

from mscfm.errors import BuildError
from mscfm.paths import EXECUTED_DIR, LOCK_FILE, STATE_FILE
from mscfm.pipeline.build import BuildOptions, plan, run_build
from mscfm.pipeline.lock import BuildLock, BuildLocked
from mscfm.pipeline.notebooks import discover_chapters
from mscfm.pipeline.state import BuildState, clean_leftovers

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _reruns(root: Path, **kwargs) -> dict[str, str]:
    return {d.chapter.name: d.reason for d in plan(root, BuildOptions(**kwargs)) if d.rerun}


# --------------------------------------------------------------------------- never stale


def test_an_edit_that_keeps_size_and_mtime_is_detected(mini_project: Path) -> None:
    mark_executed(mini_project)
    values = mini_project / "data" / "values.csv"
    before = values.stat()
    text = values.read_text(encoding="utf-8")
    assert "2.5" in text
    values.write_text(text.replace("2.5", "3.5"), encoding="utf-8")  # same size
    os.utime(values, ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -r
    assert values.stat().st_size == before.st_size
    assert values.stat().st_mtime_ns == before.st_mtime_ns
    assert _reruns(mini_project) == {"01_good": "data changed: data/values.csv"}


def test_a_moved_checkout_reuses_every_chapter(mini_project: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mark_executed(mini_project)
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    shutil.move(mini_project, moved)
    monkeypatch.setenv("MSCFM_ROOT", str(moved))
    assert _reruns(moved) == {}
    assert str(mini_project) not in (moved / STATE_FILE).read_text(encoding="utf-8")


def test_an_executed_copy_written_by_anyone_else_is_re_run(mini_project: Path) -> None:
    """A run the state did not record (a stray worker, a hand edit) is never published as is."""
    mark_executed(mini_project)
    executed = mini_project / EXECUTED_DIR / "01_good.ipynb"
    executed.write_text('{"cells": []}', encoding="utf-8")
    assert _reruns(mini_project) == {
        "01_good": "executed copy changed since the build that made it"}
    executed.unlink()
    assert _reruns(mini_project) == {"01_good": "executed copy missing"}


@pytest.mark.parametrize("content", ["", "{", '{"version": 1, "chapters": []}', "[1, 2]",
                                     '{"version": 1, "chapters": {"01_good": 3}}'])
def test_a_corrupt_state_is_set_aside_in_one_line_and_chapters_re_run(
    mini_project: Path, content: str, capfd: pytest.CaptureFixture
) -> None:
    mark_executed(mini_project)
    state = mini_project / STATE_FILE
    state.write_text(content, encoding="utf-8")
    assert _reruns(mini_project) == {"01_good": "never executed"}
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt" in err[0] and "set aside" in err[0], err
    assert state.with_name(state.name + ".corrupt").read_text(encoding="utf-8") == content
    mark_executed(mini_project)  # and the next save works
    assert _reruns(mini_project) == {}


def test_the_state_is_written_atomically(mini_project: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """A save interrupted at the worst moment leaves the previous state, whole."""
    mark_executed(mini_project)
    path = mini_project / STATE_FILE
    good = path.read_text(encoding="utf-8")
    state = BuildState(mini_project)
    state.forget("01_good")

    def killed(*args: object) -> None:
        raise KeyboardInterrupt  # as if the process died during the rename

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        state.save()
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == good
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


# --------------------------------------------------------------------------- one build at a time


def test_a_second_build_exits_2_naming_the_holder(mini_project: Path,
                                                  capfd: pytest.CaptureFixture) -> None:
    from mscfm.cli import main

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from mscfm.pipeline.lock import BuildLock;"
         "lock = BuildLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True);"
         "time.sleep(60)", str(mini_project)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main(["build", "--no-pdf"])
        err = capfd.readouterr().err.strip()
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert "another build is running" in err and f"pid {holder.pid}" in err
    assert not (mini_project / EXECUTED_DIR).exists()  # nothing ran


def test_a_lock_left_by_a_killed_build_is_taken_over(mini_project: Path,
                                                     capfd: pytest.CaptureFixture) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from mscfm.pipeline.lock import BuildLock;"
         "BuildLock(Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)",
         str(mini_project)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()  # kill -9: the lock file stays, with the dead holder's pid
    holder.wait()
    assert str(holder.pid) in (mini_project / LOCK_FILE).read_text(encoding="utf-8")
    with BuildLock(mini_project):
        err = capfd.readouterr().err
        assert "taking over the lock" in err and f"pid {holder.pid}" in err
        with pytest.raises(BuildLocked, match="another build is running"):
            BuildLock(mini_project).acquire()
    with BuildLock(mini_project):  # released: a clean lock, no notice
        assert capfd.readouterr().err == ""


# --------------------------------------------------------------------------- leftovers and TOC


def test_leftover_runs_and_copies_of_removed_chapters_are_cleaned(mini_project: Path) -> None:
    mark_executed(mini_project)
    folder = mini_project / EXECUTED_DIR
    (folder / "01_good.running.ipynb").write_text("{}", encoding="utf-8")
    (folder / "09_removed.ipynb").write_text("{}", encoding="utf-8")
    state = BuildState(mini_project)
    state.chapters["09_removed"] = {"deps": {}}
    lines = clean_leftovers(mini_project, discover_chapters(mini_project), state)
    assert sorted(p.name for p in folder.iterdir()) == ["01_good.ipynb"]
    assert len(lines) == 2 and "09_removed.ipynb" in lines[1]
    assert "09_removed" not in state.chapters


def test_the_colophon_lists_only_chapters_of_the_book(mini_project: Path) -> None:
    from mscfm import colophon

    mark_executed(mini_project)
    folder = mini_project / EXECUTED_DIR
    shutil.copy(mini_project / "notebooks" / "01_good.ipynb", folder / "01_good.ipynb")
    (folder / "01_good.running.ipynb").write_text("{}", encoding="utf-8")
    shutil.copy(mini_project / "notebooks" / "01_good.ipynb", folder / "09_removed.ipynb")
    assert [run.name for run in colophon.executed_parameters(mini_project)] == ["01_good"]


def test_a_notebook_missing_from_the_toc_is_an_error(mini_project: Path) -> None:
    shutil.copy(FIXTURES / "mini_chapters" / "02_bad.ipynb", mini_project / "notebooks")
    with pytest.raises(BuildError, match=r"_toc.yml does not match.*missing from it: 02_bad"):
        run_build(mini_project, BuildOptions(pdf=False))


def test_a_toc_entry_without_a_notebook_is_an_error(mini_project: Path) -> None:
    add_chapter(mini_project, FIXTURES / "mini_chapters" / "02_bad.ipynb")
    (mini_project / "notebooks" / "02_bad.ipynb").unlink()
    with pytest.raises(BuildError, match=r"lists chapters with no notebook.*: 02_bad"):
        run_build(mini_project, BuildOptions(pdf=False))


def test_state_names_no_absolute_path(mini_project: Path) -> None:
    mark_executed(mini_project)
    state = json.loads((mini_project / STATE_FILE).read_text(encoding="utf-8"))
    keys = [key for chapter in state["chapters"].values() for key in chapter["deps"]]
    assert keys and not [key for key in keys if key.startswith("/")]
