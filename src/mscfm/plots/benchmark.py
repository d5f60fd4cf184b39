"""The treatment benchmark of chapter 02: effects of established fibromyalgia treatments beside
the evidence for MSCs, one panel per effect measure. Returns a Figure with alt text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullFormatter

from mscfm.plots.style import CYCLE, FULL_WIDTH_IN, MARKERS, OKABE_ITO, new_figure, set_alt_text

ROW_IN = 0.27
NO_TRIAL_TEXT = "MSCs in fibromyalgia: no controlled trial found"


def benchmark_plot(panels: Mapping[str, pd.DataFrame], axis_labels: Mapping[str, str],
                   groups: Sequence[str], references: Mapping[str, float],
                   thresholds: Mapping[str, float] | None = None,
                   threshold_label: str = "") -> Figure:
    """One panel per measure (rows: label, estimate, ci_lb, ci_ub, group), stacked, each with
    its own axis. Each group keeps one colour and one marker in every panel; `references` are the
    values of no effect (dashed), `thresholds` a clinically important difference (dotted). The
    first panel ends with a row saying that no MSC trial in fibromyalgia exists."""
    measures = list(panels)
    if not measures:
        raise ValueError("benchmark_plot needs at least one panel")
    heights = [len(panels[m]) + (1 if i == 0 else 0) + 0.8 for i, m in enumerate(measures)]
    fig, axes = new_figure(FULL_WIDTH_IN, sum(heights) * ROW_IN + 1.2, nrows=len(measures),
                           gridspec_kw={"height_ratios": heights})
    axes = np.atleast_1d(axes)
    styles = {g: (CYCLE[i % len(CYCLE)], MARKERS[i % len(MARKERS)]) for i, g in enumerate(groups)}
    for i, (ax, measure) in enumerate(zip(axes, measures, strict=True)):
        rows = panels[measure]
        n = len(rows) + (1 if i == 0 else 0)
        positions = np.arange(n)[::-1]
        for y, (_, row) in zip(positions[: len(rows)], rows.iterrows(), strict=True):
            colour, marker = styles[row["group"]]
            ax.plot([row["ci_lb"], row["ci_ub"]], [y, y], color=colour, linewidth=1.3)
            ax.plot([row["estimate"]], [y], marker=marker, color=colour, markersize=6,
                    linestyle="none")
        labels = [str(v) for v in rows["label"]]
        if i == 0:
            labels.append(NO_TRIAL_TEXT)
        ax.set_yticks(positions, labels)
        ax.set_ylim(-0.7, n - 0.3)
        ax.axvline(references[measure], color=OKABE_ITO["black"], linestyle="--", linewidth=0.8)
        if thresholds and measure in thresholds:
            ax.axvline(thresholds[measure], color=OKABE_ITO["black"], linestyle=":",
                       linewidth=1.0)
        if measure == "RR":
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator([1, 2, 3, 5]))
            ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(axis_labels[measure])
    handles = [Line2D([], [], color=c, marker=m, linestyle="none", label=g)
               for g, (c, m) in styles.items()]
    handles.append(Line2D([], [], color=OKABE_ITO["black"], linestyle="--", label="no effect"))
    if thresholds:
        handles.append(Line2D([], [], color=OKABE_ITO["black"], linestyle=":",
                              label=threshold_label or "clinically important difference"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    n_rows = sum(len(p) for p in panels.values())
    alt = (f"Interval plot in {len(measures)} panels ({', '.join(measures)}) of {n_rows} effects "
           "of established fibromyalgia treatments, one fibromyalgia trial of tai chi and MSCs "
           "in other conditions, each with its 95% confidence interval; the first panel ends "
           "with a row stating that no controlled MSC trial in fibromyalgia was found.")
    return set_alt_text(fig, alt)
