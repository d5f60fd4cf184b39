"""Funnel plot, optionally contour-enhanced and with trim-and-fill studies. Returns a Figure
with alt text; artists carry gids ``study-marker`` and ``filled-marker``."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from mscfm.meta import MetaResult, TrimFillResult
from mscfm.plots.forest import MEASURE_NAMES
from mscfm.plots.style import FULL_WIDTH_IN, OKABE_ITO, new_figure, set_alt_text

# Significance contours (two-sided p) and their grey shades, lightest first.
CONTOURS = ((0.10, "0.88"), (0.05, "0.75"), (0.01, "0.6"))


def funnel_plot(result: MetaResult, *, contours: bool = False,
                trimfill: TrimFillResult | None = None, xlabel: str | None = None) -> Figure:
    """Effect sizes (analysis scale, e.g. log RR) against their standard errors, largest
    studies at the top. The funnel is the pseudo CI around the pooled estimate; with
    ``contours`` the regions where a study alone would reach p < .10, .05 and .01 (around 0)
    are shaded."""
    se = np.sqrt(result.vi)
    se_all = se if trimfill is None else np.concatenate([se, np.sqrt(trimfill.filled_vi)])
    se_max = float(se_all.max()) * 1.05
    grid = np.linspace(0, se_max, 100)
    fig, ax = new_figure(FULL_WIDTH_IN, 3.4)
    if contours:
        for p, grey in CONTOURS:
            z = stats.norm.isf(p / 2)
            ax.fill_betweenx(grid, -z * grid, -1e3, color=grey, lw=0, label=f"p < {p:g}")
            ax.fill_betweenx(grid, z * grid, 1e3, color=grey, lw=0)
    crit = stats.norm.isf((1 - result.level) / 2)
    ax.plot(result.estimate - crit * grid, grid, color="0.3", lw=0.8, ls="--")
    ax.plot(result.estimate + crit * grid, grid, color="0.3", lw=0.8, ls="--")
    ax.axvline(result.estimate, color="0.3", lw=0.8)
    ax.plot(result.yi, se, marker="o", ms=5, ls="none", color=OKABE_ITO["blue"],
            gid="study-marker", label="studies")
    if trimfill is not None and trimfill.k0 > 0:
        ax.plot(trimfill.filled_yi, np.sqrt(trimfill.filled_vi), marker="o", ms=5, ls="none",
                mfc="white", color=OKABE_ITO["vermillion"], gid="filled-marker",
                label="imputed (trim-and-fill)")
    values = np.concatenate([result.yi, [] if trimfill is None else trimfill.filled_yi])
    span = max(float(np.max(np.abs(values - result.estimate))), crit * se_max) * 1.1
    ax.set_xlim(result.estimate - span, result.estimate + span)
    ax.set_ylim(se_max, 0)
    ax.set_ylabel("Standard error")
    name = MEASURE_NAMES.get(result.measure, result.measure)
    ax.set_xlabel(xlabel or (f"log {name.lower()}" if result.is_ratio else name))
    if contours or trimfill is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return set_alt_text(fig, _alt(result, contours, trimfill))


def _alt(r: MetaResult, contours: bool, trimfill: TrimFillResult | None) -> str:
    text = (f"Funnel plot of {r.k} studies: effect size against standard error, with the "
            f"pooled estimate {r.estimate:.2f} and its pseudo {r.level:.0%} confidence limits.")
    if contours:
        text += " Shaded regions mark where a single study would be significant at p < .10, "\
                ".05 and .01."
    if trimfill is not None:
        text += f" Trim-and-fill imputes {trimfill.k0} studies on the {trimfill.side}."
    return text
