"""Text from data or parameters shown through ``{glue:md}`` is escaped for Markdown
(``report.md_text``): no HTML, math or role can come out of a CSV cell or a parameter value."""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from mscfm.report import md_text

HOSTILE = ["<img src=x onerror=alert(1)>", "$x$ and $$y$$", "50% of n_1 & #3 ~ ^2",
           "{glue:text}`total:.1f`", "\\textbf{x}", "*not emphasis* [no](link)", "a | b"]


@pytest.mark.parametrize("text", HOSTILE)
def test_md_text_renders_as_exactly_the_text(text: str) -> None:
    md = MarkdownIt("commonmark", {"html": True}).use(dollarmath_plugin)
    rendered = md.renderInline(md_text(text).data)
    assert rendered == html.escape(text, quote=False), rendered


def test_no_chapter_glues_raw_text_as_markdown(project_root) -> None:
    """The chapters that glue a parameter or data text as Markdown go through md_text."""
    for name in ("07_efficacy", "09_regulation_cost", "12_patients"):
        source = (project_root / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8")
        for raw in ("Markdown(condition)", "Markdown(currency)", 'Markdown(str(us[\\"'):
            assert raw not in source, (name, raw)
