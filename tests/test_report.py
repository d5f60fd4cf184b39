"""Tables in the book: data text is escaped in HTML and LaTeX, and wide tables fit the page."""

from __future__ import annotations

import re

import pandas as pd

from mscfm.report import (
    COLUMN_GAP_CHARS,
    LINE_CHARS,
    SEARCHABLE_CLASS,
    SEARCHABLE_ROWS,
    TEXT_WIDTH_CHARS,
    Table,
    column_widths,
    latex_columns,
    table,
    text_width,
)

TRICKY = "<b>bold</b> & 50% of n_1 at $x$ #3"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"trial_id": ["NCT01586312"], "title": [TRICKY], "n": [30]})


def test_html_escapes_cells_and_headers() -> None:
    html = Table(_frame())._repr_html_()
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; 50% of n_1 at $x$ #3" in html
    assert "trial_id" in html


def test_latex_escapes_cells_and_headers() -> None:
    latex = Table(_frame())._repr_latex_()
    # T1-encoded fonts (Sphinx's default) print < and > as themselves.
    assert r"<b>bold</b> \& 50\% of n\_1 at \$x\$ \#3" in latex
    assert r"trial\_id" in latex


def test_short_tables_use_plain_columns_and_long_text_wraps_within_the_width() -> None:
    assert latex_columns(_frame()) == "llr"
    wide = pd.DataFrame({"id": ["C01"], "claim": ["word " * 40], "verdict": ["supported"],
                         "n": [3]})
    spec = latex_columns(wide)
    shares = [float(x) for x in re.findall(r"p\{([0-9.]+)\\linewidth\}", spec)]
    assert len(shares) == 1 and spec.endswith("lr")
    widths = column_widths(wide)
    assert sum(widths.values()) + COLUMN_GAP_CHARS * 4 <= LINE_CHARS + 1e-9
    assert abs(shares[0] - widths["claim"] / TEXT_WIDTH_CHARS) < 1e-3


def test_no_column_is_narrower_than_its_longest_word() -> None:
    """The cells that ran together in the PDF ('supportedlow', '02_fibromyalgiasupported')."""
    claims = pd.DataFrame({"claim_id": ["C01", "C25"],
                           "claim": ["Fibromyalgia is a chronic condition marked by widespread "
                                     "musculoskeletal pain, fatigue, disturbed sleep. " * 2] * 2,
                           "claim_type": ["background", "feasibility_regulation"],
                           "chapter": ["02_fibromyalgia", "09_regulation_cost"],
                           "verdict": ["supported", "partly supported"],
                           "key_numbers": ["USD 194,000 per infusion (2025); USD 3,630 to 4,890 "
                                           "per dose (2012)"] * 2})
    widths = column_widths(claims)
    for column in claims.columns:
        longest = max(text_width(w) for cell in [column, *claims[column]] for w in cell.split())
        assert widths[column] >= longest - 1e-9, column
    assert sum(widths.values()) + COLUMN_GAP_CHARS * len(widths) <= LINE_CHARS + 1e-9


def test_text_width_counts_wide_letters_more() -> None:
    assert text_width("MW%") > text_width("mwx") > text_width("ilt")
    assert text_width("abc") == 3


def test_table_selects_renames_and_keeps_row_order() -> None:
    frame = pd.DataFrame({"b": [2, 1], "a": ["x", "y"], "c": [0, 0]})
    shown = table(frame, columns=["a", "b"], rename={"a": "label"})
    assert list(shown.frame.columns) == ["label", "b"]
    assert list(shown.frame["b"]) == [2, 1]
    assert "x" in repr(shown)


def test_cited_cells_carry_their_key_for_the_reference_link() -> None:
    frame = pd.DataFrame({"study": ["Heidari 2017", "Someone"], "source": ["heidari2017prevalence",
                                                                          "not a key!"],
                          "estimate": [1.78, 2.0]})
    shown = table(frame, columns=["study", "estimate"], rename={"study": "Source"},
                  cite={"study": "source"})
    html = shown._repr_html_()
    assert 'mscfm-cite-heidari2017prevalence" >Heidari 2017</td>' in html
    assert html.count("mscfm-cite-") == 1  # a value that is not a key is not linked
    latex = shown._repr_latex_()
    assert r"\mscfmcite{heidari2017prevalence}{Heidari 2017}" in latex
    assert "source" not in latex and "Someone" in latex


def _table_tag(html: str) -> str:
    return re.search(r"<table\b[^>]*>", html).group(0)


def test_long_tables_are_marked_searchable_in_html_only() -> None:
    """Over SEARCHABLE_ROWS rows the HTML table is marked for the search box; the LaTeX form,
    which the PDF prints, stays a plain tabular with every row."""
    short = Table(pd.DataFrame({"id": [f"r{i:03d}" for i in range(SEARCHABLE_ROWS)]}))
    long = Table(pd.DataFrame({"id": [f"r{i:03d}" for i in range(SEARCHABLE_ROWS + 1)]}))
    assert SEARCHABLE_CLASS not in _table_tag(short._repr_html_())
    assert SEARCHABLE_CLASS in _table_tag(long._repr_html_())
    latex = long._repr_latex_()
    assert SEARCHABLE_CLASS not in latex and "datatable" not in latex.lower()
    assert all(f"r{i:03d}" in latex for i in range(SEARCHABLE_ROWS + 1))


def test_tables_carry_the_theme_class_for_dark_mode() -> None:
    # pydata-sphinx-theme gives `table.dataframe` its colours in both modes; any other table in
    # an output is set on a light box in dark mode, where links fail the contrast check.
    assert 'class="dataframe"' in _table_tag(Table(_frame())._repr_html_())
