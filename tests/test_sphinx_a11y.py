"""The HTML fixes mscfm.sphinx_ext makes for accessibility and long tables, on small inputs
(the whole book is checked by axe-core in tests/test_browser.py)."""

from __future__ import annotations

from types import SimpleNamespace

from bs4 import BeautifulSoup
from docutils import nodes

from mscfm.report import SEARCHABLE_CLASS, SEARCHABLE_ROWS
from mscfm.sphinx_ext import (
    accessible_theme_html,
    itables_bundle,
    label_sidebar_toggles,
    mark_searchable_tables,
    reference_entries_as_list_items,
)

SIDEBAR = ('<ul><li class="toctree-l1 has-children"><a class="reference internal" '
           'href="datasets/index.html">Datasets &amp; rows</a><details open="open"><summary>'
           '<span class="toctree-toggle" role="presentation"><i class="fa-solid"></i></span>'
           "</summary><ul><li><a href='x.html'>X</a></li></ul></details></li></ul>")


def test_sidebar_toggles_are_named_after_their_page() -> None:
    soup = BeautifulSoup(SIDEBAR, "html.parser")
    label_sidebar_toggles(soup)
    assert soup.summary["aria-label"] == "Pages under Datasets & rows"
    label_sidebar_toggles(soup)  # the theme caches the tree: a second pass changes nothing
    assert str(soup).count("aria-label") == 1


def test_the_theme_sidebar_function_is_wrapped_once() -> None:
    context = {"body": '<div role="list"><div class="citation" role="doc-biblioentry">',
               "generate_toctree_html": lambda kind: BeautifulSoup(SIDEBAR, "html.parser")}
    accessible_theme_html(None, "p", "page.html", context, None)
    first = context["generate_toctree_html"]
    accessible_theme_html(None, "p", "page.html", context, None)
    assert context["generate_toctree_html"] is first
    assert 'aria-label="Pages under' in str(first("sidebar"))
    assert 'role="listitem"' in context["body"] and "doc-biblioentry" not in context["body"]


def test_reference_entries_become_list_items() -> None:
    body = '<div class="citation" id="id8" role="doc-biblioentry">'
    assert reference_entries_as_list_items(body) == body.replace("doc-biblioentry", "listitem")


def _table(rows: int) -> nodes.table:
    body = nodes.tbody("", *(nodes.row("", nodes.entry("", nodes.paragraph("", str(i))))
                             for i in range(rows)))
    return nodes.table("", nodes.tgroup("", nodes.colspec(colwidth=1), body, cols=1))


def test_only_long_tables_are_marked_and_only_for_html() -> None:
    short, long = _table(SEARCHABLE_ROWS), _table(SEARCHABLE_ROWS + 1)
    doctree = nodes.document(None, None)
    doctree += [short, long]
    mark_searchable_tables(SimpleNamespace(builder=SimpleNamespace(format="latex")), doctree, "d")
    assert SEARCHABLE_CLASS not in long["classes"]
    mark_searchable_tables(SimpleNamespace(builder=SimpleNamespace(format="html")), doctree, "d")
    assert SEARCHABLE_CLASS in long["classes"] and SEARCHABLE_CLASS not in short["classes"]


def test_the_offline_bundle_is_in_the_itables_package() -> None:
    files = itables_bundle()
    assert [p.name for p in files] == ["dt_bundle.js", "dt_bundle.css"]
    script = files[0].read_text(encoding="utf-8")
    assert "ITable" in script and "set_or_remove_dark_class" in script  # what mscfm-tables.js uses
