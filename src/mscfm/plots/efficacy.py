"""Figures for chapter 07 when pooling is not possible: the study effects without a pooled
estimate, or a panel that says why no plot is drawn. Every function returns a Figure with alt
text; none saves or shows it."""

from __future__ import annotations

import textwrap

import pandas as pd
from matplotlib.figure import Figure

from mscfm.plots import charts
from mscfm.plots.style import FULL_WIDTH_IN, new_figure, set_alt_text


def message_figure(message: str, alt: str) -> Figure:
    """A small panel carrying only a sentence (e.g. "no funnel plot with k = 1")."""
    fig, ax = new_figure(FULL_WIDTH_IN * 0.75, 1.2)
    ax.set_axis_off()
    ax.text(0.5, 0.5, textwrap.fill(message, 80), ha="center", va="center", fontsize=9,
            transform=ax.transAxes)
    return set_alt_text(fig, alt)


def study_effects_plot(studies: pd.DataFrame, xlabel: str, message: str) -> Figure:
    """Each study's effect (``yi``) and 95% CI (``ci_lb``, ``ci_ub``) with no pooled estimate;
    a message panel when there is no study at all."""
    if studies.empty:
        return message_figure(message, f"No study qualifies: {message}")
    frame = studies.rename(columns={"yi": "estimate"})
    alt = (f"Effect of MSC vs control in {len(frame)} "
           f"{'study' if len(frame) == 1 else 'studies'} ({xlabel}), each with its 95% "
           f"confidence interval, and no pooled estimate: {message}")
    fig = charts.interval_plot(frame, label="label", reference=0.0, xlabel=xlabel,
                               title="No pooled estimate", alt=alt)
    return fig
