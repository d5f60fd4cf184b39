"""The treatment benchmark of chapter 02 and the study names it shows."""

from __future__ import annotations

import pandas as pd
import pytest

from mscfm import benchmark, data
from mscfm.labels import source_label, study_label
from mscfm.plots.benchmark import NO_TRIAL_TEXT, benchmark_plot
from mscfm.plots.style import alt_text


def test_study_names_never_show_keys() -> None:
    assert source_label("heidari2017prevalence") == "Heidari 2017"
    assert source_label("hauser2010efficacy") == "Häuser 2010"
    assert source_label("nct02412735") == "NCT02412735"
    assert source_label("anon2017adipose") == "Toyserkani 2017"
    assert study_label("nct02674399", "JointStem (culture-expanded AD-MSC)") == \
        "JointStem, NCT02674399"
    assert study_label("vega2015allogeneic", "culture-expanded BM-MSC (MSV)") == "Vega 2015"


def test_tai_chi_effect_from_the_arms_changes() -> None:
    instruments = pd.DataFrame([
        {"id": f"fiq_chg12_{role}_{part}", "value": value, "n": 33}
        for role, values in (("taichi", (-27.8, -33.8, -21.8)), ("control", (-9.4, -15.5, -3.4)))
        for part, value in zip(("mean", "lb", "ub"), values, strict=True)])
    effect = benchmark.tai_chi_effect(instruments)
    assert effect.md == pytest.approx(-18.4)
    assert effect.md_lb < effect.md < effect.md_ub < 0
    assert effect.smd < -0.5 and effect.n_treatment == 33


def test_panels_put_fm_treatments_first_and_msc_in_other_conditions_last() -> None:
    panels = benchmark.figure_panels(data.load("benchmark"), data.load("pooled"),
                                     data.load("instruments"))
    assert set(panels) == {"SMD", "RR", "MD_0_10"}
    groups = list(panels["SMD"]["group"])
    assert groups[0] == benchmark.FM_TREATMENT and groups[-1] == benchmark.MSC_OTHER
    assert benchmark.FM_TRIAL in groups
    assert not panels["SMD"]["label"].str.contains(r"[a-z]+\d{4}[a-z]").any()  # no keys
    fig = benchmark_plot(panels, benchmark.MEASURE_AXES, benchmark.GROUPS,
                         {"SMD": 0.0, "RR": 1.0, "MD_0_10": 0.0}, {"MD_0_10": -2.0})
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == NO_TRIAL_TEXT and "no controlled MSC trial" in alt_text(fig)
    # each group one colour and one marker in every panel
    markers = {line.get_marker() for ax in fig.axes for line in ax.get_lines()
               if line.get_marker() not in ("None", "", None)}
    assert len(markers) == len(benchmark.GROUPS)


def test_recommendations_strongest_first() -> None:
    recs = benchmark.recommendations(data.load("benchmark"))
    assert recs["recommendation"].iloc[0] == "strong for"
    assert "exercise" in recs["treatment"].iloc[0]
