"""Figures of the review chapter: PRISMA 2020 flow diagrams, the risk-of-bias traffic light
(robvis style) and the summary bars.

Each judgment has a colour and a symbol (traffic light) or a hatch (bars), so the figures read
in greyscale print. The functions draw what the tables of `mscfm.appraisal` say and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from mscfm.language import count
from mscfm.plots.style import FULL_WIDTH_IN, OKABE_ITO, new_figure, set_alt_text

# judgment -> (colour, symbol in the traffic light, hatch in the bars)
JUDGMENT_STYLE: dict[str, tuple[str, str, str]] = {
    "low": (OKABE_ITO["bluish_green"], "+", ""),
    "some concerns": (OKABE_ITO["yellow"], "−", "//"),
    "moderate": (OKABE_ITO["yellow"], "−", "//"),
    "unclear": (OKABE_ITO["sky_blue"], "?", ".."),
    "no information": (OKABE_ITO["sky_blue"], "?", ".."),
    "serious": (OKABE_ITO["vermillion"], "×", "xx"),
    "high": (OKABE_ITO["vermillion"], "×", "xx"),
    "critical": (OKABE_ITO["reddish_purple"], "!", "\\\\"),
}


# --------------------------------------------------------------------------- PRISMA flow

def _box(ax, x: float, y: float, w: float, h: float, text: str, fill: str = "white") -> None:
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.004,rounding_size=0.01",
                                facecolor=fill, edgecolor="black", linewidth=0.8))
    ax.text(x + 0.012, y + h / 2, text, ha="left", va="center", fontsize=7, wrap=False)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate("", xy=end, xytext=start,
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.8,
                            "shrinkA": 0, "shrinkB": 0})


def _lines(title: str, items: Mapping[str, int]) -> str:
    return "\n".join([title] + [f"  {name} (n = {n:,})" for name, n in items.items()])


def prisma_flow(boxes: Mapping[str, object], title: str) -> Figure:
    """A PRISMA 2020 flow diagram from counted boxes.

    `boxes`: identified (source -> n), duplicates, screened, not_relevant, assessed, excluded
    (reason -> n), included (kind -> n), and optionally included_note (a line under the
    included counts).
    """
    identified: Mapping[str, int] = boxes["identified"]  # type: ignore[assignment]
    excluded: Mapping[str, int] = boxes["excluded"]  # type: ignore[assignment]
    included: Mapping[str, int] = boxes["included"]  # type: ignore[assignment]
    fig, ax = new_figure(width=FULL_WIDTH_IN, height=5.6)
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    left, lw, right, rw = 0.06, 0.45, 0.545, 0.445
    grey = "#E6E6E6"
    rows = {"Identification": (0.74, 0.22), "Screening": (0.31, 0.39), "Included": (0.02, 0.25)}
    for label, (y, h) in rows.items():
        ax.add_patch(FancyBboxPatch((0.0, y), 0.04, h, boxstyle="round,pad=0.002",
                                    facecolor=grey, edgecolor="black", linewidth=0.6))
        ax.text(0.02, y + h / 2, label, rotation=90, ha="center", va="center", fontsize=8,
                fontweight="bold")
    ident = _lines("Records identified from:", {_wrap(k, 36): n for k, n in identified.items()})
    _box(ax, left, 0.76, lw, 0.18, ident)
    _box(ax, right, 0.80, rw, 0.10,
         f"Records removed before screening:\n  duplicate records (n = {boxes['duplicates']:,})")
    _box(ax, left, 0.60, lw, 0.08, f"Records screened\n(n = {boxes['screened']:,})")
    _box(ax, right, 0.60, rw, 0.08,
         f"Records excluded on their own fields,\nnot relevant (n = {boxes['not_relevant']:,})")
    _box(ax, left, 0.33, lw, 0.10, f"Reports assessed for eligibility\n(n = {boxes['assessed']:,})")
    wrapped = {_wrap(reason, 40): n for reason, n in excluded.items()}
    _box(ax, right, 0.30, rw, 0.22, _lines("Reports excluded:", wrapped))
    note = str(boxes.get("included_note", ""))
    text = _lines("Included:", dict(included)) + (f"\n{_wrap(note, 60)}" if note else "")
    _box(ax, left, 0.04, 0.88, 0.19, text)
    _arrow(ax, (left + lw / 2, 0.76), (left + lw / 2, 0.68))
    _arrow(ax, (left + lw, 0.85), (right, 0.85))
    _arrow(ax, (left + lw / 2, 0.60), (left + lw / 2, 0.43))
    _arrow(ax, (left + lw, 0.64), (right, 0.64))
    _arrow(ax, (left + lw, 0.38), (right, 0.38))
    _arrow(ax, (left + lw / 2, 0.33), (left + lw / 2, 0.23))
    ax.set_title(title, loc="left")
    sources = ", ".join(f"{name} {n:,}" for name, n in identified.items())
    reasons = "; ".join(f"{reason} {n:,}" for reason, n in excluded.items()) or "none"
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in included.items()) or "none"
    set_alt_text(fig, f"PRISMA 2020 flow diagram, {title}. Records identified: {sources}. "
                      f"Duplicates removed {boxes['duplicates']:,}; screened "
                      f"{boxes['screened']:,}; not relevant {boxes['not_relevant']:,}; reports "
                      f"assessed {boxes['assessed']:,}; excluded: {reasons}. Included: {kinds}.")
    return fig


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n    ".join(lines)


# --------------------------------------------------------------------------- risk of bias

def traffic_light(matrix: pd.DataFrame, tool: str,
                  domain_names: Mapping[str, str] | None = None) -> Figure:
    """One row per study, one column per domain (and overall): a coloured disc with a symbol
    per judgment, as robvis draws it. `matrix` as `mscfm.appraisal.risk_of_bias.matrix`
    returns it, index already in display names."""
    if matrix.empty:
        raise ValueError("traffic_light: no studies to plot")
    n_rows, n_cols = matrix.shape
    fig, ax = new_figure(height=1.4 + 0.27 * n_rows)
    for i, (_study, values) in enumerate(matrix.iterrows()):
        for j, judgment in enumerate(values):
            colour, symbol, _ = JUDGMENT_STYLE[judgment]
            ax.scatter(j, i, s=170, color=colour, edgecolor="black", linewidth=0.5, zorder=2)
            ax.text(j, i, symbol, ha="center", va="center", fontsize=9, fontweight="bold",
                    zorder=3)
    ax.set_xticks(range(n_cols), [str(c) if c != "overall" else "Overall"
                                  for c in matrix.columns], fontsize=7)
    ax.set_yticks(range(n_rows), list(matrix.index))
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    present = {j for column in matrix.columns for j in matrix[column]}
    seen = [j for j in JUDGMENT_STYLE if j in present]
    handles = [ax.scatter([], [], s=80, color=JUDGMENT_STYLE[j][0], edgecolor="black",
                          linewidth=0.5, marker="o", label=f"{JUDGMENT_STYLE[j][1]}  {j}")
               for j in seen]
    legend_names = "; ".join(f"{code}: {name}" for code, name in (domain_names or {}).items())
    ax.legend(handles=handles, title="Judgment", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    if legend_names:
        ax.set_xlabel(_wrap(legend_names, 110).replace("\n    ", "\n"), fontsize=7)
    counts = {j: int((matrix == j).to_numpy().sum()) for j in seen}
    set_alt_text(fig, f"Traffic-light chart of {tool} judgments for {count(n_rows, 'study')} "
                      f"(rows) across {count(n_cols, 'column')} of domains"
                      + (" and overall" if "overall" in matrix.columns else "")
                      + ": " + ", ".join(f"{j} {n}" for j, n in counts.items()) + ".")
    return fig


def summary_bars(shares: Mapping[str, pd.DataFrame]) -> Figure:
    """One panel per tool: per domain, a horizontal bar split into the share of studies at
    each judgment (`mscfm.appraisal.risk_of_bias.summary`)."""
    if not shares:
        raise ValueError("summary_bars: no tools to plot")
    heights = [len(frame.index) for frame in shares.values()]
    fig, axes = new_figure(height=0.8 + 0.22 * sum(heights) + 0.5 * len(shares),
                           nrows=len(shares), gridspec_kw={"height_ratios": heights},
                           squeeze=False)
    parts = []
    for ax, (tool, frame) in zip(axes[:, 0], shares.items(), strict=True):
        positions = np.arange(len(frame.index))
        left = np.zeros(len(frame.index))
        for judgment in frame.columns:
            colour, _, hatch = JUDGMENT_STYLE[judgment]
            values = frame[judgment].to_numpy(dtype=float) * 100
            ax.barh(positions, values, left=left, color=colour, hatch=hatch,
                    edgecolor="black", linewidth=0.4, label=judgment)
            left += values
        ax.set_yticks(positions, [str(d) if d != "overall" else "Overall" for d in frame.index])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_title(tool, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        parts.append(f"{tool}: {len(frame.index)} rows")
    axes[-1, 0].set_xlabel("Share of studies (%)")
    set_alt_text(fig, "Stacked horizontal bars of the share of studies at each risk-of-bias "
                      "judgment per domain, one panel per tool (" + "; ".join(parts) + ").")
    return fig
