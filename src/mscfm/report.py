"""Presentation helpers for chapter notebooks: one call to set up, tables and figures that read
well in HTML and in the PDF, numbers glued into the prose.

A chapter starts with ``from mscfm import report; report.setup()`` and then uses
``report.table(df)``, ``report.glue_number(...)`` and ``report.glue_figure(...)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mscfm.plots.style import alt_text

DEFAULT_PRECISION = 2
LINE_CHARS = 85  # characters of footnotesize text across the PDF's text width
SHORT_COLUMN_CHARS = 14  # columns up to this width are set on one line


def setup() -> None:
    """Pandas tables get a LaTeX form (escaped) for the PDF; figures render as crisp PNG."""
    pd.set_option("styler.render.repr", "html")
    pd.set_option("styler.format.escape", "html")
    pd.set_option("styler.format.precision", DEFAULT_PRECISION)
    pd.set_option("display.max_colwidth", 120)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # outside IPython there is nothing to configure
        pass


class Table:
    """A table shown as HTML on screen and as an escaped booktabs tabular in the PDF.

    Text from data (trial titles, notes) is escaped in both forms, so it can never turn into
    markup.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        precision: int = DEFAULT_PRECISION,
        formats: Mapping[str, str] | None = None,
    ) -> None:
        self.frame = frame.reset_index(drop=True)
        self.precision = precision
        self.formats = dict(formats or {})

    def _styler(self, escape: str):
        # A content-derived id instead of pandas' random one keeps outputs reproducible (nbval).
        digest = hashlib.sha1(self.frame.to_csv().encode("utf-8")).hexdigest()[:10]
        styler = self.frame.style.hide(axis="index").set_uuid(digest)
        styler = styler.format(precision=self.precision, escape=escape, na_rep="")
        styler = styler.format_index(escape=escape, axis=1)  # headers are text too
        for column, fmt in self.formats.items():
            styler = styler.format(fmt, subset=[column], escape=escape, na_rep="")
        return styler

    def _repr_html_(self) -> str:
        return self._styler("html").to_html()

    def _repr_latex_(self) -> str:
        # myst-nb puts text/latex in a display-math block. An \\mbox returns to text mode so the
        # table can be set small, and long text columns become wrapping p-columns sized to the
        # text width, so no table runs off the page.
        body = self._styler("latex").to_latex(hrules=True, column_format=latex_columns(self.frame))
        return "\\mbox{\\footnotesize " + body + "}"

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def _natural_width(frame: pd.DataFrame, column: str) -> int:
    cells = [str(column), *("" if pd.isna(v) else str(v) for v in frame[column])]
    return max(len(cell) for cell in cells)


def latex_columns(frame: pd.DataFrame) -> str:
    """A tabular column spec that fits the text width: numbers right-aligned, short text on one
    line, long text in ragged-right paragraph columns sharing the remaining width."""
    widths = {col: _natural_width(frame, col) for col in frame.columns}
    if sum(widths.values()) + 2 * len(widths) <= LINE_CHARS:
        long_cols: list[str] = []
    else:
        long_cols = [c for c, w in widths.items() if w > SHORT_COLUMN_CHARS]
    short_chars = sum(w + 2 for c, w in widths.items() if c not in long_cols)
    room = max(0.3, 1.0 - short_chars / LINE_CHARS)
    long_total = sum(widths[c] for c in long_cols) or 1
    spec = []
    for col in frame.columns:
        if col in long_cols:
            share = room * widths[col] / long_total
            spec.append(f">{{\\raggedright\\arraybackslash}}p{{{share:.3f}\\linewidth}}")
        elif pd.api.types.is_numeric_dtype(frame[col]):
            spec.append("r")
        else:
            spec.append("l")
    return "".join(spec)


def table(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    precision: int = DEFAULT_PRECISION,
    formats: Mapping[str, str] | None = None,
) -> Table:
    """Select, rename and format columns for display."""
    shown = frame.loc[:, list(columns)] if columns is not None else frame
    if rename:
        shown = shown.rename(columns=dict(rename))
    return Table(shown, precision=precision, formats=formats)


def glue_number(name: str, value: Any) -> None:
    """Make a computed value available to the prose as {glue:text}`name:.2f`."""
    from myst_nb import glue

    glue(name, value, display=False)


def glue_figure(name: str, fig: Figure) -> None:
    """Glue a figure for a ``{glue:figure}`` directive; refuses figures without alt text.

    Returns nothing, so a call at the end of a cell does not display the figure a second time.
    """
    from myst_nb import glue

    alt_text(fig)  # raises if missing: every figure in the book has alt text
    glue(name, fig, display=False)
