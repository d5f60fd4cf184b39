"""House style for every figure: Okabe-Ito colours, one font size scale, A4-friendly sizes.

Figures must read in print (the PDF, greyscale-safe line styles and markers) and on screen.
"""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.figure import Figure

# Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
CYCLE: list[str] = [OKABE_ITO[k] for k in
                    ("blue", "orange", "bluish_green", "vermillion", "sky_blue",
                     "reddish_purple", "yellow", "black")]

# Second channels that survive greyscale print: the i-th group of a figure gets the i-th colour
# and the i-th marker (points) or hatch (areas), so one group looks the same in all its marks.
MARKERS: list[str] = ["o", "s", "^", "D", "v", "P", "X", "*"]
HATCHES: list[str] = ["", "///", "...", "xxx", "\\\\\\", "+++", "ooo", "---", "|||", "***", "OO",
                      "//..", "\\\\.."]

# Text width of an A4 page with Sphinx's LaTeX margins is about 6.3 in.
FULL_WIDTH_IN = 6.3
DEFAULT_HEIGHT_IN = 3.6

_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "figure.figsize": (FULL_WIDTH_IN, DEFAULT_HEIGHT_IN),
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "figure.constrained_layout.use": True,
    "svg.hashsalt": "mscfm",  # deterministic SVG ids
}


def apply_style() -> None:
    """Set the house rcParams globally (call once at import time of a figure module)."""
    mpl.rcParams.update(_RC)


def new_figure(width: float = FULL_WIDTH_IN, height: float = DEFAULT_HEIGHT_IN,
               nrows: int = 1, ncols: int = 1, **kwargs) -> tuple[Figure, object]:
    """A Figure and its axes in the house style, detached from pyplot's global state.

    Using ``Figure`` directly (not ``plt.subplots``) means notebooks never show a figure twice:
    they display it once, through ``glue``.
    """
    apply_style()
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def set_alt_text(fig: Figure, text: str) -> Figure:
    """Attach alt text to a figure (read by the notebook when it displays the figure)."""
    fig.mscfm_alt_text = text  # type: ignore[attr-defined]
    return fig


def alt_text(fig: Figure) -> str:
    """The alt text attached by :func:`set_alt_text`; an error if a figure has none."""
    text = getattr(fig, "mscfm_alt_text", "")
    if not text:
        raise ValueError("figure has no alt text: call mscfm.plots.style.set_alt_text(fig, ...)")
    return text


apply_style()
