"""Shared fixtures: the project root and a throw-away mini project for pipeline tests."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every machine (a CI run must not fail on an example
# a developer never saw); `pytest --hypothesis-profile=explore` searches afresh.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("repeatable")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module", autouse=True)
def no_event_loop_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module must not leave an asyncio loop running in the main thread (Playwright's sync API
    does while it is open): every later test that starts one (nbclient, JupyterLab) would fail."""
    yield
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    pytest.fail(f"{request.module.__name__} left an asyncio loop running: {loop!r}")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


def make_mini_project(dest: Path, extra_chapters: tuple[str, ...] = ()) -> Path:
    """A tiny report (one good chapter, one table) with the real _config.yml and assets."""
    shutil.copytree(FIXTURES / "miniproject", dest)
    shutil.copy(ROOT / "_config.yml", dest / "_config.yml")
    shutil.copytree(ROOT / "book" / "_vendor", dest / "book" / "_vendor")
    for name in extra_chapters:
        add_chapter(dest, FIXTURES / "mini_chapters" / f"{name}.ipynb")
    return dest


def add_chapter(root: Path, notebook: Path) -> Path:
    """Copy a chapter notebook into a project and list it in the project's _toc.yml."""
    import yaml

    shutil.copy(notebook, root / "notebooks")
    toc_path = root / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    entry = {"file": f"book/_executed/{notebook.stem}"}
    if entry not in toc["chapters"]:
        toc["chapters"].append(entry)
        toc_path.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    return root / "notebooks" / notebook.name


def mark_executed(root: Path, save_each: bool = False) -> None:
    """Record every chapter as executed and up to date, without running anything."""
    from mscfm.pipeline.build import BuildOptions, plan
    from mscfm.pipeline.state import BuildState

    state = BuildState(root)
    for decision in plan(root, BuildOptions()):
        executed = decision.chapter.executed_path(root)
        executed.parent.mkdir(parents=True, exist_ok=True)
        executed.write_text("{}", encoding="utf-8")
        state.record(decision)
        if save_each:
            state.save()
    state.save()


@pytest.fixture
def mini_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_mini_project(tmp_path / "mini")
    monkeypatch.setenv("MSCFM_ROOT", str(root))
    return root


# What a copy of the checkout leaves out: tools, caches and test output, none of them inputs.
_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "test-artifacts", "__pycache__",
                                     ".hypothesis", ".pytest_cache", ".ruff_cache", "*.lock")


@pytest.fixture(scope="session")
def built_book(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the real report once per test session (HTML and PDF), in a copy of the checkout,
    and return the copy's root. The tests never write into the checkout.

    The copy takes the checkout's executed chapters and rebuild state along (the state is
    relative to the root), so after `make book` only what changed since is executed again.
    """
    from mscfm.pipeline.build import BuildOptions, run_build

    copy = tmp_path_factory.mktemp("real-book") / "report"
    shutil.copytree(project_root, copy, ignore=_NOT_COPIED, symlinks=True)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MSCFM_ROOT", str(copy))
        run_build(copy, BuildOptions(pdf=True))
    return copy
