"""Forest plot (study rows, weights, pooled diamond, prediction interval, subgroups) and a
leave-one-out plot. Every function returns a Figure with alt text; none saves or shows it.

Artists carry ``gid`` values so tests and readers can find them: ``study-marker``,
``study-ci``, ``pooled-diamond``, ``prediction-interval``, ``loo-marker``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from scipy import stats

from mscfm.meta import MetaResult, StudyFit, SubgroupResult
from mscfm.plots.style import FULL_WIDTH_IN, OKABE_ITO, new_figure, set_alt_text

MEASURE_NAMES = {"RR": "Risk ratio", "OR": "Odds ratio", "RD": "Risk difference",
                 "SMD": "Standardised mean difference (Hedges' g)", "MD": "Mean difference",
                 "GEN": "Effect size"}
ROW_HEIGHT_IN = 0.22
MAX_LABEL = 28  # characters of a study label before it is cut with an ellipsis


@dataclass(frozen=True)
class _Row:
    kind: str  # "study", "pooled", "header"
    label: str
    estimate: float = np.nan
    lb: float = np.nan
    ub: float = np.nan
    weight: float = np.nan
    pi: tuple[float, float] | None = None
    model: MetaResult | None = None


def _study_rows(r: MetaResult) -> list[_Row]:
    crit = stats.norm.ppf(1 - (1 - r.level) / 2)
    se = np.sqrt(r.vi)
    return [_Row("study", r.labels[i], r.yi[i], r.yi[i] - crit * se[i], r.yi[i] + crit * se[i],
                 r.weights[i]) for i in range(r.k)]


def _pooled_row(r: MetaResult, label: str, show_pi: bool) -> _Row:
    pi = (r.pi_lb, r.pi_ub) if show_pi and r.method != "EE" and r.k > 1 else None
    return _Row("pooled", label, r.estimate, r.ci_lb, r.ci_ub, 100.0, pi, r)


def _model_label(r: MetaResult) -> str:
    model = "EE" if r.method == "EE" else f"RE {r.method}"
    het = "" if r.k < 2 else f", I\u00b2 {r.I2:.0f}%"
    return f"{model}{het}"


def _rows(result: MetaResult, subgroups: SubgroupResult | None, show_pi: bool) -> list[_Row]:
    if subgroups is None:
        return _study_rows(result) + [_pooled_row(result, _model_label(result), show_pi)]
    rows: list[_Row] = []
    for name, group in subgroups.groups.items():
        rows.append(_Row("header", name))
        rows += _study_rows(group)
        rows.append(_pooled_row(group, f"Subtotal ({_model_label(group)})", show_pi))
    rows.append(_pooled_row(result, f"Overall ({_model_label(result)})", show_pi))
    return rows


def _fmt(value: float, ratio: bool, digits: int) -> str:
    return f"{np.exp(value) if ratio else value:.{digits}f}"


def _axis_label(measure: str, favours: tuple[str, str] | None, xlabel: str | None,
                ratio: bool) -> str:
    label = xlabel or MEASURE_NAMES.get(measure, measure) + (" (log scale)" if ratio else "")
    if favours:
        label += f"\n\u2190 favours {favours[0]}        favours {favours[1]} \u2192"
    return label


def _diamond(ax: Axes, x: tuple[float, float, float], y: float, colour: str) -> None:
    est, lb, ub = x
    ax.add_patch(Polygon([(lb, y), (est, y + 0.3), (ub, y), (est, y - 0.3)], closed=True,
                         facecolor=colour, edgecolor=colour, gid="pooled-diamond"))


def forest_plot(result: MetaResult, *, subgroups: SubgroupResult | None = None,
                favours: tuple[str, str] | None = ("treatment", "control"),
                xlabel: str | None = None, title: str | None = None, show_pi: bool = True,
                digits: int = 2) -> Figure:
    """Forest plot of ``result`` (and of each subgroup, if given). For RR and OR the axis is
    logarithmic and labelled in ratios. ``favours`` = (left, right) labels the axis sides."""
    ratio = result.is_ratio
    rows = _rows(result, subgroups, show_pi)
    height = max(2.0, ROW_HEIGHT_IN * (len(rows) + 3))
    fig, axes = new_figure(FULL_WIDTH_IN, height, ncols=4, sharey=True,
                           gridspec_kw={"width_ratios": [1.9, 2.7, 1.15, 0.45]})
    left, ax, right, wcol = axes
    ys = np.arange(len(rows), 0, -1, dtype=float)
    f = np.exp if ratio else (lambda v: v)
    max_w = max((r.weight for r in rows if r.kind == "study"), default=1.0)
    for y, row in zip(ys, rows, strict=True):
        bold = "bold" if row.kind != "study" else "normal"
        label = row.label if len(row.label) <= MAX_LABEL else row.label[:MAX_LABEL - 1] + "\u2026"
        left.text(0, y, label, ha="left", va="center", fontweight=bold)
        if row.kind == "header":
            continue
        ci = f"{_fmt(row.estimate, ratio, digits)} [{_fmt(row.lb, ratio, digits)}, " \
             f"{_fmt(row.ub, ratio, digits)}]"
        weight = f"{row.weight:.1f}%" if row.kind == "study" else ""
        right.text(0.0, y, ci, ha="left", va="center", fontweight=bold)
        wcol.text(1.0, y, weight, ha="right", va="center")
        if row.kind == "study":
            ax.plot([f(row.lb), f(row.ub)], [y, y], color=OKABE_ITO["black"], lw=0.8,
                    gid="study-ci")
            size = 3 + 7 * np.sqrt(row.weight / max_w)
            ax.plot([f(row.estimate)], [y], marker="s", ms=size, color=OKABE_ITO["blue"],
                    linestyle="none", gid="study-marker")
        else:
            if row.pi is not None:
                ax.plot([f(row.pi[0]), f(row.pi[1])], [y, y], color=OKABE_ITO["vermillion"],
                        lw=2.2, solid_capstyle="butt", gid="prediction-interval", zorder=1)
            _diamond(ax, (f(row.estimate), f(row.lb), f(row.ub)), y, OKABE_ITO["black"])
    ax.axvline(f(0.0), color="0.4", lw=0.8, ls="--")
    if ratio:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.set_xlabel(_axis_label(result.measure, favours, xlabel, ratio))
    top = len(rows) + 1.2
    for a in (left, right, wcol):
        a.set_axis_off()
        a.set_xlim(0, 1)
    left.text(0, top - 0.2, "Study", fontweight="bold", va="center")
    measure_short = result.measure if result.measure != "GEN" else "Estimate"
    right.text(0, top - 0.2, f"{measure_short} [{result.level:.0%} CI]", fontweight="bold",
               va="center")
    wcol.text(1.0, top - 0.2, "Weight", fontweight="bold", ha="right", va="center")
    ax.set_ylim(0.3, top)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    if title:
        fig.suptitle(title)
    return set_alt_text(fig, _forest_alt(result, subgroups))


def _forest_alt(r: MetaResult, subgroups: SubgroupResult | None) -> str:
    bt = r.back_transformed() if r.is_ratio else {
        key: getattr(r, key) for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}
    name = MEASURE_NAMES.get(r.measure, r.measure).lower()
    text = (f"Forest plot of {r.k} studies ({name}). Pooled estimate {bt['estimate']:.2f} "
            f"({r.level:.0%} CI {bt['ci_lb']:.2f} to {bt['ci_ub']:.2f}), {_model_label(r)}.")
    if r.method != "EE":
        text += f" Prediction interval {bt['pi_lb']:.2f} to {bt['pi_ub']:.2f}."
    if subgroups is not None:
        text += (f" Subgroups: {', '.join(subgroups.groups)}; test for subgroup differences "
                 f"Q = {subgroups.Q_between:.2f}, df = {subgroups.df}, p = {subgroups.p:.3f}.")
    return text


def leave1out_plot(result: MetaResult, rows: Sequence[StudyFit], *,
                   xlabel: str | None = None) -> Figure:
    """Pooled estimate and CI with each study omitted in turn (rows from meta.leave1out),
    against the full-data estimate (line) and its CI (band)."""
    ratio = result.is_ratio
    f = np.exp if ratio else (lambda v: v)
    height = max(2.0, ROW_HEIGHT_IN * (len(rows) + 3))
    fig, ax = new_figure(FULL_WIDTH_IN, height)
    ys = np.arange(len(rows), 0, -1, dtype=float)
    ax.axvspan(f(result.ci_lb), f(result.ci_ub), color=OKABE_ITO["sky_blue"], alpha=0.25,
               lw=0)
    ax.axvline(f(result.estimate), color=OKABE_ITO["blue"], lw=1)
    for y, row in zip(ys, rows, strict=True):
        ax.plot([f(row.ci_lb), f(row.ci_ub)], [y, y], color=OKABE_ITO["black"], lw=0.8)
        ax.plot([f(row.estimate)], [y], marker="o", ms=4, color=OKABE_ITO["black"],
                linestyle="none", gid="loo-marker")
    ax.set_yticks(ys, [f"Omitting {row.label}" for row in rows])
    if ratio:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.set_xlabel(_axis_label(result.measure, None, xlabel, ratio))
    ax.set_ylim(0.3, len(rows) + 0.7)
    est = [f(row.estimate) for row in rows]
    set_alt_text(fig, f"Leave-one-out plot: omitting one study at a time moves the pooled "
                      f"estimate between {min(est):.2f} and {max(est):.2f} (all studies: "
                      f"{f(result.estimate):.2f}).")
    return fig


__all__ = ["forest_plot", "leave1out_plot"]
