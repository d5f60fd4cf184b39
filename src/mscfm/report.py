"""Presentation helpers for chapter notebooks: one call to set up, tables and figures that read
well in HTML and in the PDF, numbers glued into the prose.

A chapter starts with ``from mscfm import report; report.setup()`` and then uses
``report.table(df)``, ``report.glue_number(...)`` and ``report.glue_figure(...)``.

Outside the book (JupyterLab, VS Code, ``jupyter nbconvert --execute``) the same calls show each
glued figure where the code makes it and list the numbers a cell glues under that cell; the book
shows each figure once, where the prose pastes it, and the numbers in the prose
(`mscfm.book_view`).
"""

from __future__ import annotations

import hashlib
import html
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mscfm.book_view import METADATA_KEY, NOTEBOOK_ONLY
from mscfm.plots.style import alt_text

DEFAULT_PRECISION = 2
# Widths are in average lower-case letters of the PDF's table text (footnotesize Termes, about
# 3.7 pt each; measured with the font's metrics): the text width, about 451 pt, holds some 122.
TEXT_WIDTH_CHARS = 122
LINE_CHARS = 110  # what a table may use: a margin for the estimate's error
COLUMN_GAP_CHARS = 3.5  # \tabcolsep on both sides of a column (2 x 6 pt)
# A table with more rows than this gets a search box and sortable columns in the HTML book
# (mscfm.sphinx_ext; DataTables from the itables package); the PDF keeps it a plain table.
SEARCHABLE_ROWS = 25
SEARCHABLE_CLASS = "mscfm-searchable"  # what book/_vendor/mscfm-tables.js looks for
_LINKABLE = re.compile(r"[a-z0-9_-]+")  # bibliography keys, safe in a class name and in LaTeX
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
# Characters much narrower or wider than an average lower-case letter, with their width.
_CHAR_WIDTHS = {**dict.fromkeys("ijlt.,;:'|!()[] ", 0.6), **dict.fromkeys("mw", 1.7),
                **dict.fromkeys("MW%", 2.2)}


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
    _list_key_numbers_under_each_cell()


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
        cite: Mapping[str, Sequence[str]] | None = None,
        colours: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.frame = frame.reset_index(drop=True)
        self.precision = precision
        self.formats = dict(formats or {})
        # column -> bibliography key of each row: the cell links to that entry of the references
        self.cite = {column: [str(k) if _LINKABLE.fullmatch(str(k)) else "" for k in keys]
                     for column, keys in (cite or {}).items()}
        for column, keys in self.cite.items():
            if column not in self.frame or len(keys) != len(self.frame):
                raise ValueError(f"cite: column {column!r} must be shown and have one key per row")
        # column -> background of each row's cell (#RRGGBB, "" for none), in HTML and the PDF
        self.colours = {column: [str(c) for c in values] for column, values in
                        (colours or {}).items()}
        for column, values in self.colours.items():
            if column not in self.frame or len(values) != len(self.frame):
                raise ValueError(f"colours: column {column!r} must be shown and have one colour "
                                 "per row")
            bad = [c for c in values if c and not _COLOUR.fullmatch(c)]
            if bad:
                raise ValueError(f"colours: column {column!r}: {bad[0]!r} is not #RRGGBB")

    def _styler(self, escape: str):
        # A content-derived id instead of pandas' random one keeps outputs reproducible (nbval).
        digest = hashlib.sha1(self.frame.to_csv().encode("utf-8")).hexdigest()[:10]
        styler = self.frame.style.hide(axis="index").set_uuid(digest)
        # "dataframe" gives the theme's table colours (readable in dark mode too).
        styler = styler.set_table_attributes(f'class="{" ".join(self.html_classes())}"')
        styler = styler.format(precision=self.precision, escape=escape, na_rep="")
        styler = styler.format_index(escape=escape, axis=1)  # headers are text too
        for column, fmt in self.formats.items():
            styler = styler.format(fmt, subset=[column], escape=escape, na_rep="")
        for column, keys in self.cite.items():  # mscfm.sphinx_ext turns these into links
            if escape == "html":
                classes = pd.DataFrame({column: [f"mscfm-cite-{k}" if k else "" for k in keys]})
                styler = styler.set_td_classes(classes)
            else:
                styler = styler.apply(lambda _col, keys=keys: [
                    f"mscfmcite:{{{k}}}--rwrap;" if k else "" for k in keys], subset=[column])
        for column, values in self.colours.items():
            if escape == "html":  # dark text on the light tint, whatever the page's theme;
                # a coloured cell holds a short label, kept on one line
                css = [f"background-color: {c}; color: #000000; white-space: nowrap" if c else ""
                       for c in values]
            else:  # colortbl, which Sphinx's LaTeX loads
                css = [f"cellcolor:[HTML]{{{c[1:]}}};" if c else "" for c in values]
            styler = styler.apply(lambda _col, css=css: css, subset=[column])
        return styler

    def html_classes(self) -> list[str]:
        return ["dataframe", *([SEARCHABLE_CLASS] if len(self.frame) > SEARCHABLE_ROWS else [])]

    def _repr_html_(self) -> str:
        return self._styler("html").to_html()

    def _repr_latex_(self) -> str:
        # myst-nb puts text/latex in a display-math block (mscfm.sphinx_ext makes it a longtable
        # in the PDF, so long tables break across pages). An \\mbox returns to text mode so the
        # table can be set small, and long text columns become wrapping p-columns sized to the
        # text width, so no table runs off the page.
        spec = latex_columns(self.frame, shown=self._as_shown())
        body = self._styler("latex").to_latex(hrules=True, column_format=spec)
        return "\\mbox{\\footnotesize " + body + "}"

    def _as_shown(self) -> pd.DataFrame:
        """The cells as text at the table's precision (what the widths must hold)."""
        shown = self.frame.copy()
        for column in shown.columns:
            if column in self.formats:
                fmt = self.formats[column]
                shown[column] = [("" if pd.isna(v) else fmt.format(v)) for v in shown[column]]
            elif pd.api.types.is_float_dtype(shown[column]):
                shown[column] = [("" if pd.isna(v) else f"{v:.{self.precision}f}")
                                 for v in shown[column]]
        return shown

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def text_width(text: str) -> float:
    """Estimated width of `text` in average lower-case letters (see TEXT_WIDTH_CHARS)."""
    width = 0.0
    for char in text:
        if char in _CHAR_WIDTHS:
            width += _CHAR_WIDTHS[char]
        elif char.isupper():
            width += 1.45
        elif char.isdigit() or char in "_-/":
            width += 1.1
        else:
            width += 1.0
    return width


def _cells(frame: pd.DataFrame, column: str) -> list[str]:
    return [str(column), *("" if pd.isna(v) else str(v) for v in frame[column])]


def _natural_width(frame: pd.DataFrame, column: str) -> float:
    """Width of the longest cell (header included): what the column needs on one line."""
    return max(text_width(cell) for cell in _cells(frame, column))


def _word_width(frame: pd.DataFrame, column: str) -> float:
    """Width of the longest word: the narrowest the column can wrap to without a word running
    into the next column (LaTeX does not break '02_fibromyalgia' or 'supported')."""
    words = [text_width(word) for cell in _cells(frame, column) for word in cell.split()]
    return max(words, default=1.0)


def column_widths(frame: pd.DataFrame, line_chars: float = LINE_CHARS) -> dict[str, float]:
    """Width of each column (see LINE_CHARS) so that the table fits `line_chars`.

    Columns that fit their fair share of the room keep their natural width (one line each); the
    others share what is left in proportion to their natural width, but never narrower than their
    longest word. The automatic layout of HTML tables works much the same way; LaTeX has none that
    also keeps words whole, so it is written here.
    """
    natural = {c: _natural_width(frame, c) for c in frame.columns}
    words = {c: _word_width(frame, c) for c in frame.columns}
    room = line_chars - COLUMN_GAP_CHARS * len(natural)
    if sum(natural.values()) <= room:
        return dict(natural)
    widths: dict[str, float] = {}
    flexible = list(natural)
    while flexible:  # columns that fit their share keep their natural width
        share = (room - sum(widths.values())) / len(flexible)
        fits = [c for c in flexible if natural[c] <= share]
        if not fits:
            break
        widths.update({c: natural[c] for c in fits})
        flexible = [c for c in flexible if c not in fits]
    while flexible:  # the rest share what is left, each at least as wide as its longest word
        left = room - sum(widths.values())
        total = sum(natural[c] for c in flexible)
        proposed = {c: left * natural[c] / total for c in flexible}
        pinned = [c for c in flexible if proposed[c] < words[c]]
        if not pinned:
            widths.update(proposed)
            break
        widths.update({c: words[c] for c in pinned})
        flexible = [c for c in flexible if c not in pinned]
    excess = sum(widths.values()) - room
    slack = {c: widths[c] - words[c] for c in widths if widths[c] > words[c]}
    if excess > 0 and slack:  # still too wide: wrap the one-line columns too, down to their words
        cut = min(1.0, excess / sum(slack.values()))
        widths.update({c: widths[c] - cut * room_left for c, room_left in slack.items()})
    return {c: widths[c] for c in frame.columns}


def latex_columns(frame: pd.DataFrame, shown: pd.DataFrame | None = None) -> str:
    """A tabular column spec that fits the text width: numbers right-aligned, columns that fit on
    one line as they are, longer text in ragged-right paragraph columns (see column_widths).
    Widths are measured on `shown`, the cells as displayed, when given."""
    text = frame if shown is None else shown
    spec = []
    for column, width in column_widths(text).items():
        if width < _natural_width(text, column):
            share = width / TEXT_WIDTH_CHARS
            spec.append(f">{{\\raggedright\\arraybackslash}}p{{{share:.3f}\\linewidth}}")
        elif pd.api.types.is_numeric_dtype(frame[column]):
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
    cite: Mapping[str, str] | None = None,
    colours: Mapping[str, str] | None = None,
) -> Table:
    """Select, rename and format columns for display.

    `cite` maps a shown column (by its name in `frame`) to the column of `frame` that holds each
    row's bibliography key: that cell links to the entry in the reference list, for example
    ``cite={"study": "source"}`` shows 'Heidari 2017' linked to ``heidari2017prevalence``.
    `colours` maps a shown column to the column of `frame` that holds each row's background
    colour for that cell (#RRGGBB, or empty), for example ``colours={"verdict": "colour"}``.
    """
    shown = frame.loc[:, list(columns)] if columns is not None else frame
    keys = {column: list(frame[key]) for column, key in (cite or {}).items()}
    tints = {column: list(frame[key]) for column, key in (colours or {}).items()}
    if rename:
        shown = shown.rename(columns=dict(rename))
        keys = {rename.get(column, column): values for column, values in keys.items()}
        tints = {rename.get(column, column): values for column, values in tints.items()}
    return Table(shown, precision=precision, formats=formats, cite=keys, colours=tints)


_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def md_text(value: Any):
    """Text from data or parameters as Markdown that shows exactly that text, for
    ``{glue:md}``: every ASCII punctuation character is backslash-escaped, so ``<img ...>``
    is no HTML, ``$x$`` no math and ``{glue:text}`...``` no role, in the HTML and the PDF. The
    one escaping function for Markdown, as ``Table`` escapes for HTML and LaTeX."""
    from IPython.display import Markdown

    text = " ".join(str(value).split())  # a line break would end a paragraph
    return Markdown(_MD_SPECIAL.sub(r"\\\1", text))


def glue_number(name: str, value: Any) -> None:
    """Make a computed value available to the prose as {glue:text}`name:.2f`."""
    from myst_nb import glue

    glue(name, value, display=False)
    _note_key_number(name, value)


def glue_figure(name: str, fig: Figure) -> None:
    """Show a figure where the code makes it and glue it for a ``{glue:figure}`` directive;
    refuses figures without alt text. The book shows it only where the directive pastes it.

    Returns nothing, so a call at the end of a cell does not display the figure a second time.
    """
    from myst_nb import glue

    alt_text(fig)  # raises if missing: every figure in the book has alt text
    glue(name, fig, display=True)


# --------------------------------------------------------------------------- key numbers
# The prose quotes glued numbers by name ({glue:text}`eff_k`). Outside the book nothing resolves
# those roles (jupyterlab-myst shows the bare name), so each cell that glues numbers lists them,
# name and value, in an output under it that the book leaves out.

KEY_NUMBERS = "key numbers"
LEFT = 'style="text-align: left"'  # JupyterLab right-aligns table cells; these are sentences
_MARKDOWN = None  # a markdown-it parser, made on first use


@dataclass(frozen=True)
class KeyNumber:
    name: str
    text: str  # as {glue:text} (plain text) or {glue:md} (markdown source) takes it
    html: str  # as the prose shows it, raw HTML in the value escaped


_pending: list[KeyNumber] = []  # glued by the running cell
_listing = False  # the hooks that show and clear _pending are registered


def _key_number(name: str, value: Any) -> KeyNumber:
    global _MARKDOWN
    from IPython.core.formatters import format_display_data

    bundle, _ = format_display_data(value)
    if "text/markdown" in bundle:
        if _MARKDOWN is None:
            from markdown_it import MarkdownIt

            _MARKDOWN = MarkdownIt("commonmark", {"html": False})
        text = bundle["text/markdown"]
        return KeyNumber(name, text, _MARKDOWN.renderInline(text))
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        text = format(float(value), ".6g")  # 26.7, not 26.700000000000003 or np.float64(26.7)
    elif isinstance(value, str):
        text = value  # {glue:text} drops the quotes of a string's repr too
    else:
        text = bundle.get("text/plain", repr(value))
    return KeyNumber(name, text, html.escape(text))


def _note_key_number(name: str, value: Any) -> None:
    if _listing:  # only in an IPython kernel after setup(); a plain script keeps nothing
        _pending.append(_key_number(name, value))


class KeyNumbers:
    """The numbers one cell glued, shown under the cell in a notebook (never in the book)."""

    def __init__(self, items: Sequence[KeyNumber]) -> None:
        self.numbers = list(items)

    def _repr_html_(self) -> str:
        rows = "".join(
            f'<tr><td><code>{html.escape(n.name)}</code></td><td {LEFT}>{n.html}</td></tr>'
            for n in self.numbers
        )
        return (
            '<div class="mscfm-key-numbers"><p><strong>Key numbers</strong> (the text names '
            "them; the book prints their values there)</p>"
            f"<table><thead><tr><th>name</th><th {LEFT}>value</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return "\n".join(f"{n.name} = {n.text}" for n in self.numbers)


def _forget_key_numbers(*_: Any) -> None:
    _pending.clear()  # a cell that failed half-way leaves nothing for the next one


def _show_key_numbers(*_: Any) -> None:
    if not _pending:
        return
    from IPython.display import display

    names = [n.name for n in _pending]
    display(KeyNumbers(_pending),
            metadata={METADATA_KEY: {NOTEBOOK_ONLY: KEY_NUMBERS, "names": names}})
    _pending.clear()


def _list_key_numbers_under_each_cell() -> None:
    """IPython runs these around every cell (as matplotlib's inline backend shows figures)."""
    global _listing
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    for event, callback in (("pre_run_cell", _forget_key_numbers),
                            ("post_run_cell", _show_key_numbers)):
        if callback not in shell.events.callbacks[event]:  # setup() may run twice
            shell.events.register(event, callback)
    _listing = True
