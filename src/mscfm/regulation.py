"""Approved products, regulator statements and costs for chapter 09: selection and ordering."""

from __future__ import annotations

import pandas as pd

ALL_CURRENCIES = "all"
APPROVAL_EVENTS = ("approval", "conditional_approval", "limited_approval")


def check_currency(currency: str, costs: pd.DataFrame) -> str:
    """ValueError unless ``currency`` is a currency in costs.csv or "all"."""
    known = sorted(set(costs["currency"].dropna()))
    if currency != ALL_CURRENCIES and currency not in known:
        raise ValueError(f"currency must be one of {', '.join(known)} or '{ALL_CURRENCIES}', "
                         f"got {currency!r}")
    return currency


def money_rows(costs: pd.DataFrame, currency: str = "USD") -> pd.DataFrame:
    """Costs and prices with a currency (counts such as clinic numbers excluded), in one
    currency or all; sorted by kind, amount and id."""
    check_currency(currency, costs)
    rows = costs[costs["currency"].notna()]
    if currency != ALL_CURRENCIES:
        rows = rows[rows["currency"] == currency]
    return rows.sort_values(["kind", "high", "id"], ignore_index=True)


def market_rows(costs: pd.DataFrame) -> pd.DataFrame:
    """Counts of businesses and clinics (rows without a currency), by year and id."""
    rows = costs[costs["currency"].isna()]
    return rows.sort_values(["year", "id"], ignore_index=True)


def _shown_dates(rows: pd.DataFrame) -> list[str]:
    """Each date only as precisely as it is known (column ``date_precision``)."""
    return [pd.Timestamp(d).strftime("%Y" if p == "year" else "%Y-%m" if p == "month"
                                     else "%Y-%m-%d")
            for d, p in zip(rows["date"], rows["date_precision"], strict=True)]


def product_events(products: pd.DataFrame) -> pd.DataFrame:
    """Regulatory events by date, with the date shown as precisely as it is known."""
    rows = products.sort_values(["date", "id"], ignore_index=True)
    return rows.assign(when=_shown_dates(rows))


def counts(products: pd.DataFrame) -> dict[str, int]:
    """Products approved (any approval event), regulators, countries, withdrawals."""
    approved = products[products["event"].isin(APPROVAL_EVENTS)]
    return {"products": int(approved["product"].nunique()),
            "regulators": int(approved["regulator"].nunique()),
            "countries": int(approved["country"].nunique()),
            "withdrawals": int((products["event"] == "withdrawal").sum()),
            "first_year": int(pd.Timestamp(approved["date"].min()).year),
            "last_year": int(pd.Timestamp(approved["date"].max()).year)}


def regulator_statements(regulatory: pd.DataFrame) -> pd.DataFrame:
    """Regulator statements and actions by date, the date shown as precisely as known."""
    rows = regulatory.sort_values(["date", "id"], ignore_index=True)
    return rows.assign(when=_shown_dates(rows))


def count_indications(products: pd.DataFrame, pattern: str = r"fibromyalgia|pain") -> int:
    """Approval events whose indication matches ``pattern`` (case-insensitive regex)."""
    approved = products[products["event"].isin(APPROVAL_EVENTS)]
    return int(approved["indication"].str.contains(pattern, case=False, regex=True).sum())
