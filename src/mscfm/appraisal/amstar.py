"""AMSTAR 2 critical domains of the published meta-analyses whose pooled estimates are used
(``data/amstar.csv``), and the overlap between meta-analyses that may pool the same trials."""

from __future__ import annotations

import pandas as pd

from mscfm.errors import DataError

CRITICAL_ITEMS: dict[str, str] = {
    "A02": "protocol registered before the review",
    "A04": "comprehensive literature search",
    "A07": "list of excluded studies with reasons",
    "A09": "risk of bias of included studies assessed",
    "A11": "appropriate methods of statistical combination",
    "A13": "risk of bias accounted for in interpreting results",
    "A15": "publication bias investigated",
}
NO_INFORMATION = "no information"


def check(amstar: pd.DataFrame, reviews: list[str]) -> None:
    """Each review appraised in every critical item once, and no appraisal of a review the
    report does not use."""
    for review in reviews:
        have = amstar.loc[amstar["review"] == review, "item"]
        missing = [item for item in CRITICAL_ITEMS if item not in set(have)]
        if missing or have.duplicated().any():
            raise DataError(f"amstar.csv: review {review} needs each critical item once "
                            f"(missing: {', '.join(missing) or 'none'})")
    extra = sorted(set(amstar["review"]) - set(reviews))
    if extra:
        raise DataError(f"amstar.csv: {', '.join(extra)} is not a meta-analysis with a pooled "
                        f"estimate in pooled.csv")


def reviews_used(pooled: pd.DataFrame, references: pd.DataFrame) -> list[str]:
    """Meta-analyses (sourcetype 'meta-analysis') with a pooled estimate in pooled.csv, in
    table order."""
    kinds = references.set_index("key")["sourcetype"]
    keys = list(dict.fromkeys(pooled["source"]))
    return [key for key in keys if kinds.get(key) == "meta-analysis"]


def summary(amstar: pd.DataFrame) -> pd.DataFrame:
    """One row per review: items with information, the critical weaknesses found, and whether
    the review could be appraised at all (and if not, why)."""
    rows = []
    for review, part in amstar.groupby("review", sort=False):
        informed = part[part["judgment"] != NO_INFORMATION]
        weak = part.loc[part["judgment"] == "no", "item"]
        if informed.empty:
            status = "not appraised: " + str(part["reason"].iloc[0])
        elif len(informed) < len(part):
            status = (f"partly appraised ({len(informed)} of {len(part)} critical items); "
                      "confidence not rated")
        else:
            status = "appraised"
        rows.append({"review": review, "source": review, "items_informed": len(informed),
                     "critical_weaknesses": len(weak),
                     "judged": "; ".join(f"{r.item} {r.judgment}"
                                         for r in informed.itertuples(index=False)) or "none",
                     "status": status})
    return pd.DataFrame(rows)


def overlap(pooled: pd.DataFrame, reviews: list[str], studies: pd.DataFrame,
            references: pd.DataFrame) -> pd.DataFrame:
    """Meta-analyses of the same condition (which may pool the same trials), with the held
    trials of that condition published no later than the earliest of them: candidates for
    shared trials, since which trials each review pooled was not read."""
    years = references.set_index("key")["year"]
    used = pooled[pooled["source"].isin(reviews) & pooled["topic"].isin(["efficacy", "safety"])]
    rows = []
    for condition, part in used.groupby("condition", sort=False):
        keys = list(dict.fromkeys(part["source"]))
        if len(keys) < 2:
            continue
        first = min(int(years[key]) for key in keys)
        held = studies[studies["condition_group"] == condition]
        early = [s for s in held["source"] if int(years.get(s, 9999)) <= first]
        k = part.groupby("source", sort=False)["k"].max()
        rows.append({"condition": condition, "reviews": keys,
                     "k": "; ".join("not stated" if pd.isna(k[key]) else str(int(k[key]))
                                    for key in keys),
                     "candidates": early})
    return pd.DataFrame(rows, columns=["condition", "reviews", "k", "candidates"])
