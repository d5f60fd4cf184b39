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
    # A changed parameter changes the book (a forced re-run would give the same executed copy,
    # so the published book would already be up to date and nothing would be published).
    code, output = run_cli(["build", "--no-pdf", "-p", "scale=2"], capfd)
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


@pytest.mark.slow
def test_a_partly_deleted_html_folder_is_rebuilt(project: Path,
                                                 capfd: pytest.CaptureFixture) -> None:
    before = published(project)
    fingerprint = book.source_fingerprint(project, with_pdf=False)
    assert book.is_published(project, fingerprint, with_pdf=False)
    page = project / book.HTML_DIR / "book" / "_executed" / "01_good.html"
    page.unlink()  # index.html kept
    assert not book.is_published(project, fingerprint, with_pdf=False)
    code, output = run_cli(["build", "--no-pdf"], capfd)
    assert code == 0, output
    assert page.exists()
    assert set(published(project)) == set(before)


@pytest.mark.slow
def test_a_page_removed_from_the_toc_disappears_from_the_html(
    project: Path, capfd: pytest.CaptureFixture
) -> None:
    """The chapter is removed (notebook and _toc.yml entry): its page, executed copy and
    state go, although Sphinx's incremental build would keep the old page."""
    import yaml

    assert any("01_good" in name for name in published(project))
    toc_path = project / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    toc.pop("chapters")
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    (project / "notebooks" / "01_good.ipynb").unlink()
    code, output = run_cli(["build", "--no-pdf"], capfd)
    assert code == 0, output
    html = published(project)
    assert "index.html" in html
    assert not any("01_good" in name for name in html), sorted(html)
    assert not (project / "book" / "_executed" / "01_good.ipynb").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("errno_code", "text"), [(28, "No space left on device"),
                                                   (30, "Read-only file system")])
def test_disk_full_or_read_only_output_is_one_line_and_leaves_nothing_half_written(
    project: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
    errno_code: int, text: str
) -> None:
    before = published(project)
    real_copytree = shutil.copytree

    def failing(src: Path, dst: Path, *args: object, **kwargs: object) -> None:
        real_copytree(src, dst, *args, **kwargs)  # part of it written, then the disk is full
        raise OSError(errno_code, text, str(dst))

    monkeypatch.setattr(book.shutil, "copytree", failing)
    intro = project / "book" / "intro.md"
    intro.write_text(intro.read_text(encoding="utf-8") + "\nA changed page.\n", encoding="utf-8")
    code, output = run_cli(["build", "--no-pdf"], capfd)
    assert code == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], output
    assert "Traceback" not in output
    assert published(project) == before
    leftovers = [p.name for p in (project / "_build").iterdir() if p.name.endswith(".incoming")]
    assert leftovers == []


@pytest.mark.slow
def test_a_chapter_writing_into_its_declared_data_fails_the_build(
    project: Path, capfd: pytest.CaptureFixture
) -> None:
    import nbformat

    nb = nbformat.read(project / "notebooks" / "01_good.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "with open('data/values.csv', 'a', encoding='utf-8') as f:\n"
        "    f.write('z,9.5,doe2020mini,table 1\\n')"))
    nbformat.write(nb, project / "notebooks" / "01_good.ipynb")
    before = published(project)
    code, output = run_cli(["build", "--no-pdf"], capfd)
    assert code == 3, output
    assert "chapter 01_good changed its declared input data/values.csv" in output
    assert published(project) == before
