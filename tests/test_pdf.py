"""The PDF as readers see it: chapter titles, embedded figures, resolved references, a clean
LaTeX log. Page images go to test-artifacts/pdf/ for a look by eye."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from minibook import (
    ARTIFACTS,
    glue_figure_count,
    html_dir,
    latex_log,
    page_title,
    pdf_path,
    toc_pages,
)

from mscfm.report import SEARCHABLE_CLASS

MAX_OVERFULL_PT = 20.0
PAGE_IMAGES = ARTIFACTS / "pdf"


def _poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} not found: run `sudo bash scripts/system-deps.sh all` "
                    "(apt-get install poppler-utils)")
    result = subprocess.run([tool, *args], capture_output=True, text=True, check=True)
    return result.stdout


def _normalise(text: str) -> str:
    """Case- and whitespace-insensitive text, with TeX's typographic quotes and dashes undone."""
    text = text.translate(str.maketrans({"‘": "`", "’": "'", "“": '"', "”": '"', "–": "-",
                                         "—": "-", "ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff"}))
    return " ".join(text.split()).casefold()


@pytest.fixture(scope="session")
def pdf_text(built_book: Path) -> str:
    return _poppler("pdftotext", "-raw", str(pdf_path(built_book)), "-")


def test_every_chapter_title_is_in_the_pdf(built_book: Path, pdf_text: str) -> None:
    pages = toc_pages(built_book)[1:]  # the root page becomes the front matter, not a chapter
    titles = [page_title(built_book, docname) for docname in pages]
    text = _normalise(pdf_text)
    missing = [title for title in titles if _normalise(title) not in text]
    assert titles and not missing, f"chapter titles missing from the PDF: {missing}"


def test_every_glued_figure_is_embedded(built_book: Path) -> None:
    expected = glue_figure_count(built_book, toc_pages(built_book))
    listing = _poppler("pdfimages", "-list", str(pdf_path(built_book)))
    # Rows after the two header lines; 'smask' rows are the transparency of an image, not a figure.
    images = [line for line in listing.splitlines()[2:] if line.split()[2:3] == ["image"]]
    assert expected >= 1, "the book under test has no {glue:figure}: nothing is checked"
    # Equal, not at least: a figure shown where the code makes it and again where the prose
    # pastes it would be embedded twice.
    assert len(images) == expected, f"{expected} figures in the chapters, {len(images)} in the PDF"


def test_no_unresolved_references(pdf_text: str) -> None:
    hits = [line for line in pdf_text.splitlines() if "??" in line]
    assert not hits, f"unresolved references in the PDF: {hits[:10]}"


def _overfull_in_tables(log: str) -> list[str]:
    """Overfull boxes of tables (LaTeX reports tabulars as 'in alignment') wider than the limit."""
    found = []
    for match in re.finditer(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\) in alignment "
                             r"at lines (\d+--\d+)", log):
        if float(match.group(1)) > MAX_OVERFULL_PT:
            found.append(f"{match.group(1)}pt at book.tex lines {match.group(2)}")
    return found


def test_latex_log_has_no_errors_and_no_tables_cut_off(built_book: Path) -> None:
    log = latex_log(built_book).read_text(encoding="utf-8", errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("! ")]
    assert not errors, f"LaTeX errors in {latex_log(built_book)}: {errors[:10]}"
    overfull = _overfull_in_tables(log)
    assert not overfull, f"tables wider than the page (+{MAX_OVERFULL_PT}pt): {overfull}"


def test_overfull_detector_sees_a_wide_table() -> None:
    log = ("Overfull \\hbox (35.2pt too wide) in alignment at lines 120--140\n"
           "Overfull \\hbox (3.0pt too wide) in alignment at lines 150--160\n"
           "Overfull \\hbox (90.0pt too wide) in paragraph at lines 170--171\n")
    assert _overfull_in_tables(log) == ["35.2pt at book.tex lines 120--140"]


def test_page_images_are_rendered_for_inspection(built_book: Path) -> None:
    shutil.rmtree(PAGE_IMAGES, ignore_errors=True)
    PAGE_IMAGES.mkdir(parents=True)
    _poppler("pdftoppm", "-r", "50", "-png", str(pdf_path(built_book)), str(PAGE_IMAGES / "page"))
    n_pages = int(re.search(r"Pages:\s+(\d+)", _poppler("pdfinfo", str(pdf_path(built_book))))[1])
    assert len(list(PAGE_IMAGES.glob("page-*.png"))) == n_pages


# --------------------------------------------------------------------------- long tables
# In the HTML they are searchable and sortable (tests/test_browser.py); the PDF must still print
# every row, as a plain table.


def long_tables(root: Path) -> list[tuple[str, list[str]]]:
    """(page, first cell of each row) of every table the HTML book makes searchable."""
    found = []
    for docname in toc_pages(root):
        page = html_dir(root) / f"{docname}.html"
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for table in soup.select(f"table.{SEARCHABLE_CLASS}"):
            cells = [row.find(["td", "th"]).get_text(" ", strip=True)
                     for row in table.select("tbody > tr")]
            found.append((docname, cells))
    return found


def missing_in_order(cells: list[str], text: str) -> list[str]:
    """The cells not found in `text` one after the other, in the table's order."""
    text = _normalise(text)
    position, missing = 0, []
    for cell in cells:
        found = text.find(_normalise(cell), position)
        if found < 0:
            missing.append(cell)
        else:
            position = found + len(_normalise(cell))
    return missing


def test_row_check_sees_a_missing_or_moved_row() -> None:
    text = "Table 3 o01 pain 2 o02 pain 4 o04 swelling"
    assert missing_in_order(["o01", "o02", "o04"], text) == []
    assert missing_in_order(["o01", "o02", "o03", "o04"], text) == ["o03"]
    assert missing_in_order(["o02", "o01"], text) == ["o01"]


def test_long_tables_keep_every_row_in_the_pdf(built_book: Path, pdf_text: str) -> None:
    tables = long_tables(built_book)
    assert tables, f"no table of the HTML book has the class {SEARCHABLE_CLASS}"
    lost = {f"{docname} (table of {len(cells)} rows)": missing
            for docname, cells in tables if (missing := missing_in_order(cells, pdf_text))}
    assert not lost, f"rows of long tables missing from the PDF: {lost}"
