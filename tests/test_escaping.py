"""Text that comes from data is shown as text, in the HTML and in the PDF, never as markup.

The mini book's checks chapter shows, with ``mscfm.report.table``, a data row whose cells hold
HTML (``<b>bold</b>``), LaTeX (``\\textbf{x}``, ``$x$``, ``%``, ``_``, ``&``, ``~``, ``#``,
``^``) and MyST (``{glue:text}`...```) markup, under a column name with an underscore.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from minibook import CHAPTER, TRICKY_TEXTS, build_mini_book, html_dir, pdf_path


@pytest.fixture(scope="session")
def mini_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_mini_book(tmp_path_factory.getbasetemp())


class _TableText(HTMLParser):
    """Tags seen inside <table> elements, and the text of each cell."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.tags: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.depth += 1
        elif self.depth:
            self.tags.append(tag)
            if tag in ("td", "th"):
                self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _chapter_html(root: Path) -> str:
    return (html_dir(root) / "book" / "_executed" / f"{CHAPTER}.html").read_text(encoding="utf-8")


def test_data_text_is_escaped_in_the_html_source(mini_book: Path) -> None:
    page = _chapter_html(mini_book)
    for text in TRICKY_TEXTS:
        assert html.escape(text, quote=False) in page, text
    assert "<b>bold</b>" not in page


def test_data_text_is_cell_text_and_creates_no_elements(mini_book: Path) -> None:
    parser = _TableText()
    parser.feed(_chapter_html(mini_book))
    assert set(TRICKY_TEXTS) <= set(parser.cells), parser.cells
    assert "trial_title" in parser.cells  # a column name with '_' is a header, not LaTeX
    assert "b" not in parser.tags
    # No role was run on the data: a glue or ref role would leave a link or a span behind.
    assert "a" not in parser.tags


def _pdf_text(root: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: apt-get install poppler-utils")
    return subprocess.run(["pdftotext", "-raw", str(pdf_path(root)), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_data_text_is_printed_literally_in_the_pdf(mini_book: Path) -> None:
    # TeX prints a backtick as an opening quote; that is typography, not markup: undo it.
    text = " ".join(_pdf_text(mini_book).replace("‘", "`").replace("’", "'").split())
    for expected in TRICKY_TEXTS:
        assert expected in text, f"{expected!r} not printed literally in the PDF"
    assert "trial_title" in text
