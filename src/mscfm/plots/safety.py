"""Published adverse-event ratios on a log axis (chapter 08). Returns a Figure with alt text."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from mscfm.labels import source_label
from mscfm.plots import charts
from mscfm.plots.style import set_alt_text


def ratio_plot(rows: pd.DataFrame, xlabel: str = "Ratio, MSC vs control (log scale)") -> Figure:
    """One row per published ratio (``label``, ``estimate``, ``ci_lb``, ``ci_ub``, ``source``)
    on a logarithmic axis with the line of no difference at 1, coloured by review."""
    rows = rows.assign(review=rows["source"].map(source_label))  # study names, not keys
    fig = charts.interval_plot(rows, label="label", group="review", reference=1.0,
                               xlabel=xlabel)
    ax = fig.axes[0]
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    legend = ax.get_legend()
    if legend is not None:  # below the whole figure, so long row labels cannot push it off
        handles = legend.legend_handles
        labels = [text.get_text() for text in legend.get_texts()]
        legend.remove()
        fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
                   frameon=False)
    above = rows[rows["ci_lb"] > 1]
    alt = (f"Interval plot of {len(rows)} published adverse-event ratios of MSC vs control on a "
           f"log axis, coloured by review; {len(above)} have a 95% CI entirely above 1 "
           f"({', '.join(sorted(set(above['outcome']))) or 'none'}), the rest include 1 or lie "
           f"below it.")
    return set_alt_text(fig, alt)
