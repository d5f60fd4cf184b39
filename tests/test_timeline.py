"""Product timeline and cost chart (chapter 09) and the selections behind them."""

from __future__ import annotations

import pandas as pd
import pytest

from mscfm import regulation
from mscfm.plots.style import alt_text
from mscfm.plots.timeline import cost_ranges, decimal_year, product_timeline


def products() -> pd.DataFrame:
    rows = [("R01", "Ryoncil", "FDA", "USA", "approval", "2024-12-18", "day"),
            ("R03", "Alofisel", "EC", "EU", "approval", "2018-03-23", "day"),
            ("R04", "Alofisel", "EC", "EU", "withdrawal", "2024-12-13", "day"),
            ("R06", "Prochymal", "HC", "Canada", "conditional_approval", "2012-05-01", "month"),
            ("R09", "Cartistem", "KFDA", "South Korea", "approval", "2012-01-01", "year")]
    return pd.DataFrame([{"id": i, "product": p, "regulator": r, "country": c, "event": e,
                          "date": pd.Timestamp(d), "date_precision": dp}
                         for i, p, r, c, e, d, dp in rows])


def costs() -> pd.DataFrame:
    nan = float("nan")
    rows = [("K01", "autologous", "manufacturing_cost", "GBP", 2260, 3040, "per dose", 2012),
            ("K02", "autologous", "manufacturing_cost", "USD", 3630, 4890, "per dose", 2012),
            ("K05", "Ryoncil", "list_price", "USD", 194000, 194000, "per infusion", 2025),
            ("K06", "clinics", "clinic_price", "USD", nan, 50000, "per treatment", 2019),
            ("K12", "businesses", "market_size", nan, 351, 351, "businesses", 2016)]
    return pd.DataFrame([{"id": i, "item": it, "kind": k, "currency": c, "low": lo, "high": hi,
                          "unit": u, "year": y} for i, it, k, c, lo, hi, u, y in rows])


def test_decimal_year_by_precision():
    assert decimal_year(pd.Timestamp("2012-01-01"), "year") == 2012.5
    assert decimal_year(pd.Timestamp("2012-05-01"), "month") == pytest.approx(2012 + 4.5 / 12)
    assert decimal_year(pd.Timestamp("2023-01-01"), "day") == pytest.approx(2023 + 0.5 / 365)


def test_timeline_rows_markers_and_alt_text():
    fig = product_timeline(products())
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 4  # one row per product and regulator
    # earliest first: Prochymal (May 2012, drawn mid-May), then Cartistem (2012, mid-year)
    assert labels[:2] == ["Prochymal (HC, Canada)", "Cartistem (KFDA, South Korea)"]
    ys = list(ax.get_yticks())
    assert ys[0] > ys[1]  # the earliest row is drawn at the top
    gids = [line.get_gid() for line in ax.get_lines() if line.get_gid()]
    assert gids.count("event-withdrawal") == 1 and gids.count("event-approval") == 3
    text = alt_text(fig)
    assert "5 regulatory events for 4 MSC products from 2012 to 2024" in text
    assert "Withdrawn: Alofisel (EC, EU)" in text
    with pytest.raises(ValueError):
        product_timeline(products().iloc[0:0])


def test_cost_selection_by_currency():
    assert list(regulation.money_rows(costs(), "USD")["id"]) == ["K06", "K05", "K02"]
    assert set(regulation.money_rows(costs(), "all")["id"]) == {"K01", "K02", "K05", "K06"}
    assert list(regulation.market_rows(costs())["id"]) == ["K12"]
    with pytest.raises(ValueError, match="currency must be one of GBP, USD or 'all'"):
        regulation.money_rows(costs(), "EUR")


def test_cost_chart_log_scale_kinds_and_upper_only():
    rows = regulation.money_rows(costs(), "all")
    fig = cost_ranges(rows)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    gids = [line.get_gid() for line in ax.get_lines()]
    assert gids.count("cost-range") == 2 and gids.count("cost-point") == 1
    assert gids.count("cost-upper-only") == 1
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any("USD per treatment (high end only), 2019" in label for label in labels)
    assert any("GBP per dose, 2012" in label for label in labels)
    text = alt_text(fig)
    assert "4 costs and prices" in text and "GBP, USD" in text and "194,000" in text


def test_product_counts_and_event_dates():
    c = regulation.counts(products())
    assert c == {"products": 4, "regulators": 4, "countries": 4, "withdrawals": 1,
                 "first_year": 2012, "last_year": 2024}
    events = regulation.product_events(products())
    assert list(events["when"]) == ["2012", "2012-05", "2018-03-23", "2024-12-13", "2024-12-18"]


def test_count_indications_ignores_withdrawals_and_matches_case_insensitively():
    frame = products().assign(indication=["GVHD", "Crohn fistula", "chronic PAIN", "GVHD",
                                          "knee cartilage"])
    assert regulation.count_indications(frame) == 0  # the pain row is a withdrawal
    frame.loc[4, "indication"] = "Fibromyalgia"
    assert regulation.count_indications(frame) == 1
