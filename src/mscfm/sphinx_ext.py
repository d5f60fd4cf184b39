"""Small Sphinx additions for the report: each script once per page; notebooks as the book
shows them (`mscfm.book_view`: a glued figure once, where the prose pastes it); source links in
tables.

sphinx-thebe (loaded by Jupyter Book) registers its inline configuration script every time the
environment reads documents, so pages can carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". Dropping exact duplicates fixes that.

Tables that chapters show (``mscfm.report.Table`` with ``cite=``) mark each source cell with its
bibliography key: a ``mscfm-cite-<key>`` class in HTML, ``\\mscfmcite{<key>}{...}`` in LaTeX. Only
Sphinx knows where the reference list puts each entry, so the links are made here, once every
document is read: the cell becomes a link to the entry, as a ``{cite}`` role would.

Long tables (more than ``mscfm.report.SEARCHABLE_ROWS`` rows) get a search box and sortable
columns in the HTML (``book/_vendor/mscfm-tables.js`` with DataTables from the itables package's
offline bundle, copied into the book); the PDF keeps plain tables. Two pieces of the theme's HTML
are made accessible (axe-core, in tests/test_browser.py): the sidebar's expand buttons get a name,
and reference-list entries the list-item role their list requires.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from mscfm.book_view import book_view_source
from mscfm.labels import source_label
from mscfm.report import (
    COLUMN_GAP_CHARS,
    LINE_CHARS,
    SEARCHABLE_CLASS,
    SEARCHABLE_ROWS,
    column_widths,
)

_HTML_CELL = re.compile(r'(<td\b[^>]*\bclass="[^"]*\bmscfm-cite-([a-z0-9_-]+)\b[^"]*"[^>]*>)'
                        r"(.*?)(</td>)", re.DOTALL)
_LATEX_CELL = re.compile(r"\\mscfmcite\{([a-z0-9_-]+)\}\{")


def _key(script: Any) -> tuple[str, str]:
    attributes = getattr(script, "attributes", {}) or {}
    # A script registered twice may carry filename None once and "" once: same script.
    return (str(getattr(script, "filename", "") or ""), str(attributes.get("body", "")))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:  # noqa: ARG001
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in context.get("script_files", []):
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _citation_targets(env) -> dict[str, tuple[str, str]]:
    """Bibliography key -> (document of the reference list, id of the entry there)."""
    domain = env.get_domain("cite")
    targets = {}
    for citation in domain.citations:
        if domain.bibliographies[citation.bibliography_key].list_ == "citation":
            targets.setdefault(citation.key, (citation.bibliography_key.docname,
                                              citation.citation_id))
    return targets


def _link_html(text: str, docname: str, builder, targets: dict[str, tuple[str, str]]) -> str:
    def link(match: re.Match) -> str:
        opening, key, content, closing = match.groups()
        if key not in targets:
            return match.group(0)
        page, anchor = targets[key]
        uri = builder.get_relative_uri(docname, page) + "#" + anchor
        return f'{opening}<a class="reference internal" href="{uri}">{content}</a>{closing}'
    return _HTML_CELL.sub(link, text)


def _link_latex(text: str, targets: dict[str, tuple[str, str]]) -> str:
    def link(match: re.Match) -> str:
        key = match.group(1)
        if key not in targets:
            return match.group(0)  # \mscfmcite (defined in the preamble) prints the label alone
        page, anchor = targets[key]
        return "\\hyperlink{cite." + page + ":" + anchor + "}{"
    return _LATEX_CELL.sub(link, text)


def _link_source_cells(app, doctree, docname: str, targets: dict[str, tuple[str, str]]) -> None:
    """Source cells of the dataset tables (:class:`DataRows`) become links to the reference."""
    for cell in list(doctree.findall(nodes.inline)):
        key = cell.get("mscfm_key")
        if not key or key not in targets:
            continue
        page, anchor = targets[key]
        label = cell.astext()
        if app.builder.format == "latex":
            opening = "\\hyperlink{cite." + page + ":" + anchor + "}{"
            linked = [nodes.raw("", opening, format="latex"), nodes.Text(label),
                      nodes.raw("", "}", format="latex")]
        else:
            uri = app.builder.get_relative_uri(docname, page) + "#" + anchor
            linked = [nodes.reference("", label, internal=True, refuri=uri)]
        cell.replace_self(linked)


# Tables of the document (not the chapters' pandas tables) are set at the body font size, 10 pt
# instead of 8, often in monospace: a text width holds about 98 average letters of it, and 80
# leaves room for the wider monospace of parameter names.
DOC_TABLE_CHARS = 80


def _entry_text(entry: nodes.entry) -> str:
    """The text a cell shows (LaTeX markup added by the links is not shown)."""
    return "".join(t.astext() for t in entry.findall(nodes.Text)
                   if not isinstance(t.parent, nodes.raw))


def _table_texts(group: nodes.tgroup) -> pd.DataFrame:
    rows = [[_entry_text(entry) for entry in row.findall(nodes.entry)]
            for row in group.findall(nodes.row)]
    n = int(group["cols"])
    return pd.DataFrame([r[:n] + [""] * (n - len(r)) for r in rows],
                        columns=[f"c{i}" for i in range(n)])


def size_latex_tables(app, doctree, docname: str) -> None:  # noqa: ARG001 - Sphinx signature
    """Give every table of the PDF column widths from its content (mscfm.report.column_widths),
    so that no column is narrower than its longest word. Without widths Sphinx lets LaTeX guess,
    and a long word ('timepoint_months') runs into the next column."""
    if app.builder.format != "latex":
        return
    for table in doctree.findall(nodes.table):
        group = next(iter(table.findall(nodes.tgroup)), None)
        if group is None:
            continue
        colspecs = [c for c in group.children if isinstance(c, nodes.colspec)]
        texts = _table_texts(group)
        if texts.empty or len(colspecs) != texts.shape[1]:
            continue
        small = "mscfm-rows" in table["classes"]  # set in footnotesize, like the chapters'
        line_chars = LINE_CHARS if small else DOC_TABLE_CHARS
        widths = column_widths(texts, line_chars=line_chars)
        gap = COLUMN_GAP_CHARS * line_chars / LINE_CHARS
        for colspec, column in zip(colspecs, texts.columns, strict=True):
            # Sphinx's \X column takes the separation off the share: give it back.
            colspec["colwidth"] = max(1, round((widths[column] + gap) * 10))
        if "colwidths-given" not in table["classes"]:
            table["classes"].append("colwidths-given")


_TABLE_MATH = "\\mbox{\\footnotesize \\begin{tabular}"


def chapter_tables_as_longtables(app, doctree, docname: str) -> None:  # noqa: ARG001
    """The chapters' tables (``mscfm.report.Table``) reach LaTeX inside a display-math block,
    which cannot break across pages: a long table runs off the page. In the PDF each becomes a
    longtable, set small, its header repeated on every page."""
    if app.builder.format != "latex":
        return
    for block in list(doctree.findall(nodes.math_block)):
        text = block.astext().strip()
        if not (text.startswith(_TABLE_MATH) and text.endswith("}")):
            continue
        body = text[len("\\mbox{\\footnotesize "):-1].strip()
        body = body.replace("\\begin{tabular}", "\\begin{longtable}", 1)
        body = body.replace("\\end{tabular}", "\\end{longtable}", 1)
        body = body.replace("\\midrule\n", "\\midrule\n\\endhead\n", 1)
        latex = "\\begingroup\\footnotesize\n" + body + "\n\\endgroup\n"
        block.replace_self(nodes.raw("", latex, format="latex"))


def link_table_sources(app, doctree, docname: str) -> None:
    """Turn the marked source cells of tables into links to the reference list."""
    targets = _citation_targets(app.env)
    if not targets:
        return
    _link_source_cells(app, doctree, docname, targets)
    for node in list(doctree.findall(nodes.raw)) + list(doctree.findall(nodes.math_block)):
        text = node.astext()
        if "mscfm-cite-" in text and isinstance(node, nodes.raw) and "html" in node["format"]:
            new = _link_html(text, docname, app.builder, targets)
        elif "\\mscfmcite{" in text:
            new = _link_latex(text, targets)
        else:
            continue
        if new != text:
            node.children = [nodes.Text(new)]
            if isinstance(node, nodes.raw):
                node.rawsource = new


# Columns shown exactly as stored: a query string is copied into a search box, so its straight
# quotes must not become typographic ones.
VERBATIM_COLUMNS = frozenset({"query"})


class DataRows(SphinxDirective):
    """The rows of a curated table, one anchor per row (``<table>-<id>``, for ``{ref}`` links
    from the chapters) and the source of each row linked to the reference list::

        ```{mscfm-rows} pooled
        :columns: id, outcome, estimate, source, locator, evidence_level
        ```
    """

    required_arguments = 1
    option_spec = {"columns": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        path = Path(self.env.srcdir) / "data" / f"{name}.csv"
        self.env.note_dependency(str(path))
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        columns = [c.strip() for c in self.options.get("columns", "id, source").split(",")]
        missing = [c for c in columns if rows and c not in rows[0]]
        if missing:
            raise self.error(f"mscfm-rows {name}: no column(s) {', '.join(missing)} in {path}")
        table = nodes.table(classes=["longtable", "mscfm-rows"])
        group = nodes.tgroup(cols=len(columns))
        table += group
        group += [nodes.colspec(colwidth=1) for _ in columns]  # sized by size_latex_tables
        group += nodes.thead("", self._row(columns))
        body = nodes.tbody()
        for row in rows:
            body += self._row([self._cell(name, column, row) for column in columns])
        group += body
        # The rows are many and narrow: footnotesize in the PDF, as the chapters' tables.
        return [nodes.raw("", "\\begingroup\\footnotesize", format="latex"), table,
                nodes.raw("", "\\endgroup", format="latex")]

    @staticmethod
    def _row(cells: list) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.paragraph) else nodes.paragraph("", str(cell))
            row += entry
        return row

    def _cell(self, name: str, column: str, row: dict[str, str]) -> nodes.paragraph:
        value = row.get(column, "")
        paragraph = nodes.paragraph()
        if column == "id":
            anchor = nodes.make_id(f"{name}-{value}")
            target = nodes.target("", "", ids=[anchor], names=[anchor])
            self.state.document.note_explicit_target(target)
            paragraph += [target, nodes.Text(value)]
        elif column == "source" and value:
            paragraph += nodes.inline("", source_label(value), mscfm_key=value)
        else:
            paragraph += nodes.Text(value)
            if column in VERBATIM_COLUMNS:  # Sphinx's is_smartquotable() honours this flag
                paragraph["support_smartquotes"] = False
        return paragraph


# --------------------------------------------------------------------------- long tables

TABLES_SCRIPT = "mscfm-tables.js"  # in book/_vendor, the book's static folder
ITABLES_FILES = ("dt_bundle.js", "dt_bundle.css")


def mark_searchable_tables(app, doctree, docname: str) -> None:  # noqa: ARG001
    """Tables of the documents (dataset rows, markdown tables) with many rows: searchable."""
    if app.builder.format != "html":
        return
    for table in doctree.findall(nodes.table):
        rows = sum(len(body.children) for body in table.findall(nodes.tbody))
        if rows > SEARCHABLE_ROWS and SEARCHABLE_CLASS not in table["classes"]:
            table["classes"].append(SEARCHABLE_CLASS)


def itables_bundle() -> list[Path]:
    """DataTables as the itables package ships it for offline use (its ``connected=False``)."""
    import itables

    folder = Path(itables.__file__).parent / "html"
    return [folder / name for name in ITABLES_FILES]


def copy_itables_bundle(app, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "itables"
    target.mkdir(parents=True, exist_ok=True)
    for path in itables_bundle():
        shutil.copy(path, target / path.name)


# --------------------------------------------------------------------------- the theme's HTML

# pydata-sphinx-theme's sidebar: a page with sub-pages is a link followed by a <summary> that
# shows or hides them, with only an icon inside, so a screen reader announces nothing.


def label_sidebar_toggles(soup) -> None:
    """Name each such <summary> (in the theme's BeautifulSoup tree) after the page it opens."""
    for summary in soup.select("details > summary"):
        if summary.get_text(strip=True) or summary.get("aria-label"):
            continue
        link = summary.parent.find_previous_sibling("a")
        if link is not None:
            summary["aria-label"] = f"Pages under {link.get_text(' ', strip=True)}"


def reference_entries_as_list_items(body: str) -> str:
    """docutils marks each entry of the reference list with the deprecated role doc-biblioentry,
    inside a role="list" that may only hold list items (axe: aria-required-children)."""
    return body.replace('role="doc-biblioentry"', 'role="listitem"')


def accessible_theme_html(app, pagename, templatename, context, doctree) -> None:  # noqa: ARG001
    if "body" in context:
        context["body"] = reference_entries_as_list_items(context["body"])
    generate = context.get("generate_toctree_html")
    if generate is None or getattr(generate, "mscfm_labelled", False):
        return

    def labelled(*args: Any, **kwargs: Any) -> Any:
        made = generate(*args, **kwargs)  # a BeautifulSoup tree (cached by the theme)
        if hasattr(made, "select"):
            label_sidebar_toggles(made)
        return made

    labelled.mscfm_labelled = True  # type: ignore[attr-defined]
    context["generate_toctree_html"] = labelled


# Sphinx emits html-page-context with emit_firstresult: a theme handler that returns a template
# name stops the later handlers, so this one runs early (low priority number).


def notebooks_as_the_book_shows_them(app, docname: str, source: list[str]) -> None:
    """Sphinx passes each page's text through ``source-read`` before myst-nb parses it."""
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = book_view_source(source[0])


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", dedupe_scripts, priority=100)
    # After the theme (priority 500) has put its sidebar function into the context.
    app.connect("html-page-context", accessible_theme_html, priority=900)
    app.connect("doctree-resolved", mark_searchable_tables)
    app.connect("build-finished", copy_itables_bundle)
    app.add_js_file(TABLES_SCRIPT, type="module")
    app.connect("source-read", notebooks_as_the_book_shows_them)
    app.connect("doctree-resolved", link_table_sources)
    app.connect("doctree-resolved", size_latex_tables)
    app.connect("doctree-resolved", chapter_tables_as_longtables)  # after the links are made
    app.add_directive("mscfm-rows", DataRows)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
