"""The HTML book in a real browser (Debian's chromium, driven by Playwright).

Every page listed in _toc.yml is opened once from a local HTTP server; what the browser saw
(console errors, images, links, element ids, every request, the long tables, what axe-core found)
is recorded, a screenshot is kept in test-artifacts/screenshots/, and each test below checks one
property over all pages. axe-core runs on each page in light mode (all rules) and again after the
page is switched to dark mode (the colour contrast rule). One browser serves every test.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import playwright.sync_api as playwright_sync
import pytest
from axe_playwright_python.base import AXE_SCRIPT
from chromium import CHROMIUM_ARGS, chromium_path
from minibook import ARTIFACTS, html_dir, toc_pages

from mscfm.report import SEARCHABLE_CLASS, SEARCHABLE_ROWS

LOCAL_SCHEMES = ("data", "blob", "about")
SCREENSHOTS = ARTIFACTS / "screenshots"
FAILING_IMPACTS = ("serious", "critical")  # axe-core's two highest; moderate and minor are kept
MODES = ("light", "dark")
# pydata-sphinx-theme's dark mode is CSS keyed on data-theme of <html>; its switch sets it (and
# data-mode). Transitions are turned off so that axe sees the final colours, not a blend.
DARK_MODE = """() => {
    const style = document.createElement('style');
    style.textContent = '*, *::before, *::after { transition: none !important; }';
    document.head.appendChild(style);
    document.documentElement.dataset.mode = 'dark';
    document.documentElement.dataset.theme = 'dark';
    return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""
# The rows of a long table past the first ones are styled like them: axe checks the first 20
# (odd and even) and skips the rest, which on the longest tables takes most of its time.
AXE_SKIPPED = f"table.{SEARCHABLE_CLASS} > tbody > tr:nth-child(n+21)"


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
    tables: list[dict] = field(default_factory=list)  # the long ones
    axe: dict[str, AxeRun] = field(default_factory=dict)  # by mode


@dataclass
class AxeRun:
    theme: str  # data-theme of <html> when axe ran
    rules_passed: int
    violations: list[dict]


def run_axe(page, rules: list[str] | None = None) -> AxeRun:
    """axe-core (as axe-playwright-python ships it, no network) on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    # No preload: axe would fetch the theme's @import-ed stylesheet again, relative to the page
    # instead of the stylesheet (a 404); only the orientation-lock rule needs it.
    options: dict = {"resultTypes": ["violations"], "preload": False}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    context = {"exclude": [[AXE_SKIPPED]]}
    result = page.evaluate("([context, options]) => axe.run(context, options)",
                           [context, options])
    violations = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                   "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")}
                             for n in v["nodes"]]}
                  for v in result["violations"]]
    theme = page.evaluate("() => document.documentElement.dataset.theme || ''")
    return AxeRun(theme, len(result["passes"]), violations)


def _wait_for_tables(page) -> None:
    """mscfm-tables.js marks <html> once it has made the long tables searchable."""
    page.wait_for_function(f"""() => !document.querySelector('table.{SEARCHABLE_CLASS}')
        || document.documentElement.dataset.mscfmTables !== undefined""", timeout=15_000)


_LONG_TABLES = f"""() => Array.from(document.querySelectorAll('article table'))
    .filter(t => t.tBodies.length && t.tBodies[0].rows.length > {SEARCHABLE_ROWS})
    .map(t => ({{classes: t.className, rows: t.tBodies[0].rows.length,
                 searchable: t.classList.contains('dataTable')
                     && !!t.closest('.dt-container')?.querySelector('input[type=search]')}}))"""


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
    _wait_for_tables(page)
    visit.images = page.evaluate("""() => Array.from(document.images, img => ({
        src: img.getAttribute('src'), alt: img.getAttribute('alt'),
        complete: img.complete, naturalWidth: img.naturalWidth,
        figure: !!img.closest('article figure')}))""")
    visit.links = page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))")
    name = docname.replace("/", "__")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    visit.tables = page.evaluate(_LONG_TABLES)
    visit.axe["light"] = run_axe(page)
    page.evaluate(DARK_MODE)  # colour contrast is the rule that depends on the theme
    visit.axe["dark"] = run_axe(page, rules=["color-contrast"])
    return visit


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it is open, and every later test that starts a loop (JupyterLab, nbclient) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_sync.Browser]:
    """One chromium for every browser test of this module."""
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _context(browser: playwright_sync.Browser):
    return browser.new_context(viewport={"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def visits(built_book: Path, served_book: str,
           browser: playwright_sync.Browser) -> dict[str, PageVisit]:
    """Open every page of the book once, in a fresh browser context each."""
    results: dict[str, PageVisit] = {}
    for docname in toc_pages(built_book):
        context = _context(browser)
        results[docname] = _visit(context.new_page(), served_book, docname)
        context.close()
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


# --------------------------------------------------------------------------- accessibility


def _violation_report(found: dict[tuple[str, str, str], list[str]]) -> str:
    lines = []
    for (rule, impact, help_text), where in sorted(found.items()):
        pages = sorted({w.split(": ", 1)[0] for w in where})
        lines.append(f"{rule} ({impact}, {help_text}) on {len(pages)} page(s): {pages}")
        lines.extend(f"    {w}" for w in where[:3])
    return "\n".join(lines)


def test_no_serious_or_critical_accessibility_violations(visits: dict[str, PageVisit]) -> None:
    """axe-core on every page, all rules in light mode and colour contrast in dark mode."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for visit in visits.values():
        for mode, run in visit.axe.items():
            for violation in run.violations:
                if violation["impact"] not in FAILING_IMPACTS:
                    continue
                node = violation["nodes"][0]
                summary = " ".join(node["summary"].split())[:240]
                found.setdefault((violation["id"], violation["impact"], violation["help"]),
                                 []).append(f"{visit.docname} ({mode}): {node['target']} "
                                            f"({len(violation['nodes'])} elements) {summary}")
    assert not found, "accessibility violations (axe-core):\n" + _violation_report(found)


def test_axe_ran_on_every_page_in_light_and_dark_mode(visits: dict[str, PageVisit]) -> None:
    for visit in visits.values():
        assert set(visit.axe) == set(MODES), visit.docname
        for mode, run in visit.axe.items():
            assert run.theme == mode, f"{visit.docname}: {mode} mode showed theme {run.theme!r}"
            assert run.rules_passed > 0, f"{visit.docname} ({mode}): axe checked nothing"


def test_the_accessibility_check_sees_violations(browser: playwright_sync.Browser) -> None:
    """The checks above can fail: the kinds of violation the book had are reported, and the
    switch to dark mode changes what the contrast rule sees."""
    context = _context(browser)
    page = context.new_page()
    page.set_content('<html lang="en"><head><title>t</title><style>html[data-theme=dark] .pale '
                     '{color: #528fe4; background: #ced6dd}</style></head><body><main>'
                     '<details><summary><i class="icon"></i></summary><p>hidden</p></details>'
                     '<p class="pale">a link in a table on a light box in dark mode</p>'
                     "</main></body></html>")
    light = run_axe(page)
    page.evaluate(DARK_MODE)
    dark = run_axe(page, rules=["color-contrast"])
    context.close()
    assert ("summary-name", "serious") in {(v["id"], v["impact"]) for v in light.violations}
    assert "color-contrast" not in {v["id"] for v in light.violations}
    assert dark.theme == "dark"
    assert [(v["id"], v["impact"]) for v in dark.violations] == [("color-contrast", "serious")]


def test_figures_have_meaningful_alt_text(visits: dict[str, PageVisit]) -> None:
    """Alt text describes the figure: a few words, not a file name, not another figure's."""
    figures = [(v.docname, img) for v in visits.values() for img in v.images if img["figure"]]
    assert figures, "no figures found in the book"
    problems = []
    seen: dict[str, str] = {}
    for docname, img in figures:
        alt = " ".join((img["alt"] or "").split())
        if len(alt.split()) < 5:
            problems.append(f"{docname}: {img['src']}: alt text too short to describe: {alt!r}")
        elif alt in seen:
            problems.append(f"{docname}: {img['src']}: same alt text as a figure on {seen[alt]}")
        seen.setdefault(alt, docname)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- long tables


def test_long_tables_are_searchable(visits: dict[str, PageVisit]) -> None:
    tables = [(v.docname, t) for v in visits.values() for t in v.tables]
    kinds = {kind for _, t in tables for kind in ("mscfm-rows", "dataframe")
             if kind in t["classes"].split()}
    # Both kinds: the dataset pages' row tables and the chapters' pandas tables.
    assert kinds == {"mscfm-rows", "dataframe"}, f"long tables found: {tables}"
    plain = [f"{docname}: a table of {t['rows']} rows ({t['classes']})"
             for docname, t in tables if not t["searchable"]]
    assert not plain, "long tables without a search box:\n" + "\n".join(plain)


_FIRST_CELLS = "table => Array.from(table.tBodies[0].rows, row => row.cells[0].innerText.trim())"


@pytest.mark.parametrize("kind", ["mscfm-rows", "dataframe"])
def test_search_box_filters_and_headers_sort_a_long_table(
    kind: str, visits: dict[str, PageVisit], served_book: str, browser: playwright_sync.Browser
) -> None:
    """A dataset page's table and a chapter's table: typing a term leaves the matching rows,
    clearing it brings all back, clicking a header sorts."""
    docname = next(v.docname for v in visits.values()
                   if any(kind in t["classes"].split() for t in v.tables))
    context = _context(browser)
    page = context.new_page()
    page.goto(urljoin(served_book, f"{docname}.html"), wait_until="networkidle")
    _wait_for_tables(page)
    table = page.locator(f"table.{SEARCHABLE_CLASS}.{kind}").first
    search = table.locator("xpath=ancestor::div[contains(@class, 'dt-container')]").locator(
        "input[type=search]")
    cells = table.evaluate(_FIRST_CELLS)
    term = min(cells, key=lambda cell: (cells.count(cell), -len(cell)))  # a rare value
    rows = table.locator("tbody > tr")
    # DataTables searches and sorts in a timeout after the event: wait for the redraw.
    search.fill(term)
    playwright_sync.expect(rows).not_to_have_count(len(cells))
    shown = table.evaluate(_FIRST_CELLS)
    assert 1 <= len(shown) < len(cells), f"{docname}: searching {term!r} left {len(shown)} rows"
    texts = table.evaluate("table => Array.from(table.tBodies[0].rows, row => row.innerText)")
    assert all(term.casefold() in text.casefold() for text in texts), f"{docname}: {texts[:3]}"
    search.fill("")
    playwright_sync.expect(rows).to_have_count(len(cells))
    assert table.evaluate(_FIRST_CELLS) == cells, f"{docname}: clearing the search lost rows"
    header = table.locator("thead th").first
    header.click()
    playwright_sync.expect(header).to_have_attribute("aria-sort", re.compile("ascending"))
    ordered = table.evaluate(_FIRST_CELLS)
    assert sorted(ordered) == sorted(cells)
    assert ordered in (sorted(cells, key=str.casefold), sorted(cells, key=str.casefold,
                                                               reverse=True)), docname
    context.close()
