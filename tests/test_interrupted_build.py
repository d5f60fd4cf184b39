"""A failed or interrupted build leaves the last good book in place and says where to look.

Each test starts from a mini project that has been built once (the "last good book"), then
breaks a build mid-way through the real command line: Ctrl-C after execution and before
publishing, a kernel that dies, a build worker that is killed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import add_chapter, make_mini_project
from minibook import CHECKS

from mscfm.cli import main
from mscfm.pipeline import book
from mscfm.pipeline.build import BuildOptions, run_build

REPORTS = "_build/reports"


@pytest.fixture(scope="module")
def good_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_mini_project(tmp_path_factory.mktemp("good") / "mini")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MSCFM_ROOT", str(root))
        run_build(root, BuildOptions(pdf=False, jobs=1))
    return root


@pytest.fixture
def project(good_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built mini project, ready to be broken."""
    root = tmp_path / "mini"
    shutil.copytree(good_book, root)
    monkeypatch.setenv("MSCFM_ROOT", str(root))
    return root


def published(root: Path) -> dict[str, bytes]:
    html = root / book.HTML_DIR
    return {str(p.relative_to(html)): p.read_bytes() for p in sorted(html.rglob("*"))
            if p.is_file()}


def run_cli(args: list[str], capfd: pytest.CaptureFixture) -> tuple[int, str]:
    code = main(args)
    captured = capfd.readouterr()
    return code, captured.out + captured.err


def test_ctrl_c_before_publishing_keeps_the_last_good_book(
    project: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = published(project)
    assert any(name.endswith("01_good.html") for name in before)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(book, "publish", interrupted)
    code, output = run_cli(["build", "--no-pdf", "--force"], capfd)
    assert code == 130
    assert "interrupted" in output
    assert str(project / REPORTS) in output, f"no pointer to the failure report:\n{output}"
    assert published(project) == before
    assert "Traceback" not in output


def _add_chapter(root: Path, name: str) -> None:
    add_chapter(root, CHECKS / "notebooks" / f"{name}.ipynb")


def test_a_dead_kernel_is_reported_and_the_book_kept(
    project: Path, capfd: pytest.CaptureFixture
) -> None:
    before = published(project)
    _add_chapter(project, "06_kernel_dies")
    code, output = run_cli(["build", "--no-pdf"], capfd)
    assert code != 0
    assert "chapter 06_kernel_dies failed" in output
    assert "DeadKernelError" in output or "kernel died" in output.lower()
    assert str(project / REPORTS) in output
    assert "Traceback" not in output
    assert published(project) == before


def test_a_killed_worker_is_reported_and_the_book_kept(
    project: Path, capfd: pytest.CaptureFixture
) -> None:
    before = published(project)
    _add_chapter(project, "07_worker_dies")
    code, output = run_cli(["build", "--no-pdf", "--only", "07_worker_dies"], capfd)
    assert code != 0
    assert "chapter 07_worker_dies" in output and "worker process died" in output
    assert str(project / REPORTS) in output, f"no pointer to the failure report:\n{output}"
    assert "Traceback" not in output
    assert published(project) == before
