"""What "works" means in fibromyalgia: established treatments as a yardstick for the MSC evidence.

The benchmark table holds pooled effects of guideline-recommended treatments (``kind`` effect)
and the EULAR 2016 strengths of recommendation (``kind`` recommendation). Beside them this module
puts the one fibromyalgia trial curated in the instruments table (tai chi against wellness
education, from its arms' changes) and the pooled pain effects of MSCs in other conditions (the
pooled table): there is no controlled MSC trial in fibromyalgia to put there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mscfm import effects
from mscfm.labels import source_label

# Groups of the benchmark figure, in the order of its legend.
FM_TREATMENT = "fibromyalgia treatment (meta-analysis)"
FM_TRIAL = "fibromyalgia trial (one RCT, computed here)"
MSC_OTHER = "MSCs in other conditions (not fibromyalgia)"
GROUPS = (FM_TREATMENT, FM_TRIAL, MSC_OTHER)
MEASURE_AXES = {
    "SMD": "Standardised mean difference (negative favours the treatment)",
    "RR": "Risk ratio of at least 50% less pain (above 1 favours the treatment)",
    "MD_0_10": "Difference in pain, 0-10 scale (negative favours the treatment)",
}


def effect_rows(benchmark: pd.DataFrame) -> pd.DataFrame:
    """Pooled effects of established treatments, with a display label and the figure group."""
    rows = benchmark[benchmark["kind"] == "effect"].copy()
    rows["study"] = rows["source"].map(source_label)
    rows["label"] = [f"{t} ({s})" for t, s in zip(rows["treatment"], rows["study"], strict=True)]
    rows["group"] = FM_TREATMENT
    return rows.reset_index(drop=True)


def recommendations(benchmark: pd.DataFrame) -> pd.DataFrame:
    """The guideline's strengths of recommendation, strongest first."""
    order = {"strong for": 0, "weak for": 1, "weak against": 2, "strong against": 3}
    rows = benchmark[benchmark["kind"] == "recommendation"].copy()
    rows["study"] = rows["source"].map(source_label)
    rows = rows.assign(_order=rows["recommendation"].map(order))
    return rows.sort_values(["_order", "id"]).drop(columns="_order").reset_index(drop=True)


@dataclass(frozen=True)
class TrialEffect:
    """A two-arm effect computed from the arms' mean changes and their 95% CIs."""

    md: float
    md_lb: float
    md_ub: float
    smd: float
    smd_lb: float
    smd_ub: float
    n_treatment: int
    n_control: int
    row_ids: tuple[str, ...]


def _arm(instruments: pd.DataFrame, population_start: str, week: int) -> pd.Series:
    prefix = f"fiq_chg{week}_{population_start}"
    rows = instruments.set_index("id")
    return pd.Series({"mean": float(rows.loc[f"{prefix}_mean", "value"]),
                      "lb": float(rows.loc[f"{prefix}_lb", "value"]),
                      "ub": float(rows.loc[f"{prefix}_ub", "value"]),
                      "n": int(rows.loc[f"{prefix}_mean", "n"])})


def tai_chi_effect(instruments: pd.DataFrame, week: int = 12) -> TrialEffect:
    """Tai chi minus control in FIQ change (Wang 2010): the mean difference with a t-based CI,
    and Hedges' g, each arm's SD recovered from its 95% CI (t quantile with n - 1 df)."""
    arms = {role: _arm(instruments, role, week) for role in ("taichi", "control")}
    sds = {role: float(effects.sd_from_ci(a["lb"], a["ub"], a["n"], dist="t"))
           for role, a in arms.items()}
    t, c = arms["taichi"], arms["control"]
    md = t["mean"] - c["mean"]
    se = np.sqrt(sds["taichi"] ** 2 / t["n"] + sds["control"] ** 2 / c["n"])
    q = stats.t.ppf(0.975, t["n"] + c["n"] - 2)
    g = effects.smd([t["mean"]], [sds["taichi"]], [t["n"]], [c["mean"]], [sds["control"]],
                    [c["n"]])
    g_se = float(np.sqrt(g.vi[0]))
    ids = tuple(f"fiq_chg{week}_{role}_{part}" for role in ("taichi", "control")
                for part in ("mean", "lb", "ub"))
    return TrialEffect(md=md, md_lb=md - q * se, md_ub=md + q * se, smd=float(g.yi[0]),
                       smd_lb=float(g.yi[0]) - 1.959964 * g_se,
                       smd_ub=float(g.yi[0]) + 1.959964 * g_se,
                       n_treatment=int(t["n"]), n_control=int(c["n"]), row_ids=ids)


def msc_pain_effects(pooled: pd.DataFrame) -> pd.DataFrame:
    """Published pooled pain SMDs of MSCs against a control arm (randomised comparisons only)."""
    rows = pooled[(pooled["topic"] == "efficacy") & (pooled["measure"] == "SMD")
                  & (pooled["comparison"] == "MSC vs control")
                  & pooled["outcome"].str.contains("pain", case=False)].copy()
    rows["study"] = rows["source"].map(source_label)
    rows["label"] = [f"MSCs, {c} ({s})" for c, s in
                     zip(rows["condition"], rows["study"], strict=True)]
    rows["group"] = MSC_OTHER
    return rows.reset_index(drop=True)


def figure_panels(benchmark: pd.DataFrame, pooled: pd.DataFrame,
                  instruments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Rows of the benchmark figure by effect measure (one panel each), FM treatments first."""
    fm = effect_rows(benchmark)
    trial = tai_chi_effect(instruments)
    tai_chi = pd.DataFrame([{"label": "tai chi vs wellness education (Wang 2010, FIQ)",
                             "estimate": trial.smd, "ci_lb": trial.smd_lb, "ci_ub": trial.smd_ub,
                             "group": FM_TRIAL, "source": "wang2010randomized"}])
    columns = ["label", "estimate", "ci_lb", "ci_ub", "group", "source"]
    panels = {}
    for measure in MEASURE_AXES:
        parts = [fm.loc[fm["measure"] == measure, columns]]
        if measure == "SMD":
            parts += [tai_chi[columns], msc_pain_effects(pooled)[columns]]
        panel = pd.concat(parts, ignore_index=True)
        if not panel.empty:
            panels[measure] = panel
    return panels
