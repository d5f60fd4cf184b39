"""Charts for the background chapters: bar charts, stacked bars, trial starts per year, and an
interval plot for published estimates (point and interval per row, optionally grouped).

Every function returns a ``Figure`` with alt text attached (``mscfm.plots.style.set_alt_text``);
none saves or shows it. Inputs are plain sequences or DataFrames, never file paths.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mscfm.plots.style import (
    CYCLE,
    FULL_WIDTH_IN,
    HATCHES,
    MARKERS,
    OKABE_ITO,
    new_figure,
    set_alt_text,
)

ROW_HEIGHT_IN = 0.24
MIN_HEIGHT_IN = 1.8
RANGE_COLOUR = "#999999"
RANGE_LEGEND = "range (not a CI)"


def _height(n_rows: int, extra: float = 0.9) -> float:
    return max(MIN_HEIGHT_IN, n_rows * ROW_HEIGHT_IN + extra)


def _largest(labels: Sequence[str], values: Sequence[float]) -> str:
    i = int(np.argmax(values))
    return f"{labels[i]} ({values[i]:g})"


def bar_chart(labels: Sequence[str], values: Sequence[float], xlabel: str, title: str = "",
              alt: str | None = None, colour: str = OKABE_ITO["blue"]) -> Figure:
    """Horizontal bars, first label on top; values printed at the bar ends."""
    labels = [str(label) for label in labels]
    values = [float(v) for v in values]
    if len(labels) != len(values) or not labels:
        raise ValueError("bar_chart needs as many values as labels, and at least one")
    fig, ax = new_figure(FULL_WIDTH_IN, _height(len(labels)))
    positions = np.arange(len(labels))[::-1]
    bars = ax.barh(positions, values, color=colour, height=0.7)
    ax.bar_label(bars, labels=[f"{v:g}" for v in values], padding=2, fontsize=7)
    ax.set_yticks(positions, labels)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, max(values) * 1.12 if max(values) > 0 else 1)
    if title:
        ax.set_title(title, loc="left")
    default = (f"Horizontal bar chart of {xlabel.lower()} for {len(labels)} categories; "
               f"largest: {_largest(labels, values)}.")
    return set_alt_text(fig, alt or default)


def stacked_bar_chart(table: pd.DataFrame, xlabel: str, title: str = "",
                      alt: str | None = None) -> Figure:
    """Horizontal stacked bars: one bar per row of `table`, one segment per column; each column
    has its own colour and hatch, so the segments stay apart in greyscale print."""
    if table.empty:
        raise ValueError("stacked_bar_chart needs a table with at least one row and column")
    rows = [str(i) for i in table.index]
    fig, ax = new_figure(FULL_WIDTH_IN, _height(len(rows), extra=1.3))
    positions = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for i, column in enumerate(table.columns):
        values = table[column].to_numpy(dtype=float)
        ax.barh(positions, values, left=left, height=0.7, label=str(column),
                color=CYCLE[i % len(CYCLE)], hatch=HATCHES[i % len(HATCHES)],
                edgecolor="white", linewidth=0.5)
        left += values
    ax.set_yticks(positions, rows)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.5 / max(len(rows), 1)),
              ncol=min(4, len(table.columns)), frameon=False)
    totals = table.sum(axis=1).to_numpy(dtype=float)
    default = (f"Stacked horizontal bar chart of {xlabel.lower()} for {len(rows)} categories, "
               f"split by {', '.join(map(str, table.columns))}; largest total: "
               f"{_largest(rows, totals)}.")
    return set_alt_text(fig, alt or default)


def year_chart(years: Sequence[int], counts: Sequence[int], ylabel: str = "Trials started",
               title: str = "", alt: str | None = None) -> Figure:
    """Vertical bars per year (missing years shown as gaps, not interpolated)."""
    years = [int(y) for y in years]
    counts = [int(c) for c in counts]
    if len(years) != len(counts) or not years:
        raise ValueError("year_chart needs as many counts as years, and at least one")
    fig, ax = new_figure(FULL_WIDTH_IN, 2.8)
    ax.bar(years, counts, width=0.8, color=OKABE_ITO["blue"])
    ax.set_xlabel("Start year")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    peak = int(np.argmax(counts))
    default = (f"Bar chart of {ylabel.lower()} per year from {min(years)} to {max(years)}; "
               f"peak in {years[peak]} with {counts[peak]}.")
    return set_alt_text(fig, alt or default)


def interval_plot(frame: pd.DataFrame, label: str = "label", estimate: str = "estimate",
                  lower: str = "ci_lb", upper: str = "ci_ub", group: str | None = None,
                  flag: str | None = None, reference: float | None = None, xlabel: str = "",
                  title: str = "", alt: str | None = None, flag_label: str = "") -> Figure:
    """Published estimates as points with intervals, one row per record (first row on top).

    Rows without a point estimate but with both bounds are drawn as a grey band (a range, not a
    confidence interval). Rows where `flag` is true get a hollow marker, explained in the legend
    by `flag_label`. `group` gives each group its own colour and marker (readable in greyscale)
    and a legend; `reference` draws a vertical dashed line (e.g. 0 for no difference).
    """
    missing = [c for c in (label, estimate, lower, upper, group, flag) if c and c not in frame]
    if missing:
        raise ValueError(f"interval_plot: column(s) {', '.join(missing)} not in the table")
    if frame.empty:
        raise ValueError("interval_plot needs at least one row")
    n = len(frame)
    fig, ax = new_figure(FULL_WIDTH_IN, _height(n, extra=1.2 if group else 0.9))
    groups = list(dict.fromkeys(frame[group])) if group else [None]
    styles = {g: (CYCLE[i % len(CYCLE)], MARKERS[i % len(MARKERS)])
              for i, g in enumerate(groups)}
    positions = np.arange(n)[::-1]
    kinds: set[str] = set()
    for y, (_, row) in zip(positions, frame.iterrows(), strict=True):
        colour, marker = styles[row[group] if group else None]
        hollow = bool(flag and row[flag])
        kinds.add(_draw_row(ax, y, row, estimate, lower, upper, colour, marker, hollow))
    if reference is not None:
        ax.axvline(reference, color=OKABE_ITO["black"], linestyle="--", linewidth=0.8)
    ax.set_yticks(positions, [str(v) for v in frame[label]])
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, loc="left")
    handles = [Line2D([], [], color=c, marker=m, linestyle="none", label=str(g))
               for g, (c, m) in styles.items() if group]
    if "range" in kinds:
        handles.append(Line2D([], [], color=RANGE_COLOUR, linewidth=5, label=RANGE_LEGEND))
    if "hollow" in kinds and flag_label:
        handles.append(Line2D([], [], color=OKABE_ITO["black"], marker="o", linestyle="none",
                              markerfacecolor="white", label=flag_label))
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / n),
                  frameon=False, ncol=min(4, len(handles)))
    return set_alt_text(fig, alt or _interval_alt(frame, label, estimate, xlabel))


def _draw_row(ax, y: float, row: pd.Series, estimate: str, lower: str, upper: str, colour: str,
              marker: str, hollow: bool) -> str:
    """Draw one row; say what was drawn ('range', 'hollow', 'point' or 'nothing')."""
    point, low, high = row[estimate], row[lower], row[upper]
    if pd.isna(point):
        if pd.notna(low) and pd.notna(high):
            ax.plot([low, high], [y, y], color=RANGE_COLOUR, linewidth=5, solid_capstyle="butt")
            return "range"
        return "nothing"
    if pd.notna(low) and pd.notna(high):
        ax.plot([low, high], [y, y], color=colour, linewidth=1.2)
    ax.plot([point], [y], marker=marker, markersize=5, color=colour,
            markerfacecolor="white" if hollow else colour, linestyle="none")
    return "hollow" if hollow else "point"


def _interval_alt(frame: pd.DataFrame, label: str, estimate: str, xlabel: str) -> str:
    points = frame[estimate].dropna()
    text = (f"Interval plot of {len(frame)} published estimates ({xlabel or estimate}), one row "
            f"each, labelled by {label}")
    if points.empty:
        return text + "; no point estimates, ranges only."
    return text + f"; point estimates from {points.min():g} to {points.max():g}."
