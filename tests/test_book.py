"""The real book, built once per session: every page in HTML, every chapter in the PDF, and the
executed notebooks reproduce under nbval."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from minibook import glue_figure_names, page_title

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


def test_each_figure_is_shown_once_and_key_numbers_never(built_book: Path) -> None:
    """Outside the book a figure is also an output of its cell, and key numbers are listed
    under the cells; in the book each figure appears only where its directive pastes it."""
    html = built_book / book.HTML_DIR
    wrong = {}
    chapters = [item for item in toc_files(built_book) if "_executed/" in item]
    for item in chapters:
        page = (html / f"{item}.html").read_text(encoding="utf-8")
        figures = glue_figure_names(built_book / "notebooks" / f"{Path(item).name}.ipynb")
        images = re.findall(r'<img [^>]*src="[^"]*_images/', page)
        if len(images) != len(figures) or "mscfm-key-numbers" in page:
            wrong[item] = f"{len(images)} images for figures {figures}" + (
                "; key numbers shown" if "mscfm-key-numbers" in page else "")
    assert chapters and not wrong, wrong


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
