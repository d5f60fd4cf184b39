"""Small Sphinx fixes for the report's HTML: each script once per page; notebooks as the book
shows them (`mscfm.book_view`: a glued figure once, where the prose pastes it).

sphinx-thebe (loaded by Jupyter Book) registers its inline configuration script every time the
environment reads documents, so pages can carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". Dropping exact duplicates fixes that.
"""

from __future__ import annotations

from typing import Any

from mscfm.book_view import book_view_source


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


# Sphinx emits html-page-context with emit_firstresult: a theme handler that returns a template
# name stops the later handlers, so this one runs early (low priority number).


def notebooks_as_the_book_shows_them(app, docname: str, source: list[str]) -> None:
    """Sphinx passes each page's text through ``source-read`` before myst-nb parses it."""
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = book_view_source(source[0])


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", dedupe_scripts, priority=100)
    app.connect("source-read", notebooks_as_the_book_shows_them)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
