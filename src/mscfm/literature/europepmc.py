"""Europe PMC REST search (``/europepmc/webservices/rest/search``): ``format=json``,
``resultType=core``, paged with ``cursorMark`` (``*`` first, then each answer's
``nextCursorMark``; the last page repeats the mark sent, or has no results).

Europe PMC covers PubMed/MEDLINE, PMC and preprints (source ``PPR``), so preprints come with the
same query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mscfm.literature.client import Answer, LiteratureClient, LiteratureError
from mscfm.literature.records import Record

SEARCH_URL = "https://www.ebi.ac.uk/europepmc/webservices/rest/search"
DEFAULT_PAGE_SIZE = 1000  # the service's maximum pageSize
SOURCE = "Europe PMC"


def parse_page(body: bytes) -> tuple[int, str | None, list[Record]]:
    """``(hitCount, nextCursorMark, records)`` of one answer."""
    try:
        page = json.loads(body)
    except ValueError as exc:
        raise LiteratureError(f"Europe PMC: the answer is not JSON ({exc})") from None
    if not isinstance(page, dict) or not isinstance(page.get("hitCount"), int):
        raise LiteratureError("Europe PMC: the answer has no hitCount (an error document?)")
    results = (page.get("resultList") or {}).get("result") or []
    return page["hitCount"], page.get("nextCursorMark"), [_record(r) for r in results]


def _record(r: dict[str, Any]) -> Record:
    journal = r.get("journalTitle") or (
        ((r.get("journalInfo") or {}).get("journal") or {}).get("isoabbreviation") or "")
    author = r.get("authorString") or ""
    source = r.get("source") or ""
    return Record(
        title=r.get("title") or "", pmid=r.get("pmid") or "", doi=r.get("doi") or "",
        year=str(r.get("pubYear") or ""), journal=journal,
        first_author=author.split(",")[0].strip().rstrip("."), preprint=source == "PPR",
        sources={SOURCE}, europepmc_ids={f"{source}:{r.get('id', '')}"})


def search(
    client: LiteratureClient, query: str, *, page_size: int = DEFAULT_PAGE_SIZE,
    max_pages: int | None = None,
) -> Iterator[tuple[str, Answer, list[Record]]]:
    """Yield ``(name, raw answer, records)`` for each page."""
    cursor = "*"
    pages = 0
    while max_pages is None or pages < max_pages:
        answer = client.get(SEARCH_URL, {"query": query, "format": "json", "resultType": "core",
                                         "pageSize": str(page_size), "cursorMark": cursor})
        pages += 1
        _, next_cursor, records = parse_page(answer.body)
        yield f"page-{pages:03d}", answer, records
        if not records or not next_cursor or next_cursor == cursor:
            return
        cursor = next_cursor
