"""Tables in the PDF as a reader sees them: no cell runs into the next one, no text leaves the page.

A cell that is too wide for its column overprints its neighbour, and the PDF's text layer then
holds the two cells as one word ("supportedlow", "02_fibromyalgiasupported"). The HTML of the
same tables has every cell separately, so a PDF word that the HTML never shows but that splits into
two table cells' words is a run-together cell.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from minibook import html_dir, pdf_path

MIN_PART = 2  # characters on each side of a join
EDGE_PT = 20.0  # text this close to the paper's edge has left the text block
_EDGE_PUNCTUATION = "()[]{},.;:!?\"'‘’“”"
_LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl",
                            "‐": "-", "–": "-", "—": "-", "’": "'"})


def _tokens(text: str) -> list[str]:
    words = (w.strip(_EDGE_PUNCTUATION) for w in text.translate(_LIGATURES).split())
    return [w.casefold() for w in words if w]


def run_together(pdf_words: list[str], cell_words: set[str], known_words: set[str]) -> list[str]:
    """PDF words that no page shows but that are two table-cell words joined together."""
    # The PDF's text layer drops the hyphen at a line end ("small-" + "study" -> "smallstudy"),
    # one hyphen per break ("msc-" + "conditioned-medium" -> "mscconditioned-medium").
    known = known_words | {w.replace("-", "") for w in known_words} | {
        w[:i] + w[i + 1:] for w in known_words for i, char in enumerate(w) if char == "-"}
    found = []
    for word in dict.fromkeys(pdf_words):
        if word in known or len(word) < 2 * MIN_PART:
            continue
        splits = (word[:i] for i in range(MIN_PART, len(word) - MIN_PART + 1))
        if any(head in cell_words and word[len(head):] in cell_words for head in splits):
            found.append(word)
    return found


def _poppler(*args: str) -> str:
    if shutil.which(args[0]) is None:
        pytest.fail(f"{args[0]} not found: run `sudo bash scripts/system-deps.sh all`")
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def _html_words(root: Path) -> tuple[set[str], set[str]]:
    """(words of table cells, every visible word) over the whole HTML book."""
    cells: set[str] = set()
    visible: set[str] = set()
    for page in root.rglob("*.html"):
        if "_static" in page.parts:
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for element in soup(["script", "style"]):
            element.decompose()
        for cell in soup.find_all(["td", "th"]):
            cells.update(_tokens(cell.get_text(" ")))
        visible.update(_tokens(soup.get_text(" ")))
    return cells, visible


def test_detector_finds_cells_run_together() -> None:
    cells = {"supported", "low", "02_fibromyalgia", "very"}
    pdf = ["supportedlow", "02_fibromyalgiasupported", "supported", "lowvery", "fibromyalgia"]
    assert run_together(pdf, cells, known_words=cells | {"lowvery"}) == [
        "supportedlow", "02_fibromyalgiasupported"]


def test_detector_knows_a_word_broken_at_one_of_its_hyphens() -> None:
    cells = {"msc", "conditioned-medium", "conditioned", "medium"}
    pdf = ["mscconditioned-medium", "msc-conditionedmedium", "mscconditioned"]
    known = cells | {"msc-conditioned-medium"}
    assert run_together(pdf, cells, known_words=known) == ["mscconditioned"]


def test_no_table_cell_runs_into_the_next(built_book: Path) -> None:
    cells, visible = _html_words(html_dir(built_book))
    assert len(cells) > 500, "the HTML book has almost no table cells: nothing is checked"
    # Reading order (not -raw): overprinted cells come out as one word, as a reader copies them.
    pdf_words = _tokens(_poppler("pdftotext", str(pdf_path(built_book)), "-"))
    joined = run_together(pdf_words, cells, visible)
    assert not joined, f"table cells run together in the PDF: {joined[:30]}"


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)"')
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">'
                   r"(.*?)</word>")


def text_outside(bbox: str) -> list[str]:
    """Words of a ``pdftotext -bbox`` page list that lie in the paper's outer margin."""
    outside = []
    for number, page in enumerate(bbox.split("<page ")[1:], start=1):
        size = _PAGE.match("<page " + page)
        width, height = float(size.group(1)), float(size.group(2))
        # A table in a display-math block cannot break across pages: it ran off the bottom.
        outside += [f"page {number}: {word!r}" for x_min, x_max, y_max, word in _WORD.findall(page)
                    if float(x_min) < EDGE_PT or float(x_max) > width - EDGE_PT
                    or float(y_max) > height - EDGE_PT]
    return outside


def test_detector_sees_text_off_the_page() -> None:
    page = ('<page width="595.0" height="842.0">'
            '<word xMin="72.0" yMin="700.0" xMax="90.0" yMax="710.0">inside</word>'
            '<word xMin="500.0" yMin="100.0" xMax="590.0" yMax="110.0">right</word>'
            '<word xMin="72.0" yMin="830.0" xMax="90.0" yMax="838.0">below</word></page>')
    assert text_outside(page) == ["page 1: 'right'", "page 1: 'below'"]


def test_no_text_leaves_the_page(built_book: Path) -> None:
    outside = text_outside(_poppler("pdftotext", "-bbox", str(pdf_path(built_book)), "-"))
    assert not outside, f"text beyond the page margins: {outside[:20]}"


def empty_pages(page_texts: list[str], pages_with_images: set[int]) -> list[int]:
    """Pages (1-based) with nothing on them but a running header and footer, and no figure."""
    return [number for number, text in enumerate(page_texts, start=1)
            if len([line for line in text.splitlines() if line.strip()]) <= 2
            and number not in pages_with_images]


def test_detector_sees_an_empty_page() -> None:
    texts = ["Title\nAuthors\nDate", "", "Header\n12  Chapter 1.", "Header\nfigure page\n13"]
    assert empty_pages(texts, pages_with_images=set()) == [2, 3]
    assert empty_pages(texts, pages_with_images={3}) == [2]


def test_no_empty_pages(built_book: Path) -> None:
    pdf = str(pdf_path(built_book))
    texts = _poppler("pdftotext", pdf, "-").split("\f")[:-1]  # the text ends with a form feed
    listing = _poppler("pdfimages", "-list", pdf).splitlines()[2:]
    with_images = {int(line.split()[0]) for line in listing if line.split()}
    assert len(texts) > 20, "the PDF has almost no pages"
    empty = empty_pages(texts, with_images)
    assert not empty, f"empty pages in the PDF: {empty}"
