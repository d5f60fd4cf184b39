"""The claims ledger: verdict rules and a GRADE-like certainty, applied in code to the data.

Every claim of the article gets exactly one verdict from the ordered rules in `RULES`, computed
from its rows in data/claim_evidence.csv (evidence_kind, direction, strength). The rules are
printed verbatim on the methods page (`rules_markdown()`); a test keeps the two identical.
Certainty starts from a level and adds the `levels` of each downgrade row in data/certainty.csv.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from mscfm.errors import DataError

# --------------------------------------------------------------------------- vocabulary

# evidence_kind values: direct evidence in FM; kinds that only bear on the claim from elsewhere;
# and the record of a search that found nothing (never counts as support or contradiction).
DIRECT_KINDS: frozenset[str] = frozenset({"direct"})
INDIRECT_KINDS: frozenset[str] = frozenset({"other_condition", "preclinical", "registry"})
NULL_KINDS: frozenset[str] = frozenset({"search_null"})
SUPPORTS, CONTRADICTS, NEUTRAL = "supports", "contradicts", "neutral"
DIRECTIONS: tuple[str, ...] = (SUPPORTS, CONTRADICTS, NEUTRAL)
# Ordered strengths; a larger rank is stronger evidence.
STRENGTH_RANK: dict[str, int] = {"weak": 1, "moderate": 2, "strong": 3}

VERDICTS: tuple[str, ...] = ("supported", "partly supported", "indirect", "contradicted",
                             "unsupported")

# GRADE-like levels, lowest first; "no evidence" is given when no row counts.
CERTAINTY_LEVELS: tuple[str, ...] = ("very low", "low", "moderate", "high")
NO_EVIDENCE = "no evidence"
START_DOMAIN = "start"  # a certainty.csv row of this domain sets the starting level
# Starting level when certainty.csv gives none: the best kind among the counted rows decides.
START_BY_KIND: dict[str, str] = {"direct": "high", "other_condition": "moderate",
                                 "registry": "low", "preclinical": "low"}

# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class EvidenceFacts:
    """What the rules look at: the strongest support and contradiction, and where support is.

    Strengths are ranks (0 = none). Only rows of a non-null kind with direction supports or
    contradicts count.
    """

    support: int
    contradiction: int
    direct_support: bool


def _check_rows(rows: pd.DataFrame) -> None:
    known_kinds = DIRECT_KINDS | INDIRECT_KINDS | NULL_KINDS
    for column, allowed in (("evidence_kind", known_kinds), ("direction", set(DIRECTIONS)),
                            ("strength", set(STRENGTH_RANK))):
        if column not in rows.columns:
            raise DataError(f"claim_evidence: missing column {column!r}")
        for row_id, value in zip(_ids(rows), rows[column], strict=True):
            if column == "strength" and _missing(value) and _is_null_kind(rows, row_id):
                continue  # a search that found nothing has no strength
            if value not in allowed:
                raise DataError(f"claim_evidence: row {row_id}, column {column!r}: expected one "
                                f"of {sorted(allowed)}, found {value!r}")


def _ids(rows: pd.DataFrame) -> list[str]:
    return [str(v) for v in rows["id"]] if "id" in rows.columns else [str(i) for i in rows.index]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def _is_null_kind(rows: pd.DataFrame, row_id: str) -> bool:
    kinds = dict(zip(_ids(rows), rows["evidence_kind"], strict=True))
    return kinds[row_id] in NULL_KINDS


def counted(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows that count for a verdict: not a null search, and supporting or contradicting."""
    keep = ~rows["evidence_kind"].isin(NULL_KINDS) & rows["direction"].isin(
        [SUPPORTS, CONTRADICTS])
    return rows.loc[keep]


def facts(rows: pd.DataFrame) -> EvidenceFacts:
    """Summarize one claim's evidence rows for the rules."""
    _check_rows(rows)
    rows = counted(rows)
    ranks = rows["strength"].map(STRENGTH_RANK)
    pro = rows["direction"] == SUPPORTS
    con = rows["direction"] == CONTRADICTS
    return EvidenceFacts(
        support=int(ranks[pro].max()) if pro.any() else 0,
        contradiction=int(ranks[con].max()) if con.any() else 0,
        direct_support=bool((pro & rows["evidence_kind"].isin(DIRECT_KINDS)).any()),
    )


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    verdict: str
    description: str
    predicate: Callable[[EvidenceFacts], bool]


# Ordered and mutually exclusive: for any evidence exactly one predicate holds (tested).
RULES: list[Rule] = [
    Rule("contradicted",
         "at least one row contradicts the claim, and the strongest contradicting row is at "
         "least as strong as the strongest supporting row (or nothing supports it).",
         lambda f: f.contradiction > 0 and f.contradiction >= f.support),
    Rule("partly supported",
         "at least one row contradicts the claim, but a supporting row is stronger than every "
         "contradicting row.",
         lambda f: 0 < f.contradiction < f.support),
    Rule("supported",
         "nothing contradicts the claim and at least one supporting row is direct evidence "
         "(kind `direct`: people with fibromyalgia, or the claim's own subject).",
         lambda f: f.contradiction == 0 and f.direct_support),
    Rule("indirect",
         "nothing contradicts the claim and it is supported, but only by rows from other "
         "conditions, preclinical models or the trial registry; no supporting row is direct.",
         lambda f: f.contradiction == 0 and f.support > 0 and not f.direct_support),
    Rule("unsupported",
         "no row supports or contradicts the claim: there is no evidence row, or only records "
         "of searches that found nothing (kind `search_null`), or only neutral rows.",
         lambda f: f.contradiction == 0 and f.support == 0),
]


def matching_rules(evidence_facts: EvidenceFacts) -> list[Rule]:
    return [rule for rule in RULES if rule.predicate(evidence_facts)]


def verdict(rows: pd.DataFrame) -> str:
    """The verdict for one claim's evidence rows (possibly none)."""
    matches = matching_rules(facts(rows))
    if len(matches) != 1:  # cannot happen while the rules are total and exclusive
        raise AssertionError(f"{len(matches)} verdict rules match {facts(rows)}")
    return matches[0].verdict


def rules_markdown() -> str:
    """The rules as a numbered Markdown list, verbatim on the methods page."""
    kinds = ", ".join(f"`{k}`" for k in sorted(DIRECT_KINDS | INDIRECT_KINDS | NULL_KINDS))
    strengths = ", ".join(f"`{s}`" for s in sorted(STRENGTH_RANK, key=STRENGTH_RANK.get))
    lines = [
        "Each claim's verdict is computed from its rows in the claim-evidence table. A row has "
        f"a kind ({kinds}), a direction (`{SUPPORTS}`, `{CONTRADICTS}` or `{NEUTRAL}`) and a "
        f"strength ({strengths}, weakest first). Rows of kind `search_null` and neutral rows "
        "never count as support or contradiction. The rules below are mutually exclusive and "
        "together cover every case, so each claim gets exactly one verdict.",
        "",
    ]
    lines += [f"{i}. **{rule.verdict}**: {rule.description}" for i, rule in enumerate(RULES, 1)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- certainty


@dataclass(frozen=True)
class Certainty:
    level: str
    start: str | None
    downgrades: tuple[tuple[str, int, str], ...]  # (domain, levels, reason)


def _level_index(level: str, where: str) -> int:
    if level not in CERTAINTY_LEVELS:
        raise DataError(f"{where}: expected one of {list(CERTAINTY_LEVELS)}, found {level!r}")
    return CERTAINTY_LEVELS.index(level)


def start_level(rows: pd.DataFrame) -> str | None:
    """Starting level from the kinds of the counted rows (the best kind wins); None if none."""
    kinds = counted(rows)["evidence_kind"]
    starts = [START_BY_KIND[k] for k in kinds if k in START_BY_KIND]
    if not starts:
        return None
    return max(starts, key=CERTAINTY_LEVELS.index)


def clamp_level(index: int) -> str:
    return CERTAINTY_LEVELS[min(max(index, 0), len(CERTAINTY_LEVELS) - 1)]


def certainty(rows: pd.DataFrame, downgrades: pd.DataFrame) -> Certainty:
    """GRADE-like certainty of one claim's evidence: start, plus each row's levels, clamped.

    `downgrades` are the claim's rows of certainty.csv (domain, levels, reason); a row of domain
    "start" names the starting level in its `reason`-independent column `start` or, if absent,
    the level is derived from the evidence kinds.
    """
    if counted(rows).empty:
        return Certainty(NO_EVIDENCE, None, ())
    start = start_level(rows)
    steps: list[tuple[str, int, str]] = []
    for _, row in downgrades.iterrows():
        if row["domain"] == START_DOMAIN:
            start = str(row["start"]) if "start" in row and not _missing(row["start"]) else start
            continue
        steps.append((str(row["domain"]), int(row["levels"]), str(row["reason"])))
    if start is None:
        return Certainty(NO_EVIDENCE, None, tuple(steps))
    index = _level_index(start, "certainty start level") + sum(s[1] for s in steps)
    return Certainty(clamp_level(index), start, tuple(steps))


# --------------------------------------------------------------------------- ledger

LEDGER_COLUMNS = ["claim_id", "claim", "claim_type", "chapter", "verdict", "certainty",
                  "n_evidence", "key_sources"]


def _group(frame: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    return frame.loc[frame["claim_id"] == claim_id]


def key_sources(rows: pd.DataFrame) -> str:
    """The distinct sources of the rows that decided the verdict, in order of first use."""
    sources: Iterable[str] = counted(rows)["source"].dropna().astype(str)
    return "; ".join(dict.fromkeys(s for s in sources if s))


def ledger(claims: pd.DataFrame, evidence: pd.DataFrame,
           certainty_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per claim with its verdict and certainty, sorted by claim id."""
    records = []
    for claim in claims.sort_values("id").itertuples(index=False):
        rows = _group(evidence, claim.id)
        rating = certainty(rows, _group(certainty_rows, claim.id))
        records.append({
            "claim_id": claim.id, "claim": claim.claim, "claim_type": claim.claim_type,
            "chapter": claim.chapter, "verdict": verdict(rows), "certainty": rating.level,
            "n_evidence": len(rows), "key_sources": key_sources(rows),
        })
    return pd.DataFrame.from_records(records, columns=LEDGER_COLUMNS)


def load_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """claims, claim_evidence and certainty, validated and typed."""
    from mscfm import data

    return data.load("claims"), data.load("claim_evidence"), data.load("certainty")


def verdict_table(chapter: str | None = None) -> pd.DataFrame:
    """The ledger, restricted to one chapter's claims (e.g. "07_efficacy") when given."""
    table = ledger(*load_tables())
    if chapter is not None:
        if chapter not in set(table["chapter"]):
            known = ", ".join(sorted(set(table["chapter"])))
            raise ValueError(f"chapter={chapter!r} has no claims; expected one of: {known}")
        table = table.loc[table["chapter"] == chapter]
    return table.reset_index(drop=True)
