"""Adverse events for chapter 08: published safety meta-analyses, trial SAE counts, fatigue.

Ratios (RR, OR) are read as printed in ``data/pooled.csv`` (topic ``safety``); a ratio whose CI
lies entirely above 1 means the event was more frequent with MSCs than with control.
"""

from __future__ import annotations

import re

import pandas as pd

RATIO_MEASURES = ("RR", "OR")
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
