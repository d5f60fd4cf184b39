"""The real book, built once per session: every page in HTML, every chapter in the PDF, and the
executed notebooks reproduce under nbval."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from minibook import page_title

from mscfm.pipeline import book
from mscfm.pipeline.toc import toc_files

pytestmark = pytest.mark.slow


def test_html_has_every_page_of_the_toc(built_book: Path) -> None:
    html = built_book / book.HTML_DIR
    assert (html / "index.html").is_file()
    for item in toc_files(built_book):
        page = html / f"{item}.html"
        assert page.is_file(), f"{page} missing"
        assert page_title(built_book, item).split(":")[0] in page.read_text(encoding="utf-8")


def test_executed_notebooks_reproduce_under_nbval(built_book: Path) -> None:
    executed = sorted((built_book / "book" / "_executed").glob("*.ipynb"))
    assert executed
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-sanitize-with",
            str(built_book / "nbval_sanitize.cfg"),
            "-p",
            "no:cacheprovider",
            "-q",
            "--nbval-cell-timeout=600",
            *map(str, executed),
        ],
        cwd=built_book,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
