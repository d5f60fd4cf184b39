"""Facts for the page for people considering MSC treatment for fibromyalgia.

Plain selections from the curated tables, by place and by kind of harm or cost, so that the page
can glue every number it shows. Nothing here is computed beyond counting and selecting.
"""

from __future__ import annotations

import pandas as pd

from mscfm.labels import source_label

# Places named on the page: the country codes of the regulatory table that speak for them, and
# the kinds of row shown (for the USA only the consumer statements; the page counts the letters).
PLACES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "United States": (("USA",), ("consumer statement",)),
    "European Union (including Spain and France)": (("EU",), ("warning", "rule")),
    "United Kingdom": (("UK",), ("warning", "rule")),
    "China": (("China",), ("warning", "rule")),
}
# The registry's country names, as a reader would say them.
COUNTRY_NAMES = {"Korea, Republic of": "South Korea", "Iran, Islamic Republic of": "Iran"}
APPROVAL_EVENTS = ("approval", "conditional_approval", "limited_approval")


def rules_by_place(regulatory: pd.DataFrame) -> pd.DataFrame:
    """One row per regulator statement for each place on the page, newest first within a place."""
    frames = []
    for place, (countries, kinds) in PLACES.items():
        rows = regulatory[regulatory["country"].isin(countries) & regulatory["kind"].isin(kinds)]
        frames.append(rows.sort_values("date", ascending=False).assign(place=place))
    rules = pd.concat(frames, ignore_index=True)
    return rules.assign(study=rules["source"].map(source_label))


def approvals(products: pd.DataFrame, country: str | None = None) -> pd.DataFrame:
    """Approval events (of any kind) of MSC products, optionally in one country."""
    rows = products[products["event"].isin(APPROVAL_EVENTS)]
    if country is not None:
        rows = rows[rows["country"] == country]
    return rows.assign(study=rows["source"].map(source_label)).reset_index(drop=True)


def top_registry_countries(country_counts: pd.DataFrame, n: int = 6,
                           no_site: str = "no site country") -> list[str]:
    """The countries with the most registered MSC trials (a count table, largest first)."""
    named = country_counts[country_counts["countries"] != no_site]
    return [COUNTRY_NAMES.get(str(c), str(c)) for c in named["countries"].head(n)]


def price_rows(costs: pd.DataFrame) -> pd.DataFrame:
    """Prices charged to patients at clinics, and list prices of approved products."""
    rows = costs[costs["kind"].isin(["clinic_price", "list_price"])]
    return rows.assign(study=rows["source"].map(source_label)).reset_index(drop=True)
