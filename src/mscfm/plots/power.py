"""Sample size against the difference to detect (chapter 10). Returns a Figure with alt text."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from mscfm.plots.style import FULL_WIDTH_IN, OKABE_ITO, new_figure, set_alt_text


def _minor_label(value: float, _pos: int) -> str:
    """Label the 2s and 5s between decades (20, 50, 200, ...) and leave the other minors bare."""
    mantissa = value / 10 ** math.floor(math.log10(value))
    return f"{value:g}" if round(mantissa) in (2, 5) else ""


def sample_size_plot(curve: pd.DataFrame, difference: float, n_analysed: int, n_enrolled: int,
                     *, reference_label: str = "difference to detect",
                     instrument: str = "FIQR") -> Figure:
    """n per arm (analysed and enrolled after dropout) against the difference in points, on a
    log y axis, with the chosen difference marked. ``curve`` comes from ``power.curve``."""
    fig, ax = new_figure(FULL_WIDTH_IN * 0.8, 3.4)
    ax.plot(curve["difference"], curve["n_enrolled"], color=OKABE_ITO["vermillion"], lw=1.6,
            label="enrolled per arm (after dropout)", gid="curve-enrolled")
    ax.plot(curve["difference"], curve["n_analysed"], color=OKABE_ITO["blue"], lw=1.6, ls="--",
            label="analysed per arm", gid="curve-analysed")
    ax.axvline(difference, color="0.4", lw=0.8, ls=":")
    ax.plot([difference], [n_enrolled], marker="o", ms=6, color=OKABE_ITO["vermillion"],
            ls="none", gid="chosen-point")
    ax.annotate(f"{reference_label}: {difference:g} points\n{n_enrolled} enrolled per arm",
                (difference, n_enrolled), xytext=(8, 10), textcoords="offset points",
                fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.yaxis.set_minor_formatter(_minor_label)
    ax.set_xlabel(f"Difference to detect ({instrument} points, MSC vs placebo)")
    ax.set_ylabel("Participants per arm (log scale)")
    ax.legend(loc="upper right", frameon=False)
    lo, hi = float(curve["difference"].min()), float(curve["difference"].max())
    alt = (f"Line chart of the number of participants per arm needed against the difference "
           f"to detect on the {instrument}, from {lo:.1f} to {hi:.1f} points. The number falls "
           f"steeply as the difference grows; at {difference:g} points {n_analysed} analysed "
           f"and {n_enrolled} enrolled participants per arm are needed.")
    return set_alt_text(fig, alt)
