"""Figures in one house style. Every function returns a Figure; none saves or shows it."""

from mscfm.plots.style import OKABE_ITO, apply_style, new_figure

__all__ = ["OKABE_ITO", "apply_style", "new_figure"]
