"""Figures: the right number of study rows/markers, alt text, and they render to PNG."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from mscfm import effects, meta
from mscfm.plots.forest import forest_plot, leave1out_plot
from mscfm.plots.funnel import funnel_plot
from mscfm.plots.style import alt_text

BCG = json.loads((Path(__file__).parent / "fixtures" / "metafor" / "bcg.json")
                 .read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bcg() -> meta.MetaResult:
    d = BCG["data"]
    es = effects.escalc("RR", ai=d["tpos"], bi=d["tneg"], ci=d["cpos"], di=d["cneg"],
                        labels=[f"{a} {y}" for a, y in zip(d["author"], d["year"], strict=True)])
    return meta.rma(es.yi, es.vi, "REML", labels=es.labels, measure="RR")


def artists(fig: Figure, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def renders(fig: Figure) -> bool:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forest_plot_rows_diamond_pi_and_log_axis(bcg):
    fig = forest_plot(bcg, favours=("BCG", "control"))
    assert len(artists(fig, "study-marker")) == 13
    assert len(artists(fig, "study-ci")) == 13
    assert len(artists(fig, "pooled-diamond")) == 1
    assert len(artists(fig, "prediction-interval")) == 1
    plot_ax = fig.axes[1]
    assert plot_ax.get_xscale() == "log"
    assert "favours BCG" in plot_ax.get_xlabel()
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert "0.49 [0.34, 0.70]" in texts  # metafor's back-transformed pooled estimate
    weights = [t.get_text() for t in fig.axes[3].texts]
    assert sum(t.endswith("%") for t in weights) == 13
    assert "13 studies" in alt_text(fig) and "Prediction interval 0.15 to 1.55" in alt_text(fig)
    assert renders(fig)


def test_forest_plot_with_subgroups(bcg):
    alloc = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4
    sg = meta.subgroups(bcg.yi, bcg.vi, alloc, labels=bcg.labels, measure="RR")
    fig = forest_plot(bcg, subgroups=sg)
    assert len(artists(fig, "study-marker")) == 13
    assert len(artists(fig, "pooled-diamond")) == 4  # 3 subtotals + overall
    headers = [t.get_text() for t in fig.axes[0].texts]
    assert {"random", "alternate", "systematic"} <= set(headers)
    assert "subgroup differences" in alt_text(fig)
    assert renders(fig)


def test_equal_effects_forest_has_no_prediction_interval_and_linear_axis():
    r = meta.rma([0.1, 0.3, 0.2], [0.01, 0.02, 0.015], "EE", measure="SMD")
    fig = forest_plot(r, favours=None)
    assert artists(fig, "prediction-interval") == []
    assert fig.axes[1].get_xscale() == "linear"
    assert renders(fig)


@pytest.mark.parametrize("contours", [False, True])
def test_funnel_plot(bcg, contours):
    tf = meta.trimfill(bcg)
    fig = funnel_plot(bcg, contours=contours, trimfill=tf)
    markers = artists(fig, "study-marker")
    assert len(markers) == 1 and len(markers[0].get_xdata()) == 13
    assert len(artists(fig, "filled-marker")[0].get_xdata()) == tf.k0
    ax = fig.axes[0]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # standard error axis runs downwards
    assert ("p < .10" in alt_text(fig)) is contours
    assert renders(fig)


def test_leave1out_plot(bcg):
    rows = meta.leave1out(bcg)
    fig = leave1out_plot(bcg, rows)
    assert len(artists(fig, "loo-marker")) == 13
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "Omitting Aronson 1948"
    assert "Leave-one-out" in alt_text(fig)
    assert renders(fig)
