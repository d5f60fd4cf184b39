"""The book's root page as a reader meets it, in the built HTML and the PDF: the answer first (a
plain-language summary whose every glued number is what the package computes, in place), then
the key findings of the article's case with marked, colour-coded verdicts and a legend that reads
without colour."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from minibook import html_dir, pdf_path

from mscfm import claims, data, summary
from mscfm.pipeline.toc import toc_files

pytestmark = pytest.mark.slow

RUBRICS = ("What the article claims", "What the evidence shows", "How sure we are",
           "What is not known", "Key findings", "About this report")
GLUE_TEXT = re.compile(r"\{glue:text\}`([a-z0-9_]+)(?::([^`]*))?`")


def _root(built_book: Path) -> str:
    return toc_files(built_book)[0]


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    """What the package computes for the page (default parameters, as the book is built)."""
    return summary.numbers({name: data.load(name) for name in summary.TABLES})


@pytest.fixture(scope="module")
def page(built_book: Path) -> BeautifulSoup:
    path = html_dir(built_book) / f"{_root(built_book)}.html"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _glue_roles(built_book: Path) -> list[tuple[str, str]]:
    """Every {glue:text} role of the page's prose, in reading order: (name, format)."""
    notebook = built_book / "notebooks" / f"{Path(_root(built_book)).name}.ipynb"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return [(m.group(1), m.group(2) or "") for m in GLUE_TEXT.finditer(prose)]


def _shown(value: object, fmt: str) -> str:
    return format(value, fmt) if fmt else str(value)


QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})  # Sphinx's smart quotes


def _plain(text: str) -> str:
    return text.translate(QUOTES)


def _words(text: str) -> str:
    """Text without spacing, line-end hyphenation or typographic quotes, for the PDF."""
    return re.sub(r"-(?=[a-zà-ÿ])", "", re.sub(r"\s+", "", _plain(text)))


def test_the_root_is_the_landing_notebook_and_index_leads_to_it(built_book: Path) -> None:
    root = _root(built_book)
    assert root == "book/_executed/00_summary"
    index = (html_dir(built_book) / "index.html").read_text(encoding="utf-8")
    assert f"{root}.html" in index


def test_the_page_opens_with_the_answer_then_the_key_findings(page: BeautifulSoup,
                                                               expected: dict) -> None:
    main = page.find("main")
    assert [p.get_text(strip=True) for p in main.select("p.rubric")] == list(RUBRICS)
    text = _plain(" ".join(main.get_text(" ").split()))
    answer = text.find(_plain(str(expected["s_headline"])))
    assert 0 <= answer < text.find(RUBRICS[0]), "the page does not open with the answer"
    assert text.find("Parameters used") > text.rfind(RUBRICS[-1]), "the parameters box is not last"


def test_every_glued_number_is_what_the_package_computes_in_place(
        built_book: Path, page: BeautifulSoup, expected: dict) -> None:
    roles = _glue_roles(built_book)
    pasted = [_plain(span.get_text()) for span in page.find("main").select("span.pasted-text")]
    assert len(roles) >= 20 and len(pasted) == len(roles), (len(pasted), len(roles))
    wrong = [(name, shown, _shown(expected[name], fmt)) for (name, fmt), shown
             in zip(roles, pasted, strict=True) if shown != _shown(expected[name], fmt)]
    assert not wrong, f"(glue name, on the page, computed): {wrong}"


def _key_table(page: BeautifulSoup, header: str):
    for table in page.find("main").find_all("table"):
        if header in [th.get_text(strip=True) for th in table.find_all("th")]:
            return table
    raise AssertionError(f"no table with a column {header!r} on the landing page")


def _cell_styles(page: BeautifulSoup) -> dict[str, str]:
    """Cell id -> its CSS declarations, from the tables' style blocks."""
    styles: dict[str, str] = {}
    for block in page.find("main").find_all("style"):
        for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", block.get_text()):
            for selector in selectors.split(","):
                styles[selector.strip().lstrip("#")] = body
    return styles


def _verdict_cells(table) -> list:
    headers = [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
    column = headers.index("Verdict")
    return [row.find_all("td")[column] for row in table.find("tbody").find_all("tr")]


def test_key_findings_list_each_case_claim_with_its_marked_coloured_verdict(
        page: BeautifulSoup) -> None:
    case = claims.fm_case_verdicts()
    table = _key_table(page, "What the article says (our words)")
    rows = table.find("tbody").find_all("tr")
    assert [r.find("td").get_text(strip=True) for r in rows] == list(case["claim_id"])
    styles = _cell_styles(page)
    for cell, verdict in zip(_verdict_cells(table), case["verdict"], strict=True):
        assert cell.get_text(strip=True) == summary.verdict_label(verdict)
        colour = summary.verdict_colours([verdict])[0]
        assert f"background-color: {colour}" in styles.get(cell.get("id"), ""), cell


def test_legend_gives_each_verdict_a_mark_and_a_word_beside_its_colour(
        page: BeautifulSoup) -> None:
    table = _key_table(page, "What it means")
    cells = _verdict_cells(table)
    assert [c.get_text(strip=True) for c in cells] == [
        summary.verdict_label(v) for v in claims.VERDICT_LEVELS]
    marks = [c.get_text(strip=True).split()[0] for c in cells]
    assert len(set(marks)) == len(cells), "two verdicts share a mark: only colour tells them apart"
    styles = _cell_styles(page)
    assert all("background-color" in styles.get(c.get("id"), "") for c in cells)


@pytest.fixture(scope="module")
def landing_pdf_text(built_book: Path) -> str:
    """The PDF text of the landing page: after the contents, before chapter 1."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: run `sudo bash scripts/system-deps.sh all`")
    text = subprocess.run(["pdftotext", "-raw", str(pdf_path(built_book)), "-"],
                          capture_output=True, text=True, check=True).stdout
    start = text.find(RUBRICS[0])
    end = text.find("CHAPTER\nONE", start)
    assert 0 < start < end, "the landing page is not in the PDF before chapter 1"
    return text[text.rfind("\f", 0, start) + 1:end]


def test_pdf_has_the_summary_and_the_key_findings(landing_pdf_text: str,
                                                  expected: dict) -> None:
    lines = [line.strip() for line in landing_pdf_text.splitlines()]
    headings = [line for line in lines if line in RUBRICS]
    assert headings == list(RUBRICS), f"headings of the PDF's landing page: {headings}"
    text = _words(landing_pdf_text)
    assert text.find(_words(str(expected["s_headline"]))) < text.find(_words(RUBRICS[0]))
    case = claims.fm_case_verdicts()
    for row in case.itertuples():
        assert _words(f"{row.claim_id}") in text and _words(row.verdict) in text
    for verdict, meaning in claims.VERDICT_LEVELS.items():
        assert _words(meaning[1:]) in text, f"legend of {verdict!r} missing from the PDF"


def test_pdf_glued_values_are_what_the_package_computes(built_book: Path, landing_pdf_text: str,
                                                        expected: dict) -> None:
    text = _words(landing_pdf_text)
    missing = [(name, _shown(expected[name], fmt)) for name, fmt in _glue_roles(built_book)
               if _words(_shown(expected[name], fmt)) not in text]
    assert not missing, f"glued values not in the PDF's landing page: {missing}"


def _page(built_book: Path, chapter: str) -> BeautifulSoup:
    path = html_dir(built_book) / "book" / "_executed" / f"{chapter}.html"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.parametrize("chapter", ["11_verdicts", "12_patients"])
def test_verdicts_and_patients_pages_link_to_the_key_findings(built_book: Path,
                                                               chapter: str) -> None:
    links = [a["href"] for a in _page(built_book, chapter).find("main").find_all("a", href=True)]
    assert f"{Path(_root(built_book)).name}.html#key-findings" in links, chapter


def test_verdicts_chapter_gives_the_case_the_same_verdict_words(built_book: Path,
                                                                 page: BeautifulSoup) -> None:
    landing = {row.find("td").get_text(strip=True): cell.get_text(strip=True).split("\u00a0")[-1]
               for row, cell in zip(
                   _key_table(page, "What the article says (our words)").find("tbody")
                   .find_all("tr"),
                   _verdict_cells(_key_table(page, "What the article says (our words)")),
                   strict=True)}
    chapter = _key_table(_page(built_book, "11_verdicts"), "The article says")
    verdicts = {row.find("td").get_text(strip=True): cell.get_text(strip=True)
                for row, cell in zip(chapter.find("tbody").find_all("tr"),
                                     _verdict_cells(chapter), strict=True)}
    assert verdicts == landing


def test_patients_page_counts_the_case_as_the_landing_page_does(built_book: Path,
                                                                 expected: dict) -> None:
    text = " ".join(_page(built_book, "12_patients").find("main").get_text(" ").split())
    assert f"Of the {expected['s_n_case_claims']} claims that make its case" in text
    assert f"verdicts: {expected['s_case_breakdown']}" in text
