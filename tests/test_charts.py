"""Tests for mscfm.plots.charts: shape of the figures, alt text, and that they render to PNG."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mscfm.plots import charts
from mscfm.plots.style import alt_text


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_bar_chart_bars_labels_and_alt():
    fig = charts.bar_chart(["a", "b", "c"], [3, 7, 1], xlabel="Trials")
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [1, 3, 7]
    assert "b (7)" in alt_text(fig)
    assert _png(fig).startswith(b"\x89PNG")


def test_bar_chart_rejects_mismatch():
    with pytest.raises(ValueError):
        charts.bar_chart(["a"], [1, 2], xlabel="x")


def test_stacked_bar_chart_segments():
    table = pd.DataFrame({"allo": [2, 5], "auto": [3, 0]}, index=["bone marrow", "cord"])
    fig = charts.stacked_bar_chart(table, xlabel="Trials")
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    right_ends = sorted(p.get_x() + p.get_width() for p in ax.patches)
    assert right_ends[-1] == 5 and 5 in right_ends
    assert "bone marrow (5)" in alt_text(fig) or "cord (5)" in alt_text(fig)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["allo", "auto"]
    _png(fig)


def test_year_chart():
    fig = charts.year_chart([2001, 2003, 2004], [1, 5, 2])
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    assert sorted(p.get_height() for p in ax.patches) == [1, 2, 5]
    assert "peak in 2003 with 5" in alt_text(fig)
    _png(fig)


def _estimates() -> pd.DataFrame:
    return pd.DataFrame({
        "label": ["A", "B", "C", "D"],
        "estimate": [1.0, 0.5, np.nan, -0.3],
        "ci_lb": [0.5, 0.1, 0.2, -0.6],
        "ci_ub": [1.5, 0.9, 3.0, 0.1],
        "group": ["x", "y", "x", "y"],
        "flag": [False, False, False, True],
    })


def test_interval_plot_rows_points_and_ranges():
    fig = charts.interval_plot(_estimates(), group="group", flag="flag", reference=0.0,
                               xlabel="SMD")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C", "D"]
    # rows with an estimate: one interval line and one marker each; the range row: one band
    point_lines = [ln for ln in ax.get_lines() if ln.get_marker() not in ("None", "", None)]
    assert len(point_lines) == 3
    hollow = [ln for ln in point_lines if ln.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and hollow[0].get_xdata()[0] == -0.3
    assert any(ln.get_linestyle() == "--" for ln in ax.get_lines())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["x", "y", charts.RANGE_LEGEND]
    # each group has its own marker as well as its own colour (greyscale print)
    assert len({ln.get_marker() for ln in point_lines}) == 2
    assert "4 published estimates" in alt_text(fig) and "-0.3 to 1" in alt_text(fig)
    _png(fig)


def test_interval_plot_first_row_on_top():
    fig = charts.interval_plot(_estimates())
    ax = fig.axes[0]
    first = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][0]
    assert first.get_xdata()[0] == 1.0
    assert first.get_ydata()[0] == max(ax.get_yticks())


def test_interval_plot_checks_columns():
    with pytest.raises(ValueError, match="nope"):
        charts.interval_plot(_estimates(), group="nope")
    with pytest.raises(ValueError):
        charts.interval_plot(_estimates().iloc[0:0])
