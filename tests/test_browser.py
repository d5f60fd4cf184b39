"""The HTML book in a real browser (Debian's chromium, driven by Playwright).

Every page listed in _toc.yml is opened once from a local HTTP server; what the browser saw
(console errors, images, links, element ids, every request) is recorded, a screenshot is kept in
test-artifacts/screenshots/, and each test below checks one property over all pages.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import playwright.sync_api as playwright_sync
import pytest
from chromium import CHROMIUM_ARGS, chromium_path
from minibook import ARTIFACTS, html_dir, toc_pages

LOCAL_SCHEMES = ("data", "blob", "about")
SCREENSHOTS = ARTIFACTS / "screenshots"


# --------------------------------------------------------------------------- serving the book


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@pytest.fixture(scope="session")
def served_book(built_book: Path) -> Iterator[str]:
    """The published HTML on http://127.0.0.1:<random port>/."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir(built_book)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- visiting the pages


@dataclass
class PageVisit:
    docname: str
    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    status: int | None = None


def _visit(page, base: str, docname: str) -> PageVisit:
    visit = PageVisit(docname, urljoin(base, f"{docname}.html"))
    page.on("console", lambda msg: visit.console_errors.append(
        f"{msg.text} ({msg.location.get('url') or 'inline'})") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: visit.console_errors.append(f"uncaught: {exc}"))
    page.on("request", lambda request: visit.requests.append(request.url))
    page.on("response", lambda resp: visit.console_errors.append(
        f"HTTP {resp.status} for {resp.url}") if resp.status >= 400 else None)
    response = page.goto(visit.url, wait_until="networkidle")
    visit.status = response.status if response else None
    # Lazy images load only when scrolled to; bring each into view and wait for it.
    page.evaluate("""async () => {
        for (const img of document.images) {
            img.loading = 'eager';
            img.scrollIntoView();
            try { await img.decode(); } catch (e) {}
        }
        window.scrollTo(0, 0);
    }""")
    page.wait_for_load_state("networkidle")
    visit.images = page.evaluate("""() => Array.from(document.images, img => ({
        src: img.getAttribute('src'), alt: img.getAttribute('alt'),
        complete: img.complete, naturalWidth: img.naturalWidth}))""")
    visit.links = page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))")
    name = docname.replace("/", "__")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    return visit


@pytest.fixture(scope="session")
def visits(built_book: Path, served_book: str) -> dict[str, PageVisit]:
    """Open every page of the book once, in a fresh browser context each."""
    sync_api = playwright_sync
    results: dict[str, PageVisit] = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for docname in toc_pages(built_book):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                results[docname] = _visit(page, served_book, docname)
                context.close()
        finally:
            browser.close()
    return results


# --------------------------------------------------------------------------- element ids


class _IdCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def _ids_in(path: Path) -> frozenset[str]:
    collector = _IdCollector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


def _broken_link(href: str, page_url: str, base: str, root: Path) -> str | None:
    """Why an internal link does not resolve (None when it does, or when it is external)."""
    target = urlsplit(urljoin(page_url, href))
    if target.scheme not in ("http", "https") or not urljoin(page_url, href).startswith(base):
        return None  # external (a source on the web) or mailto: links are not ours to check
    relative = unquote(target.path[len(urlsplit(base).path):])
    path = root / relative
    if relative == "" or relative.endswith("/"):
        path = path / "index.html"
    if not path.is_file():
        return f"{href}: no file {relative or 'index.html'}"
    fragment = unquote(target.fragment)
    if fragment and path.suffix == ".html" and fragment not in _ids_in(path):
        return f"{href}: no element with id {fragment!r} in {relative}"
    return None


# --------------------------------------------------------------------------- the checks


def test_every_toc_page_is_visited(built_book: Path, visits: dict[str, PageVisit]) -> None:
    missing = [v.docname for v in visits.values() if v.status != 200]
    assert len(visits) == len(toc_pages(built_book)) >= 2
    assert not missing, f"pages not served (HTTP status != 200): {missing}"


def test_pages_log_no_console_errors(visits: dict[str, PageVisit]) -> None:
    errors = {v.docname: v.console_errors for v in visits.values() if v.console_errors}
    assert not errors, f"console errors: {errors}"


def test_every_image_loads_and_has_alt_text(visits: dict[str, PageVisit]) -> None:
    problems = []
    for visit in visits.values():
        for img in visit.images:
            alt = (img["alt"] or "").strip()
            src_name = (img["src"] or "").rsplit("/", 1)[-1]
            if not alt or src_name in alt:  # Sphinx falls back to the file name: not alt text
                problems.append(f"{visit.docname}: {img['src']} has no alt text (alt={alt!r})")
            if not (img["complete"] and img["naturalWidth"] > 0):
                problems.append(f"{visit.docname}: {img['src']} did not load")
    assert not problems, "\n".join(problems)


def test_the_book_has_images_to_check(visits: dict[str, PageVisit]) -> None:
    # A book whose figures silently vanished would pass the image test above.
    assert sum(len(v.images) for v in visits.values()) >= 1


def test_internal_links_and_cross_references_resolve(
    built_book: Path, served_book: str, visits: dict[str, PageVisit]
) -> None:
    root = html_dir(built_book)
    broken = []
    checked = 0
    for visit in visits.values():
        for href in visit.links:
            checked += 1
            reason = _broken_link(href, visit.url, served_book, root)
            if reason:
                broken.append(f"{visit.docname}: {reason}")
    assert checked > 0
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken)))


def test_cross_references_are_checked(built_book: Path, visits: dict[str, PageVisit]) -> None:
    """The link check must see fragment links (cross-references), or it proves nothing."""
    fragments = [h for v in visits.values() for h in v.links if "#" in h and not
                 h.startswith(("http:", "https:"))]
    assert fragments


def test_pages_request_nothing_from_other_hosts(
    served_book: str, visits: dict[str, PageVisit]
) -> None:
    foreign = {}
    for visit in visits.values():
        outside = sorted({url for url in visit.requests
                          if not url.startswith(served_book)
                          and urlsplit(url).scheme not in LOCAL_SCHEMES})
        if outside:
            foreign[visit.docname] = outside
    assert not foreign, f"requests to other hosts (fonts, MathJax, CDN must be local): {foreign}"
    assert all(v.requests for v in visits.values())  # the recorder did record


def test_a_screenshot_is_kept_per_page(visits: dict[str, PageVisit]) -> None:
    for docname in visits:
        shot = SCREENSHOTS / f"{docname.replace('/', '__')}.png"
        assert shot.stat().st_size > 1000, shot
