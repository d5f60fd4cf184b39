"""PubMed through the NCBI E-utilities: ``esearch`` with the history server (``usehistory=y``)
for the count and a WebEnv, then ``efetch`` of the PubMed XML in pages (``retstart``/``retmax``).

Parsed with the standard library: the esearch result (``Count``, ``QueryKey``, ``WebEnv``,
``IdList``, ``ERROR``) and ``PubmedArticleSet/PubmedArticle`` (PMID, ArticleTitle, the DOI of
``ArticleIdList`` or ``ELocationID``, year, journal, first author).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from mscfm.literature.client import Answer, LiteratureClient, LiteratureError
from mscfm.literature.records import Record

EUTILS = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
ESEARCH = EUTILS + "esearch.fcgi"
EFETCH = EUTILS + "efetch.fcgi"
DEFAULT_PAGE_SIZE = 200
SOURCE = "PubMed"


@dataclass
class SearchResult:
    count: int
    query_key: str
    webenv: str
    translation: str


def _parse(body: bytes, what: str) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise LiteratureError(f"PubMed {what}: the answer is not XML ({exc})") from None


def parse_esearch(body: bytes) -> SearchResult:
    root = _parse(body, "esearch")
    error = root.findtext("ERROR")
    if root.tag != "eSearchResult" or error:
        raise LiteratureError(f"PubMed esearch refused the query: {error or root.tag}")
    count = root.findtext("Count")
    if count is None or not count.isdigit():
        raise LiteratureError("PubMed esearch: no Count in the answer")
    return SearchResult(int(count), root.findtext("QueryKey") or "", root.findtext("WebEnv") or "",
                        root.findtext("QueryTranslation") or "")


def _text(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def parse_efetch(body: bytes) -> list[Record]:
    root = _parse(body, "efetch")
    if root.tag != "PubmedArticleSet":
        raise LiteratureError(f"PubMed efetch: expected PubmedArticleSet, got {root.tag}")
    records = []
    for article in root.iter("PubmedArticle"):
        citation = article.find("MedlineCitation")
        art = citation.find("Article") if citation is not None else None
        if citation is None or art is None:
            continue
        doi = next((_text(i) for i in article.iterfind("PubmedData/ArticleIdList/ArticleId")
                    if i.get("IdType") == "doi"), "")
        if not doi:
            doi = next((_text(e) for e in art.iterfind("ELocationID")
                        if e.get("EIdType") == "doi"), "")
        pub_date = art.find("Journal/JournalIssue/PubDate")
        year = ""
        if pub_date is not None:
            year = pub_date.findtext("Year") or (pub_date.findtext("MedlineDate") or "")[:4]
        author = art.find("AuthorList/Author")
        first = ""
        if author is not None:
            first = " ".join(filter(None, [author.findtext("LastName"),
                                           author.findtext("Initials")])) or _text(
                author.find("CollectiveName"))
        records.append(Record(
            title=_text(art.find("ArticleTitle")), pmid=_text(citation.find("PMID")), doi=doi,
            year=year, journal=art.findtext("Journal/ISOAbbreviation") or _text(
                art.find("Journal/Title")),
            first_author=first, sources={SOURCE}))
    return records


def search(
    client: LiteratureClient, query: str, *, page_size: int = DEFAULT_PAGE_SIZE,
    max_pages: int | None = None,
) -> Iterator[tuple[str, Answer, list[Record]]]:
    """Yield ``(name, raw answer, records)``: the esearch answer first (no records), then each
    efetch page. The history server keeps the result set, so every page is the same search."""
    answer = client.get(ESEARCH, {"db": "pubmed", "term": query, "usehistory": "y",
                                  "retmax": "0"})
    found = parse_esearch(answer.body)
    yield "esearch", answer, []
    pages = 0
    for start in range(0, found.count, page_size):
        if max_pages is not None and pages >= max_pages:
            return
        page = client.get(EFETCH, {"db": "pubmed", "query_key": found.query_key,
                                   "WebEnv": found.webenv, "retstart": str(start),
                                   "retmax": str(page_size), "retmode": "xml"})
        pages += 1
        yield f"efetch-{pages:03d}", page, parse_efetch(page.body)
