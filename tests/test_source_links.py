"""Every number shown in a table links to its source: source cells link to the reference list,
and each dataset row has an anchor the chapters can link to."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from bs4 import BeautifulSoup
from minibook import html_dir

_ENTRY = re.compile(r"references\.html#(id\d+)$")


def _soup(root: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((html_dir(root) / page).read_text(encoding="utf-8"), "html.parser")


def _reference_ids(root: Path) -> set[str]:
    return {tag["id"] for tag in _soup(root, "book/references.html").find_all(id=True)}


def test_dataset_rows_have_anchors_and_linked_sources(built_book: Path) -> None:
    entries = _reference_ids(built_book)
    for table in ("pooled", "studies", "outcomes", "instruments", "costs", "benchmark"):
        page = _soup(built_book, f"book/datasets/{table}.html")
        with (built_book / "data" / f"{table}.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        anchors = {tag["id"] for tag in page.find_all(id=True)}
        missing = [r["id"] for r in rows
                   if f"{table}-{r['id']}".replace("_", "-").lower() not in anchors]
        assert rows and not missing, f"{table}: rows without an anchor: {missing[:5]}"
        links = [a["href"] for a in page.select("table.mscfm-rows a.reference")]
        assert len(links) >= len(rows), f"{table}: {len(links)} source links for {len(rows)} rows"
        broken = [h for h in links if not (_ENTRY.search(h) and _ENTRY.search(h)[1] in entries)]
        assert not broken, f"{table}: links to no reference entry: {broken[:5]}"


def test_chapter_tables_link_their_source_cells(built_book: Path) -> None:
    entries = _reference_ids(built_book)
    cells = []
    for page in sorted((html_dir(built_book) / "book" / "_executed").glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        cells += [(page.name, td) for td in soup.select("td[class*=mscfm-cite-]")]
    assert len(cells) > 50, f"only {len(cells)} source cells marked in the chapters' tables"
    unlinked = [f"{name}: {td.get_text()}" for name, td in cells
                if not (td.a and _ENTRY.search(td.a.get("href", ""))
                        and _ENTRY.search(td.a["href"])[1] in entries)]
    assert not unlinked, f"source cells without a working link: {unlinked[:10]}"


def test_query_strings_are_shown_verbatim(built_book: Path) -> None:
    """A reader copies a query into a search box: straight quotes stay straight."""
    page = _soup(built_book, "book/datasets/strategies.html")
    text = " ".join(cell.get_text() for cell in page.select("table.mscfm-rows td"))
    with (built_book / "data" / "strategies.csv").open(encoding="utf-8", newline="") as f:
        queries = [row["query"] for row in csv.DictReader(f)]
    missing = [q[:60] for q in queries if q not in text]
    assert not missing and "\u201c" not in text, f"queries not shown as written: {missing}"
