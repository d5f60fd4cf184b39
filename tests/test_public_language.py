"""The book speaks to the public: no internal language in the built HTML, the PDF text, the data
notes or the bibliography (the phrases are listed once, in ``mscfm.language.FORBIDDEN``)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from minibook import html_dir, pdf_path

from mscfm.language import Hit, count, internal_language, plural
from mscfm.pipeline.toc import toc_files

# Text written by others and shown as received (trial titles and conditions of the registry).
VERBATIM_TABLES = {"registry.csv"}
SKIPPED_HTML = {"search.html", "genindex.html"}
MAX_SHOWN = 25


def _report(hits: list[Hit]) -> str:
    shown = "\n".join(str(hit) for hit in hits[:MAX_SHOWN])
    more = f"\n... and {len(hits) - MAX_SHOWN} more" if len(hits) > MAX_SHOWN else ""
    return f"{len(hits)} internal phrase(s) a public reader cannot follow:\n{shown}{more}"


# --------------------------------------------------------------------------- the detector itself


@pytest.mark.parametrize("text", [
    "These claims follow the project brief's summary.",
    "Read with the project's search tool (corpus 'pages').",
    "The day was read by the VERIFICATION note.",
    "See data/VERIFICATION_LOG.md for details.",
    "or a refreshed data/registry_.csv",
    "value not re-read in this session",
])
def test_detector_flags_internal_language(text: str) -> None:
    assert internal_language(text), f"not flagged: {text!r}"


@pytest.mark.parametrize("text", [
    "Condition groups use the conditions and the registered Brief Title.",
    "The abstract was read in a third-party copy; an archive of public web pages holds it.",
    "Briefly, the registry record lists three arms.",
])
def test_detector_passes_public_language(text: str) -> None:
    assert internal_language(text) == []


def test_plural_agrees_with_its_number() -> None:
    assert count(1, "trial") == "1 trial" and count(0, "trial") == "0 trials"
    assert [plural(1, "is"), plural(2, "is")] == ["is", "are"]
    assert count(3, "study") == "3 studies" and count(2, "analysis") == "2 analyses"
    assert count(2, "box") == "2 boxes" and count(1.5, "point") == "1.5 points"


# --------------------------------------------------------------------------- the built book


def _visible_text(page: Path) -> str:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for element in soup(["script", "style", "noscript"]):
        element.decompose()
    main = soup.find("main") or soup
    return main.get_text(" ")


def _html_pages(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*.html"))
            if "_static" not in p.parts and p.name not in SKIPPED_HTML]


def _html_hits(built_book: Path) -> list[Hit]:
    root = html_dir(built_book)
    pages = _html_pages(root)
    assert len(pages) >= 10, f"pages missing under {root}"
    return [hit for page in pages
            for hit in internal_language(_visible_text(page), str(page.relative_to(root)))]


def test_built_html_has_no_internal_language(built_book: Path) -> None:
    hits = _html_hits(built_book)
    assert not hits, _report(hits)


def test_landing_page_is_checked_and_clean(built_book: Path) -> None:
    root = html_dir(built_book)
    landing = root / f"{toc_files(built_book)[0]}.html"
    assert landing in _html_pages(root)
    hits = internal_language(_visible_text(landing), str(landing.relative_to(root)))
    assert not hits, _report(hits)


def test_pdf_text_has_no_internal_language(built_book: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: run `sudo bash scripts/system-deps.sh all`")
    text = subprocess.run(["pdftotext", "-raw", str(pdf_path(built_book)), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert len(text) > 10_000, "the PDF has almost no text"
    pages = text.split("\f")
    hits = [hit for number, page in enumerate(pages, start=1)
            for hit in internal_language(page, f"PDF page {number}")]
    assert not hits, _report(hits)


# --------------------------------------------------------------------------- the data package


def _data_cells(data_dir: Path) -> list[tuple[str, str]]:
    cells = []
    for table in sorted(data_dir.glob("*.csv")):
        if table.name in VERBATIM_TABLES:
            continue
        with table.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                for column, value in row.items():
                    if value:
                        cells.append((f"{table.name} row {number} ({row.get('id', '')}), "
                                      f"column {column}", value))
    return cells


def _descriptions(node: object, where: str) -> list[tuple[str, str]]:
    """Every string in a JSON document (titles, descriptions, notes), with its JSON path."""
    if isinstance(node, dict):
        return [c for key, value in node.items() for c in _descriptions(value, f"{where}.{key}")]
    if isinstance(node, list):
        return [c for i, value in enumerate(node) for c in _descriptions(value, f"{where}[{i}]")]
    return [(where, node)] if isinstance(node, str) else []


def _data_texts(project_root: Path) -> list[tuple[str, str]]:
    data = project_root / "data"
    texts = list(_data_cells(data))
    for path in [data / "datapackage.json", *sorted((data / "schema").glob("*.json"))]:
        texts += _descriptions(json.loads(path.read_text(encoding="utf-8")), path.name)
    texts.append(("references.bib", (project_root / "references.bib").read_text(encoding="utf-8")))
    texts += [(str(p.relative_to(project_root)), p.read_text(encoding="utf-8"))
              for p in sorted(data.glob("*.md"))]
    return texts


def test_data_notes_have_no_internal_language(project_root: Path) -> None:
    texts = _data_texts(project_root)
    assert len(texts) > 1000, f"only {len(texts)} data texts found: is data/ complete?"
    hits = [hit for where, text in texts for hit in internal_language(text, where)]
    assert not hits, _report(hits)

