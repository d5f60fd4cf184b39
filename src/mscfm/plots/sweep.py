"""The figure of a parameter sweep (`mscfm sweep`): one panel per key result."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from mscfm.plots.style import FULL_WIDTH_IN, new_figure, set_alt_text

MAX_PANELS = 12  # one panel per key result; beyond this the figure stops being readable


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def sweep_figure(
    chapter: str,
    parameters: Sequence[str],
    keys: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
) -> Figure:
    """One panel per key result; x = the first swept parameter, one line per combination of the
    others (e.g. pooled effect by timepoint, one line per estimator). ``rows`` hold one grid
    point each: the parameter values and the key results (None when a point failed)."""
    shown = (list(keys) or ["(no glued numbers)"])[:MAX_PANELS]
    x_name, *series_names = parameters
    fig, axes = new_figure(
        height=max(2.4, 2.0 * len(shown)),
        nrows=len(shown),
        sharex=True,
        width=FULL_WIDTH_IN,
        squeeze=False,
    )
    x_values = _unique([row[x_name] for row in rows])
    numeric_x = all(_is_number(v) for v in x_values)
    position = {_text(v): (v if numeric_x else i) for i, v in enumerate(x_values)}
    markers = "osD^vP*X"
    for ax, key in zip(axes[:, 0], shown, strict=True):
        groups = _unique([tuple(_text(row[n]) for n in series_names) for row in rows])
        for index, group in enumerate(groups):
            members = [r for r in rows if tuple(_text(r[n]) for n in series_names) == group]
            xs = [position[_text(r[x_name])] for r in members]
            ys = [r.get(key) if r.get(key) is not None else math.nan for r in members]
            label = ", ".join(f"{n}={v}" for n, v in zip(series_names, group, strict=True))
            ax.plot(xs, ys, marker=markers[index % len(markers)], label=label or None)
        ax.set_ylabel(key)
        if len(groups) > 1:
            ax.legend(loc="best", frameon=False)
    bottom = axes[-1, 0]
    bottom.set_xlabel(x_name)
    if not numeric_x:
        bottom.set_xticks(range(len(x_values)), [_text(v) for v in x_values])
    more = len(keys) - len(shown)
    fig.suptitle(
        f"Sweep of {chapter}"
        + (f" (first {len(shown)} of {len(keys)} results; choose with --keys)" if more > 0 else "")
    )
    set_alt_text(
        fig,
        f"Key results of chapter {chapter} ({', '.join(shown)}) against "
        f"{x_name}" + (f", one line per {', '.join(series_names)}" if series_names else ""),
    )
    return fig
