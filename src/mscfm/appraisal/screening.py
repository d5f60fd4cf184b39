"""Screening decisions (``data/screening.csv``) and the PRISMA 2020 flow counted from them.

One row per record, with a decision and reason for each review question it was identified for
(columns ``fm_decision``/``fm_reason``, ``cp_decision``/``cp_reason``). :func:`as_long` turns
that into one row per record and question, which everything else here counts. The flow
diagram's boxes are counts of those rows (and, for the archive searches, of the hits in
``data/searches.csv``), never typed numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mscfm.errors import DataError

QUESTIONS: dict[str, str] = {
    "fm": "MSC-type treatments in fibromyalgia (people or animal models)",
    "chronic_pain": "MSC trials in other chronic pain conditions (the nearest evidence)",
}
PREFIX: dict[str, str] = {"fm": "fm", "chronic_pain": "cp"}  # question -> column prefix
SOURCE_LABELS: dict[str, str] = {
    "registry": "ClinicalTrials.gov snapshot, Oct 2022",
    "archive searches": "searches of a web-page archive",
    "publications": "publications of trials",
    "meta-analyses": "published meta-analyses",
}
SEARCH_GROUP = "archive searches"
# Scopes of searches.csv that ask the fibromyalgia question (the archive searches of its flow).
FM_SCOPES = ("clinical FM", "clinical FM / registry", "preclinical FM model")


@dataclass(frozen=True)
class Flow:
    """The boxes of one PRISMA 2020 flow diagram."""

    question: str
    identified: dict[str, int]  # source group -> records identified
    duplicates: int  # records removed before screening (the same record or study again)
    screened: int
    not_relevant: int  # excluded on the record's own fields
    assessed: int  # reports assessed for eligibility
    excluded: dict[str, int]  # reason -> reports excluded
    included: dict[str, int]  # kind of study -> studies included
    unreadable: int = 0  # included studies whose results could not be read
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def n_identified(self) -> int:
        return sum(self.identified.values())

    @property
    def n_excluded(self) -> int:
        return sum(self.excluded.values())

    @property
    def n_included(self) -> int:
        return sum(self.included.values())

    def check(self) -> None:
        """The boxes add up: identified - duplicates = screened = not relevant + assessed, and
        assessed = excluded + included records, and no box is negative (more records found
        than the searches' recorded hits would give a negative duplicates box)."""
        negative = {name: n for name, n in (("duplicates", self.duplicates),
                                            ("not relevant", self.not_relevant),
                                            ("assessed", self.assessed)) if n < 0}
        if negative:
            raise DataError(f"flow {self.question}: negative box counts {negative}; the hits "
                            "recorded in searches.csv are fewer than the records screened")
        if self.n_identified - self.duplicates != self.screened:
            raise DataError(f"flow {self.question}: identified {self.n_identified} - duplicates "
                            f"{self.duplicates} != screened {self.screened}")
        if self.screened - self.not_relevant != self.assessed:
            raise DataError(f"flow {self.question}: screened - not relevant != assessed")


def as_long(screening: pd.DataFrame) -> pd.DataFrame:
    """One row per record and question (columns question, decision, reason added; the
    per-question columns dropped). A question whose decision is empty was not asked of the
    record. Raises DataError when a decision has no reason, or a reason no decision."""
    wide = screening.fillna("")
    parts = []
    for question, prefix in PREFIX.items():
        decision, reason = wide[f"{prefix}_decision"], wide[f"{prefix}_reason"]
        odd = wide[(decision == "") != (reason == "")]
        if not odd.empty:
            raise DataError(f"screening.csv record {odd.iloc[0]['record']}: {prefix}_decision "
                            f"and {prefix}_reason must be both filled or both empty")
        asked = wide[decision != ""]
        parts.append(asked.assign(question=question, decision=asked[f"{prefix}_decision"],
                                  reason=asked[f"{prefix}_reason"]))
    columns = [c for c in wide.columns if not c.startswith(tuple(f"{p}_" for p in
                                                                  PREFIX.values()))]
    return pd.concat(parts, ignore_index=True).loc[:, columns + ["question", "decision",
                                                                 "reason"]]


def search_ids(cell: str) -> list[str]:
    """'S20; S21' -> ['S20', 'S21']; other wordings (the registry snapshot) -> []."""
    parts = [part.strip() for part in str(cell).split(";")]
    return [part for part in parts if part.startswith("S") and part[1:].isdigit()]


def search_hits(screening: pd.DataFrame, searches: pd.DataFrame, question: str) -> int:
    """Relevant hits of the searches named by the question's archive-search rows (a record
    found by six searches is six hits and one record)."""
    long = as_long(screening)
    rows = long[(long["question"] == question) & (long["source_group"] == SEARCH_GROUP)]
    named = sorted({sid for cell in rows["identified_by"] for sid in search_ids(cell)})
    unknown = sorted(set(named) - set(searches["id"]))
    if unknown:
        raise DataError(f"screening.csv: identified_by names searches not in searches.csv: "
                        f"{', '.join(unknown)}")
    return int(searches.set_index("id").loc[named, "n_relevant"].sum()) if named else 0


def _kind(row: pd.Series, designs: pd.Series) -> str:
    if row["source_group"] == "meta-analyses":
        return "published meta-analyses"
    if row["record_table"] == "preclinical":
        return "animal studies"
    design = designs.get(row["study_id"], "")
    return "randomised trials" if design == "RCT" else "non-randomised studies"


def flow(screening: pd.DataFrame, searches: pd.DataFrame, studies: pd.DataFrame,
         question: str) -> Flow:
    """Count the PRISMA boxes of one question from the screening table."""
    if question not in QUESTIONS:
        raise DataError(f"unknown review question {question!r}; expected one of "
                        f"{', '.join(QUESTIONS)}")
    long = as_long(screening)
    rows = long[long["question"] == question]
    identified = {group: int((rows["source_group"] == group).sum())
                  for group in SOURCE_LABELS if (rows["source_group"] == group).any()}
    if SEARCH_GROUP in identified:
        identified[SEARCH_GROUP] = search_hits(screening, searches, question)
    kept = rows[rows["decision"] != "duplicate"]
    duplicates = sum(identified.values()) - len(kept)
    not_relevant = int((kept["decision"] == "not relevant").sum())
    excluded = kept[kept["decision"] == "excluded"]["reason"].value_counts()
    included = kept[kept["decision"] == "included"]
    designs = studies.set_index("id")["design"]
    kinds = included.assign(kind=included.apply(_kind, axis=1, designs=designs))
    # a study with two included records (registry and publication) counts once
    kinds = kinds.assign(unit=kinds["study_id"].where(kinds["study_id"].astype(bool),
                                                      kinds["record"]))
    by_kind = kinds.drop_duplicates("unit")["kind"].value_counts()
    included_counts = {str(k): int(v) for k, v in by_kind.items()}
    if question == "fm":  # the question's first answer: how many studies in people
        clinical = sum(included_counts.pop(kind, 0)
                       for kind in ("randomised trials", "non-randomised studies"))
        included_counts = {"studies in people with fibromyalgia": clinical, **included_counts}
    unreadable = int(included["note"].str.startswith("results not readable").sum())
    result = Flow(question=question, identified=identified, duplicates=duplicates,
                  screened=len(kept), not_relevant=not_relevant,
                  assessed=len(kept) - not_relevant,
                  excluded={str(k): int(v) for k, v in excluded.items()},
                  included=included_counts,
                  unreadable=unreadable)
    result.check()
    return result


def unscreened(screening: pd.DataFrame, registry: pd.DataFrame, question: str) -> list[str]:
    """Registry records with no decision for the question: what a refreshed registry table
    brings in that nobody has screened yet."""
    long = as_long(screening)
    done = set(long.loc[long["question"] == question, "record"])
    return sorted(set(registry["nct_id"]) - done)


def unscreened_searches(screening: pd.DataFrame, searches: pd.DataFrame) -> list[str]:
    """Fibromyalgia searches that found relevant records none of which has a screening row."""
    named = {sid for cell in screening["identified_by"].fillna("") for sid in search_ids(cell)}
    asks = searches["scope"].isin(FM_SCOPES) & (searches["n_relevant"] > 0)
    return sorted(set(searches.loc[asks, "id"]) - named)


def excluded_reports(screening: pd.DataFrame, question: str) -> pd.DataFrame:
    """Reports assessed and excluded, with the reason (the excluded-studies table)."""
    long = as_long(screening)
    rows = long[(long["question"] == question) & (long["decision"] == "excluded")]
    return rows.loc[:, ["id", "record", "reason", "note", "source", "locator"]].reset_index(
        drop=True)


def boxes(result: Flow) -> dict[str, object]:
    """The flow's boxes in the form `mscfm.plots.review.prisma_flow` draws, sources named."""
    return {"identified": {SOURCE_LABELS[g]: n for g, n in result.identified.items()},
            "duplicates": result.duplicates, "screened": result.screened,
            "not_relevant": result.not_relevant, "assessed": result.assessed,
            "excluded": dict(result.excluded), "included": dict(result.included)}


def key_numbers(result: Flow, prefix: str) -> dict[str, int]:
    """Named counts of one flow for the prose (prefix_identified, prefix_screened, ...)."""
    counts = {"identified": result.n_identified, "duplicates": result.duplicates,
              "screened": result.screened, "not_relevant": result.not_relevant,
              "assessed": result.assessed, "excluded": result.n_excluded,
              "included": result.n_included, "unreadable": result.unreadable}
    numbers = {f"{prefix}_{name}": n for name, n in counts.items()}
    numbers.update({f"{prefix}_from_{g.replace(' ', '_').replace('-', '_')}": n
                    for g, n in result.identified.items()})
    return numbers
