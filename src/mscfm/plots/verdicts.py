"""Figures of the claims ledger: verdicts by claim type or role, certainty by verdict.

Both take count tables (rows x columns of claim counts, e.g. from `mscfm.claims.crosstab`), so
the figures draw what the tables say and nothing else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mscfm.plots.style import OKABE_ITO, new_figure, set_alt_text

# One colour and one hatch per verdict: distinguishable in colour and in greyscale print.
VERDICT_STYLE: dict[str, tuple[str, str]] = {
    "supported": (OKABE_ITO["bluish_green"], ""),
    "mixed": (OKABE_ITO["sky_blue"], "//"),
    "insufficient": (OKABE_ITO["blue"], ".."),
    "unsupported": (OKABE_ITO["orange"], "\\\\"),
    "contradicted": (OKABE_ITO["vermillion"], "xx"),
}
FALLBACK_STYLE = (OKABE_ITO["black"], "")


LABELS: dict[str, str] = {"feasibility_regulatory": "feasibility, regulation",
                          "clinical_efficacy": "clinical efficacy"}


def _label(text: str) -> str:
    return LABELS.get(text, text.replace("_", " "))


def verdicts_by_type(counts: pd.DataFrame) -> Figure:
    """Stacked horizontal bars: one bar per claim type or role (index), segments by verdict
    (columns)."""
    if counts.empty:
        raise ValueError("verdicts_by_type: no claims to plot")
    height = 1.0 + 0.45 * len(counts.index)
    fig, ax = new_figure(height=height)
    positions = np.arange(len(counts.index))
    left = np.zeros(len(counts.index))
    for verdict in counts.columns:
        values = counts[verdict].to_numpy(dtype=float)
        colour, hatch = VERDICT_STYLE.get(verdict, FALLBACK_STYLE)
        ax.barh(positions, values, left=left, color=colour, hatch=hatch, edgecolor="white",
                linewidth=0.6, label=verdict)
        left += values
    ax.set_yticks(positions, [_label(t) for t in counts.index])
    ax.invert_yaxis()  # first type on top, as in the table
    ax.set_xlabel("Number of claims")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(title="Verdict", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    totals = ", ".join(f"{_label(t)} {int(n)}" for t, n in counts.sum(axis=1).items())
    grouping = str(counts.index.name or "claim type").replace("_", " ")
    set_alt_text(fig, f"Stacked horizontal bar chart of the article's claims by {grouping} "
                      f"({totals}), each bar split by verdict.")
    return fig


def certainty_by_verdict(counts: pd.DataFrame) -> Figure:
    """A grid of claim counts: verdicts (rows) by certainty level (columns), shaded by count."""
    if counts.empty:
        raise ValueError("certainty_by_verdict: no claims to plot")
    values = counts.to_numpy(dtype=float)
    fig, ax = new_figure(height=1.0 + 0.45 * len(counts.index))
    shade = values / values.max() if values.max() > 0 else values
    rgba = np.zeros((*values.shape, 4))
    rgba[..., :3] = tuple(int(OKABE_ITO["blue"][i:i + 2], 16) / 255 for i in (1, 3, 5))
    rgba[..., 3] = 0.12 + 0.75 * shade
    ax.imshow(rgba, aspect="auto")
    for (row, col), value in np.ndenumerate(values):
        colour = "white" if shade[row, col] > 0.6 else "black"
        ax.text(col, row, f"{int(value)}" if value else "", ha="center", va="center",
                color=colour, fontsize=9)
    ax.set_xticks(range(len(counts.columns)), [_label(c) for c in counts.columns])
    ax.set_yticks(range(len(counts.index)), [_label(v) for v in counts.index])
    ax.set_xlabel("Certainty of the evidence")
    ax.set_ylabel("Verdict")
    ax.tick_params(which="both", length=0)
    # White lines between cells, so empty cells still read as a grid.
    ax.set_xticks(np.arange(-0.5, len(counts.columns)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(counts.index)), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    set_alt_text(fig, "Grid of claim counts with verdicts in rows and certainty of the evidence "
                      f"in columns; {int(values.sum())} claims in all, darker cells hold more.")
    return fig
