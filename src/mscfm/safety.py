"""Adverse events for chapter 08: published safety meta-analyses, trial SAE counts, fatigue.

Ratios (RR, OR) are read as printed in ``data/pooled.csv`` (topic ``safety``); a ratio whose CI
lies entirely above 1 means the event was more frequent with MSCs than with control.

The trials' own counts are pooled by :func:`pool_adverse_events` with the Cochrane methods for
sparse binary outcomes (Cochrane Handbook 5.1, 16.9.5): Peto's odds ratio when the event is rare
(pooled risk below :data:`RARE_EVENT_RISK`) and no trial is unbalanced beyond
:data:`MAX_ARM_RATIO`, the conditions under which it was least biased; otherwise the
Mantel-Haenszel odds ratio without zero-cell correction. The Mantel-Haenszel risk difference is
given beside either, because trials without any event count in it. Trials with no event in
either arm are left out of the ratio's heterogeneity test (``drop00=True``): they say nothing
about which arm has the higher risk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from mscfm import meta
from mscfm.language import count

RATIO_MEASURES = ("RR", "OR")
RARE_EVENT_RISK = 0.01  # Cochrane Handbook 5.1, 16.9.5: Peto's method is least biased below 1%
MAX_ARM_RATIO = 2.0  # ... provided the arms are not substantially unbalanced (here: <= 2:1)
_FATIGUE = re.compile(r"fatigue", re.IGNORECASE)


def check_measures(measures: list[str], pooled: pd.DataFrame) -> list[str]:
    """The requested measures, which must be ratio measures present in the safety rows."""
    present = sorted(set(pooled.loc[pooled["topic"] == "safety", "measure"].dropna()))
    allowed = [m for m in present if m in RATIO_MEASURES]
    bad = [m for m in measures if m not in allowed]
    if not measures or bad:
        raise ValueError(f"measures must be a non-empty list drawn from {', '.join(allowed)} "
                         f"(ratio measures in data/pooled.csv, topic safety), got {measures!r}")
    return list(dict.fromkeys(measures))


def reading(lb: float, ub: float) -> str:
    """Plain-language reading of a ratio CI."""
    if pd.isna(lb) or pd.isna(ub):
        return "no usable estimate"
    if lb > 1:
        return "more often with MSC"
    if ub < 1:
        return "less often with MSC"
    return "no clear difference"


def safety_estimates(pooled: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """Published safety ratios with an estimate, one row each, sorted by source and outcome,
    with a display label and a reading of the CI."""
    rows = pooled[(pooled["topic"] == "safety") & pooled["measure"].isin(measures)
                  & pooled["estimate"].notna()]
    repeated = rows.duplicated(["source", "outcome"], keep=False)
    labels = [f"{o} ({m})" + (f", {p}" if again else "") for o, m, p, again in
              zip(rows["outcome"], rows["measure"], rows["population"], repeated, strict=True)]
    rows = rows.assign(label=labels,
                       reading=[reading(lb, ub) for lb, ub in
                                zip(rows["ci_lb"], rows["ci_ub"], strict=True)])
    return rows.sort_values(["source", "outcome"], ignore_index=True)


def unusable_estimates(pooled: pd.DataFrame) -> pd.DataFrame:
    """Safety rows left without an estimate (the note says why)."""
    rows = pooled[(pooled["topic"] == "safety") & pooled["estimate"].isna()]
    return rows.sort_values("id", ignore_index=True)


def fatigue_estimates(pooled: pd.DataFrame) -> pd.DataFrame:
    """All safety rows about fatigue, with or without an estimate."""
    rows = pooled[(pooled["topic"] == "safety") & pooled["outcome"].str.contains(_FATIGUE)]
    return rows.assign(reading=[reading(lb, ub) for lb, ub in
                                zip(rows["ci_lb"], rows["ci_ub"], strict=True)]
                       ).sort_values("id", ignore_index=True)


def sae_table(outcomes: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """Participants with a serious adverse event per trial: MSC arms and control arms summed
    (each participant is in one arm), with percentages and the follow-up as reported."""
    rows = outcomes[(outcomes["outcome"] == "SAE") & outcomes["events"].notna()
                    & outcomes["n"].notna()]
    records = []
    for study_id, group in rows.groupby("study_id", sort=True):
        by_role = group.groupby("arm_role")[["events", "n"]].sum()
        msc, ctl = by_role.loc["msc"], by_role.loc["control"]
        records.append({
            "study_id": study_id,
            "condition": studies.set_index("id").loc[study_id, "condition_group"],
            "follow_up": group["timepoint"].iloc[0],
            "events_msc": int(msc["events"]), "n_msc": int(msc["n"]),
            "events_control": int(ctl["events"]), "n_control": int(ctl["n"]),
            "pct_msc": 100 * float(msc["events"]) / float(msc["n"]),
            "pct_control": 100 * float(ctl["events"]) / float(ctl["n"])})
    return pd.DataFrame(records, columns=["study_id", "condition", "follow_up", "events_msc",
                                          "n_msc", "events_control", "n_control", "pct_msc",
                                          "pct_control"])


@dataclass(frozen=True, eq=False)
class PooledEvents:
    """A pooled adverse-event comparison of MSC vs control from trial counts."""

    method: str  # "MH" or "PETO" (both odds ratios)
    reason: str  # why that method, in one sentence
    ratio: meta.BinaryPoolResult  # MH OR or Peto OR (log scale)
    difference: meta.BinaryPoolResult  # MH risk difference
    k: int
    k_with_events: int
    events: int
    participants: int

    @property
    def risk(self) -> float:
        return self.events / self.participants


def pool_adverse_events(sae: pd.DataFrame, level: float = 0.95,
                        rare_risk: float = RARE_EVENT_RISK,
                        max_arm_ratio: float = MAX_ARM_RATIO,
                        drop00: bool = True) -> PooledEvents:
    """Pool the per-trial counts of :func:`sae_table`: Peto's OR when the pooled event risk is
    below ``rare_risk`` and no trial's arms differ in size by more than ``max_arm_ratio``,
    else the Mantel-Haenszel OR; the MH risk difference beside it. ``drop00`` leaves trials
    without events in either arm out of the ratio's heterogeneity test (they always count in
    the risk difference)."""
    if len(sae) < 2:
        raise ValueError(f"pooling needs at least 2 trials with counts, got {len(sae)}")
    counts = {"ai": sae["events_msc"].tolist(), "n1i": sae["n_msc"].tolist(),
              "ci": sae["events_control"].tolist(), "n2i": sae["n_control"].tolist(),
              "labels": sae["study_id"].tolist(), "level": level}
    events = int(sae["events_msc"].sum() + sae["events_control"].sum())
    participants = int(sae["n_msc"].sum() + sae["n_control"].sum())
    with_events = int(((sae["events_msc"] + sae["events_control"]) > 0).sum())
    risk = events / participants
    sizes = sae[["n_msc", "n_control"]].astype(float)
    ratio_of_arms = float((sizes.max(axis=1) / sizes.min(axis=1)).max())
    rare = f"{100 * risk:.1f}% of participants had the event"
    if risk < rare_risk and ratio_of_arms <= max_arm_ratio:
        ratio = meta.rma_peto(**counts, drop00=drop00)
        method = "PETO"
        reason = (f"Peto's odds ratio, because the event is rare ({rare}, below "
                  f"{100 * rare_risk:g}%) and no trial's arms differ in size by more than "
                  f"{max_arm_ratio:g} to 1, the conditions under which it is the least biased "
                  f"method (Cochrane Handbook 5.1, 16.9.5)")
    else:
        ratio = meta.rma_mh(**counts, measure="OR", drop00=drop00)
        method = "MH"
        why = (f"the event is not rare ({rare}, not below {100 * rare_risk:g}%)"
               if risk >= rare_risk else
               f"one trial's arms differ in size by {ratio_of_arms:.1f} to 1, more than "
               f"{max_arm_ratio:g} to 1")
        reason = (f"the Mantel-Haenszel odds ratio without zero-cell correction, because {why}, "
                  f"so Peto's method would be biased (Cochrane Handbook 5.1, 16.9.5)")
    difference = meta.rma_mh(**counts, measure="RD", drop00=False)
    return PooledEvents(method, reason, ratio, difference, len(sae), with_events, events,
                        participants)


def check_rare_event_risk(value: float) -> float:
    """The chapter parameter ``rare_event_risk``: a proportion strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"rare_event_risk must be a proportion between 0 and 1 (e.g. 0.01), "
                         f"got {value!r}")
    return float(value)


def pooled_sentence(pooled_events: PooledEvents) -> str:
    """The pooled trial counts in plain words, with the method and why it was chosen."""
    ratio = pooled_events.ratio.back_transformed()
    rd = pooled_events.difference
    k, with_events = pooled_events.k, pooled_events.k_with_events
    rests = ("it rests on that trial alone" if with_events == 1
             else f"it rests on those {with_events} trials")
    return (f"The {count(k, 'trial')} with counts were pooled with {pooled_events.reason}. "
            f"The odds ratio of at least one serious adverse event with MSCs against control is "
            f"{ratio['estimate']:.2f} (95% CI {ratio['ci_lb']:.2f} to {ratio['ci_ub']:.2f}); "
            f"only {with_events} of the {k} trials had any such event, so {rests}. The risk "
            f"difference, to which every trial contributes, is {100 * rd.estimate:.1f} "
            f"percentage points (95% CI {100 * rd.ci_lb:.1f} to {100 * rd.ci_ub:.1f}). The "
            f"trials differ in condition, cells, dose and follow-up, so these numbers describe "
            f"these trials, not MSC therapy in general.")
