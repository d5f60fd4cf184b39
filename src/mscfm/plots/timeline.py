"""Approved MSC products over time, and price and cost ranges on a log scale (chapter 09).

Every function returns a Figure with alt text; none saves or shows it. Dates known only to the
month or the year (``date_precision``) are drawn at the middle of that month or year, and a
year-only date also gets a faint bar across its year, so a reader sees how exact each date is.
"""

from __future__ import annotations

import textwrap
from datetime import date

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mscfm.plots.style import FULL_WIDTH_IN, OKABE_ITO, new_figure, set_alt_text

# event -> (marker, filled, colour, legend label)
EVENT_STYLE: dict[str, tuple[str, bool, str, str]] = {
    "approval": ("o", True, OKABE_ITO["blue"], "approval"),
    "conditional_approval": ("o", False, OKABE_ITO["blue"], "conditional or limited approval"),
    "limited_approval": ("o", False, OKABE_ITO["blue"], "conditional or limited approval"),
    "withdrawal": ("X", True, OKABE_ITO["vermillion"], "withdrawal"),
}
OTHER_EVENT = ("D", False, OKABE_ITO["black"], "other event")
KIND_COLOURS = {"manufacturing_cost": OKABE_ITO["bluish_green"],
                "list_price": OKABE_ITO["blue"], "clinic_price": OKABE_ITO["vermillion"]}
KIND_NAMES = {"manufacturing_cost": "manufacturing cost (modelled)",
              "list_price": "list price of an approved product",
              "clinic_price": "price at unapproved clinics"}
LABEL_WIDTH = 38  # characters per line of a wrapped row label
ROW_HEIGHT_IN = 0.3


def decimal_year(day: date | pd.Timestamp, precision: str = "day") -> float:
    """A date as a fractional year, at the middle of its month or year when only those are
    known (precision "month" or "year")."""
    ts = pd.Timestamp(day)
    if precision == "year":
        return ts.year + 0.5
    if precision == "month":
        return ts.year + (ts.month - 0.5) / 12
    return ts.year + (ts.day_of_year - 0.5) / (366 if ts.is_leap_year else 365)


def _row_label(product: str, regulator: str, country: str) -> str:
    return f"{product} ({regulator}, {country})"


def product_timeline(products: pd.DataFrame) -> Figure:
    """One row per product and regulator, events as markers on a time axis; an approval
    followed by a withdrawal is joined by a line."""
    if products.empty:
        raise ValueError("product_timeline needs at least one product event")
    frame = products.assign(
        x=[decimal_year(d, p) for d, p in zip(products["date"], products["date_precision"],
                                              strict=True)],
        row=[_row_label(a, b, c) for a, b, c in zip(products["product"], products["regulator"],
                                                     products["country"], strict=True)])
    first = frame.groupby("row")["x"].min().sort_values(kind="stable")
    rows = list(first.index)  # earliest first, drawn at the top
    y_of = {row: len(rows) - i for i, row in enumerate(rows)}
    fig, ax = new_figure(FULL_WIDTH_IN, max(2.4, ROW_HEIGHT_IN * len(rows) + 1.2))
    for row, group in frame.groupby("row", sort=False):
        y = y_of[row]
        if len(group) > 1:
            ax.plot([group["x"].min(), group["x"].max()], [y, y], color="0.6", lw=1, zorder=1)
        for _, event in group.iterrows():
            _draw_event(ax, event, y)
    ax.set_yticks([y_of[r] for r in rows], rows)
    ax.set_ylim(0.4, len(rows) + 0.6)
    ax.set_xlabel("Year")
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0f}")
    ax.grid(axis="x", color="0.9", lw=0.6)
    handles = {}
    for line in ax.get_lines():
        label = line.get_label()
        if not label.startswith("_"):
            handles.setdefault(label, line)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=len(handles), frameon=False)
    return set_alt_text(fig, _timeline_alt(frame))


def _draw_event(ax, event: pd.Series, y: float) -> None:
    marker, filled, colour, label = EVENT_STYLE.get(str(event["event"]), OTHER_EVENT)
    if event["date_precision"] == "year":
        start = pd.Timestamp(event["date"]).year
        ax.plot([start, start + 1], [y, y], color=colour, alpha=0.25, lw=5,
                solid_capstyle="butt", zorder=1)
    ax.plot([event["x"]], [y], marker=marker, ms=7, ls="none", color=colour,
            markerfacecolor=colour if filled else "white", label=f"_{label}", zorder=3,
            gid=f"event-{event['event']}")
    ax.plot([], [], marker=marker, ms=7, ls="none", color=colour,
            markerfacecolor=colour if filled else "white", label=label)


def _timeline_alt(frame: pd.DataFrame) -> str:
    years = frame["x"]
    withdrawn = sorted(set(frame.loc[frame["event"] == "withdrawal", "row"]))
    text = (f"Timeline of {len(frame)} regulatory events for {frame['product'].nunique()} MSC "
            f"products from {int(years.min())} to {int(years.max())}, one row per product and "
            f"regulator.")
    if withdrawn:
        text += f" Withdrawn: {'; '.join(withdrawn)}."
    return text


def cost_ranges(costs: pd.DataFrame) -> Figure:
    """Each cost or price as a bar from low to high (a point when they are equal, a hollow
    point when only the high end is given), on a log axis; row labels carry
    the unit (per dose, per treatment, ...), the currency and the year."""
    if costs.empty:
        raise ValueError("cost_ranges needs at least one row with a currency")
    frame = costs.sort_values(["kind", "high", "id"], kind="stable", ignore_index=True)
    fig, ax = new_figure(FULL_WIDTH_IN, max(2.4, 0.55 * len(frame) + 1.2))
    ys = np.arange(len(frame))[::-1]
    for y, (_, row) in zip(ys, frame.iterrows(), strict=True):
        colour = KIND_COLOURS.get(str(row["kind"]), OKABE_ITO["black"])
        low, high = row["low"], row["high"]
        if pd.isna(low):
            ax.plot([high], [y], marker="D", ms=6, ls="none", color=colour,
                    markerfacecolor="white", gid="cost-upper-only")
        elif low == high:
            ax.plot([high], [y], marker="o", ms=6, ls="none", color=colour, gid="cost-point")
        else:
            ax.plot([low, high], [y, y], color=colour, lw=5, solid_capstyle="butt",
                    gid="cost-range")
    ax.set_xscale("log")
    ax.margins(x=0.08)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.set_yticks(ys, [_cost_label(row) for _, row in frame.iterrows()])
    ax.set_ylim(-0.7, len(frame) - 0.3)
    currencies = sorted(set(frame["currency"]))
    ax.set_xlabel(f"Amount ({', '.join(currencies)}; log scale)")
    ax.grid(axis="x", color="0.9", lw=0.6)
    for kind in dict.fromkeys(frame["kind"]):
        ax.plot([], [], lw=5, color=KIND_COLOURS.get(str(kind), OKABE_ITO["black"]),
                label=KIND_NAMES.get(str(kind), str(kind)))
    fig.legend(loc="outside lower center", ncol=2, frameon=False)
    return set_alt_text(fig, _cost_alt(frame, currencies))


def _cost_label(row: pd.Series) -> str:
    """Row id and item (wrapped, at most two lines), then currency, unit and year."""
    item = textwrap.shorten(f"{row['id']} {row['item']}", 2 * LABEL_WIDTH, placeholder="...")
    upper_only = " (high end only)" if pd.isna(row["low"]) else ""
    return (f"{textwrap.fill(item, LABEL_WIDTH)}\n"
            f"{row['currency']} {row['unit']}{upper_only}, {row['year']}")


def _cost_alt(frame: pd.DataFrame, currencies: list[str]) -> str:
    lows = frame["low"].fillna(frame["high"])
    return (f"Log-scale chart of {len(frame)} costs and prices of MSC treatments in "
            f"{', '.join(currencies)}, from {lows.min():,.0f} to {frame['high'].max():,.0f}; "
            f"each row states its unit (per dose, per treatment, per infusion or per year), "
            f"currency and year.")
