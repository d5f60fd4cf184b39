"""The claims ledger: verdict rules and a GRADE-like certainty, applied in code to the data.

Every claim of the article gets exactly one verdict, computed from its rows in
data/claim_evidence.csv and its scope in data/claims.csv (fm_specific, claim_type). It happens
in two steps, each a list of rules written once here and printed on the methods page
(`rules_markdown()`, `levels_markdown()`, `certainty_markdown()`; a test keeps page and code
identical):

1. `ROW_RULES` decide what each evidence row counts as for the claim: support, contradiction,
   a null result, limited evidence (too weak or indirect to decide), or nothing.
2. `VERDICT_RULES` turn the strongest counted rows into one verdict.

Certainty is rated only for claims about effects; `sensitivity()` moves every hand-set
strength and certainty adjustment by one level and reports what changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from mscfm.errors import DataError

# --------------------------------------------------------------------------- vocabulary

DIRECT_FM, DOCUMENTARY = "direct_fm", "documentary"
INDIRECT_CONDITION, INDIRECT_PRECLINICAL = "indirect_condition", "indirect_preclinical"
REGISTRY, SEARCH_NULL = "registry", "search_null"
EVIDENCE_KINDS: tuple[str, ...] = (DIRECT_FM, DOCUMENTARY, INDIRECT_CONDITION,
                                   INDIRECT_PRECLINICAL, REGISTRY, SEARCH_NULL)
SUPPORTS, CONTRADICTS, NULL, NEUTRAL = "supports", "contradicts", "null", "neutral"
DIRECTIONS: tuple[str, ...] = (SUPPORTS, CONTRADICTS, NULL, NEUTRAL)
STRENGTH_RANK: dict[str, int] = {"weak": 1, "moderate": 2, "strong": 3}  # larger = stronger
STRENGTHS: tuple[str, ...] = tuple(sorted(STRENGTH_RANK, key=STRENGTH_RANK.__getitem__))

RANDOMIZED, CONTROLLED, UNCONTROLLED = "randomized", "controlled", "uncontrolled"
IN_VITRO, ANIMAL, HUMAN_BIOMARKER = "in_vitro", "animal", "human_biomarker"
DESIGNS: tuple[str, ...] = (RANDOMIZED, CONTROLLED, UNCONTROLLED, IN_VITRO, ANIMAL,
                            HUMAN_BIOMARKER, "observational", "approval", "document", "registry",
                            "search")
MECHANISTIC_DESIGNS: tuple[str, ...] = (IN_VITRO, ANIMAL, HUMAN_BIOMARKER)
TITLE_ONLY = "title"
READS: tuple[str, ...] = ("full_text", "abstract", "summary", "record", TITLE_ONLY)
EFFICACY, HARM = "efficacy", "harm"
MEASURES: tuple[str, ...] = (EFFICACY, HARM, "mechanism", "fact")

CLAIM_TYPES: tuple[str, ...] = ("background", "mechanism", "preclinical", "clinical_efficacy",
                                "safety", "feasibility_regulatory", "ethics", "framing")
# Claims about what MSCs do or cause: the only ones whose certainty is rated (rule 6).
EFFECT_TYPES: tuple[str, ...] = ("mechanism", "preclinical", "clinical_efficacy", "safety")
EFFICACY_TYPES: tuple[str, ...] = ("preclinical", "clinical_efficacy")
ROLES: tuple[str, ...] = ("case", "premise", "support", "concession")
CASE = "case"

# What a row counts as for one claim, after the row rules.
SUPPORT, CONTRADICTION, NULL_RESULT = "support", "contradiction", "null result"
LIMITED, NOT_COUNTED = "limited", "not counted"
OUTCOME_OF_DIRECTION = {SUPPORTS: SUPPORT, CONTRADICTS: CONTRADICTION, NULL: NULL_RESULT,
                        NEUTRAL: NOT_COUNTED}
DECIDING = (SUPPORT, CONTRADICTION, NULL_RESULT)  # outcomes that can decide a verdict

# Verdict levels, from best to worst news for the article, with their meaning.
VERDICT_LEVELS: dict[str, str] = {
    "supported": "evidence of adequate design and strength, direct for the claim, supports it, "
                 "and nothing of equal standing goes against it.",
    "mixed": "adequate evidence goes both ways, and the support is the stronger.",
    "insufficient": "there is some evidence, but it is too weak or too indirect to judge the "
                    "claim either way.",
    "unsupported": "no evidence supports the claim: none was found, or the only adequate "
                   "evidence found no effect.",
    "contradicted": "adequate evidence shows the opposite of the claim, at least as strong as "
                    "any support.",
}
VERDICTS: tuple[str, ...] = tuple(VERDICT_LEVELS)

# GRADE-like levels, lowest first; the other certainty labels are defined below.
CERTAINTY_LEVELS: tuple[str, ...] = ("very low", "low", "moderate", "high")
NO_EVIDENCE, ESTABLISHED, NOT_RATED = "no evidence", "established", "not rated"
CERTAINTY_ORDER: tuple[str, ...] = (ESTABLISHED, *reversed(CERTAINTY_LEVELS), NO_EVIDENCE,
                                    NOT_RATED)
# For filtering "this level or better": not rated lowest, established highest.
CERTAINTY_LADDER: tuple[str, ...] = (NOT_RATED, NO_EVIDENCE, *CERTAINTY_LEVELS, ESTABLISHED)
NO_DOWNGRADE_DOMAIN = "none"


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """What a claim is about, which decides which rows are direct and which rules apply."""

    fm_specific: bool = True
    claim_type: str = "clinical_efficacy"

    @property
    def is_effect(self) -> bool:
        return self.claim_type in EFFECT_TYPES


def direct_kinds(scope: Scope) -> frozenset[str]:
    """Kinds that count as direct evidence for a claim of this scope."""
    kinds = {DIRECT_FM, DOCUMENTARY}
    if not scope.fm_specific:
        kinds.add(INDIRECT_CONDITION)  # a claim about MSCs in general: any human condition
        if scope.claim_type in ("mechanism", "background"):
            kinds.add(INDIRECT_PRECLINICAL)  # what cells do is tested on cells and animals
    if scope.claim_type == "preclinical":
        kinds.add(INDIRECT_PRECLINICAL)  # a claim about animal research: animal studies
    return frozenset(kinds)


# --------------------------------------------------------------------------- evidence rows

ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "evidence_kind": EVIDENCE_KINDS, "design": DESIGNS, "read": READS, "measures": MEASURES,
    "direction": DIRECTIONS, "strength": STRENGTHS,
}


@dataclass(frozen=True)
class Row:
    """One evidence row as the rules see it."""

    kind: str
    design: str
    read: str
    measures: str
    direction: str
    ci_excludes_null: bool
    strength: str

    @property
    def rank(self) -> int:
        return STRENGTH_RANK[self.strength]


def _row_ids(rows: pd.DataFrame) -> list[str]:
    return [str(v) for v in rows["id"]] if "id" in rows.columns else [str(i) for i in rows.index]


def check_rows(rows: pd.DataFrame) -> None:
    """Refuse values outside the vocabulary, naming the row and column."""
    for column, allowed in ROW_COLUMNS.items():
        if column not in rows.columns:
            raise DataError(f"claim_evidence: missing column {column!r}")
        for row_id, value in zip(_row_ids(rows), rows[column], strict=True):
            if value not in allowed:
                raise DataError(f"claim_evidence: row {row_id}, column {column!r}: expected one "
                                f"of {', '.join(allowed)}; found {value!r}")


def _flag(value: object) -> bool:
    """ci_excludes_null as read: only a true value is true (empty = not an estimate)."""
    return value is True or (isinstance(value, str) and value == "true") or (
        not isinstance(value, str) and not pd.isna(value) and bool(value))


def as_rows(rows: pd.DataFrame) -> list[Row]:
    check_rows(rows)
    ci = rows["ci_excludes_null"] if "ci_excludes_null" in rows.columns else [None] * len(rows)
    return [Row(kind, design, read, measures, direction, _flag(flag), strength)
            for kind, design, read, measures, direction, flag, strength in zip(
                rows["evidence_kind"], rows["design"], rows["read"], rows["measures"],
                rows["direction"], ci, rows["strength"], strict=True)]


# --------------------------------------------------------------------------- row rules


@dataclass(frozen=True)
class RowRule:
    """Applies to a row (for a claim of some scope) and changes what the row counts as."""

    name: str
    description: str
    applies: Callable[[Row, Scope, str], bool]  # (row, scope, outcome so far)
    outcome: str  # what the row counts as when the rule applies


def _demotable(outcome: str) -> bool:
    return outcome in DECIDING


# Applied in this order to every row; each can only lower what a row counts as.
ROW_RULES: list[RowRule] = [
    RowRule("title only",
            "A source known only by its title never counts, for or against any claim.",
            lambda row, scope, out: row.read == TITLE_ONLY, NOT_COUNTED),
    RowRule("searches",
            f"A recorded search (kind `{SEARCH_NULL}`) never counts: finding nothing is "
            "reported, not weighed.",
            lambda row, scope, out: row.kind == SEARCH_NULL, NOT_COUNTED),
    RowRule("harms and efficacy",
            "Harms data (adverse-event rates) never count for or against a claim of efficacy "
            "(clinical or preclinical), and efficacy data never count for a safety claim; "
            "the harm is shown in the safety chapter.",
            lambda row, scope, out: (scope.claim_type in EFFICACY_TYPES and row.measures == HARM)
            or (scope.claim_type == "safety" and row.measures == EFFICACY), NOT_COUNTED),
    RowRule("contradiction needs an interval",
            "For a claim about an effect, a row counts as a contradiction only if it is an "
            "estimate going the other way whose confidence interval excludes no effect; "
            "otherwise it is a null result (which can leave the claim unsupported or "
            "insufficient, never contradicted).",
            lambda row, scope, out: scope.is_effect and out == CONTRADICTION
            and not row.ci_excludes_null, NULL_RESULT),
    RowRule("uncontrolled designs",
            "For a claim of clinical efficacy, a within-arm change or an uncontrolled series "
            "counts only as limited evidence: at most it makes the claim insufficient.",
            lambda row, scope, out: scope.claim_type == "clinical_efficacy"
            and row.design == UNCONTROLLED and _demotable(out), LIMITED),
    RowRule("mechanism needs mechanistic evidence",
            "For a claim about a mechanism, only laboratory, animal or human biomarker "
            "studies can decide; other rows (a product approval, a clinical outcome) count "
            "only as limited evidence.",
            lambda row, scope, out: scope.claim_type == "mechanism"
            and row.design not in MECHANISTIC_DESIGNS and _demotable(out), LIMITED),
    RowRule("directness",
            "A row that is not direct for the claim (see below) counts only as limited "
            "evidence.",
            lambda row, scope, out: row.kind not in direct_kinds(scope) and _demotable(out),
            LIMITED),
    RowRule("weak rows",
            "A row of strength `weak` counts only as limited evidence.",
            lambda row, scope, out: row.strength == "weak" and _demotable(out), LIMITED),
]


def classify(row: Row, scope: Scope, rules: Iterable[RowRule] | None = None) -> str:
    """What one row counts as for a claim of this scope."""
    outcome = OUTCOME_OF_DIRECTION[row.direction]
    for rule in ROW_RULES if rules is None else rules:
        if outcome != NOT_COUNTED and rule.applies(row, scope, outcome):
            outcome = rule.outcome
    return outcome


def outcomes(rows: pd.DataFrame, scope: Scope = Scope()) -> list[str]:
    """What each of a claim's rows counts as, in row order."""
    return [classify(row, scope) for row in as_rows(rows)]


# --------------------------------------------------------------------------- verdict rules


@dataclass(frozen=True)
class EvidenceFacts:
    """What the verdict rules look at. Strengths are ranks (0 = no such row)."""

    support: int  # strongest row counted as support
    contradiction: int  # strongest row counted as contradiction
    null: int  # strongest null result
    limited_support: bool  # some row that supports the claim counts only as limited evidence
    strongest_support: str = ""  # strength name of the strongest support ("" if none)


def facts(rows: pd.DataFrame, scope: Scope = Scope()) -> EvidenceFacts:
    """Summarize one claim's evidence rows for the verdict rules."""
    parsed = as_rows(rows)
    counted_as = [classify(row, scope) for row in parsed]

    def best(outcome: str) -> int:
        return max((row.rank for row, out in zip(parsed, counted_as, strict=True)
                    if out == outcome), default=0)

    support = best(SUPPORT)
    limited_support = any(out == LIMITED and row.direction == SUPPORTS
                          for row, out in zip(parsed, counted_as, strict=True))
    return EvidenceFacts(support=support, contradiction=best(CONTRADICTION),
                         null=best(NULL_RESULT), limited_support=limited_support,
                         strongest_support=STRENGTHS[support - 1] if support else "")


@dataclass(frozen=True)
class Rule:
    verdict: str
    description: str
    predicate: Callable[[EvidenceFacts], bool]


# Mutually exclusive and together total: for any evidence exactly one predicate holds (tested).
VERDICT_RULES: list[Rule] = [
    Rule("contradicted",
         "a row counts as a contradiction, and the strongest contradiction is at least as "
         "strong as the strongest support (or nothing supports the claim).",
         lambda f: f.contradiction > 0 and f.contradiction >= f.support),
    Rule("mixed",
         "a row counts as a contradiction, but the strongest support is stronger than every "
         "contradiction and every null result.",
         lambda f: 0 < f.contradiction < f.support and f.support > f.null),
    Rule("supported",
         "nothing counts as a contradiction, and the strongest support is stronger than "
         "every null result.",
         lambda f: f.contradiction == 0 and f.support > f.null),
    Rule("insufficient",
         "the claim is neither contradicted nor supported (no support, or a null result at "
         "least as strong as the best support), and some supporting row counts as support "
         "or as limited evidence.",
         lambda f: f.contradiction < f.support <= f.null
         or (f.contradiction == 0 and f.support == 0 and f.limited_support)),
    Rule("unsupported",
         "nothing counts as support or contradiction, and no supporting row counts even as "
         "limited evidence: the claim has no counted evidence, only null results, or only "
         "limited evidence against it.",
         lambda f: f.contradiction == 0 and f.support == 0 and not f.limited_support),
]
RULES = VERDICT_RULES  # the name used before the rules were split into row and verdict rules


def matching_rules(evidence_facts: EvidenceFacts) -> list[Rule]:
    return [rule for rule in VERDICT_RULES if rule.predicate(evidence_facts)]


def verdict(rows: pd.DataFrame, scope: Scope = Scope()) -> str:
    """The verdict for one claim's evidence rows (possibly none)."""
    evidence_facts = facts(rows, scope)
    matches = matching_rules(evidence_facts)
    if len(matches) != 1:  # cannot happen while the rules are total and exclusive
        raise AssertionError(f"{len(matches)} verdict rules match {evidence_facts}")
    return matches[0].verdict


def _code(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def levels_markdown() -> str:
    """The verdict levels as a Markdown list, verbatim on the methods page."""
    lines = ["Each claim gets one of five verdicts, from best to worst news for the article:", ""]
    lines += [f"- **{name}**: {meaning}" for name, meaning in VERDICT_LEVELS.items()]
    lines += [
        "",
        "Each claim also has a role in the article's argument. The *case* is made by the claims "
        "specific to fibromyalgia that MSCs act on it, help or are promising for it (its "
        "mechanisms in fibromyalgia, efficacy, the framing of the conclusion); *premises* are "
        "facts the case rests on; *support* covers claims about MSCs in general or in other "
        "conditions; *concessions* are the limits the article admits. The headline count and "
        "the conclusion of the report use the case claims only, and show them first; the "
        "others are counted and shown separately.",
    ]
    return "\n".join(lines) + "\n"


def rules_markdown() -> str:
    """The row rules and the verdict rules as Markdown, verbatim on the methods page."""
    lines = [
        "Each claim's verdict is computed from its rows in the claim-evidence table. A row has "
        f"a kind ({_code(EVIDENCE_KINDS)}), a design ({_code(DESIGNS)}), what was read of the "
        f"source ({_code(READS)}), what it measures ({_code(MEASURES)}), a direction "
        f"({_code(DIRECTIONS)}), for an estimate whether its confidence interval excludes no "
        f"effect, and a strength ({_code(STRENGTHS)}, weakest first, set by hand). A row with "
        f"direction `{NEUTRAL}` never counts. The others first count as support, contradiction "
        "or a null result; the rules below, applied in order, can only lower what a row "
        "counts as:",
        "",
    ]
    lines += [f"{i}. *{rule.name}*: {rule.description}" for i, rule in enumerate(ROW_RULES, 1)]
    lines += [
        "",
        "Whether a row is *direct* depends on what the claim is about. Rows of kind "
        f"`{DIRECT_FM}` (people with fibromyalgia, or fibromyalgia itself) and `{DOCUMENTARY}` "
        "(a definition, regulator text, product record or price) are direct for every claim. "
        f"Rows of kind `{INDIRECT_CONDITION}` (people with other conditions) are also direct "
        "for a claim that is not specific to fibromyalgia; rows of kind "
        f"`{INDIRECT_PRECLINICAL}` (animals or cells) are also direct for a claim about "
        "preclinical research, and for a claim about what MSCs are or do in general (a "
        f"mechanism or a background fact not specific to fibromyalgia). Every `{REGISTRY}` "
        "row is indirect.",
        "",
        "The verdict then follows from the strongest row of each kind. The rules are mutually "
        "exclusive and together cover every case, so each claim gets exactly one verdict:",
        "",
    ]
    lines += [f"{i}. **{rule.verdict}**: {rule.description}"
              for i, rule in enumerate(VERDICT_RULES, 1)]
    lines += [
        "",
        "Strengths, like the certainty adjustments below, are judgements set by hand. The "
        "chapter on verdicts moves each of them, one at a time, one level up and one level "
        "down, and lists every verdict and rating that changes.",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- certainty


@dataclass(frozen=True)
class Certainty:
    level: str
    start: str | None
    steps: tuple[tuple[str, int, str], ...]  # (domain, levels, reason), in row order


def clamp_level(index: int) -> str:
    """The certainty level at `index` (0 = very low), held within very low .. high."""
    return CERTAINTY_LEVELS[min(max(index, 0), len(CERTAINTY_LEVELS) - 1)]


def start_level(rows: pd.DataFrame, scope: Scope) -> str:
    """GRADE's starting point: high when a counted row compares randomized arms, else low."""
    counted_as = outcomes(rows, scope)
    randomized = any(design == RANDOMIZED and out != NOT_COUNTED
                     for design, out in zip(rows["design"], counted_as, strict=True))
    return "high" if randomized else "low"


def certainty(rows: pd.DataFrame, adjustments: pd.DataFrame, scope: Scope = Scope()) -> Certainty:
    """Certainty of one claim's evidence.

    Effect claims (mechanism, preclinical, clinical efficacy, safety): the start level
    (`start_level`) plus each adjustment row's `levels`, held within very low .. high; "no
    evidence" when no row counts. Other claims are not rated in GRADE terms: "established" when
    the claim is supported by a strong row, else "not rated"; they may have no adjustment rows.
    """
    if not scope.is_effect:
        if not adjustments.empty:
            raise DataError(f"certainty: rows {', '.join(_row_ids(adjustments))} adjust a claim "
                            f"of type {scope.claim_type!r}; certainty is rated only for "
                            f"{', '.join(EFFECT_TYPES)}")
        evidence_facts = facts(rows, scope)
        strong = (verdict(rows, scope) == "supported"
                  and evidence_facts.strongest_support == STRENGTHS[-1])
        return Certainty(ESTABLISHED if strong else NOT_RATED, None, ())
    if all(out == NOT_COUNTED for out in outcomes(rows, scope)):
        return Certainty(NO_EVIDENCE, None, ())
    start = start_level(rows, scope)
    steps = tuple((str(a.domain), int(a.levels), str(a.reason))
                  for a in adjustments.itertuples(index=False))
    index = CERTAINTY_LEVELS.index(start) + sum(levels for _, levels, _ in steps)
    return Certainty(clamp_level(index), start, steps)


def certainty_markdown() -> str:
    """How certainty is rated, as Markdown, verbatim on the methods page."""
    levels = ", ".join(f"*{level}*" for level in reversed(CERTAINTY_LEVELS))
    return (
        "The certainty of the evidence is rated in the spirit of GRADE only for claims about "
        f"effects (types {', '.join(f'`{t}`' for t in EFFECT_TYPES)}), on four levels "
        f"({levels}). The rating starts at *high* when a counted evidence row compares "
        "randomized arms and at *low* otherwise. Each claim's rows in the certainty table "
        "then adjust it: a domain (risk of bias, inconsistency, indirectness, imprecision, "
        "publication bias, or an upgrade for a large effect), the number of levels it moves "
        "(negative for a downgrade) and a one-line reason; the rating is the start plus the "
        "sum, held within *very low* and *high*. An effect claim with no counted evidence is "
        f"rated *{NO_EVIDENCE}*. Background facts, definitions, framing, feasibility and "
        f"ethics are not rated in these terms: such a claim is *{ESTABLISHED}* when it is "
        f"supported by a row of strength `{STRENGTHS[-1]}`, and *{NOT_RATED}* otherwise. The "
        "adjustments and their reasons are listed, claim by claim, in the chapter on "
        "verdicts, with what changes if any of them moves by one level.\n"
    )


# --------------------------------------------------------------------------- ledger

LEDGER_COLUMNS = ["claim_id", "quote", "claim", "claim_type", "role", "fm_specific", "chapter",
                  "verdict", "certainty", "n_evidence", "key_sources"]
MAX_KEY_SOURCES = 3


def _of_claim(frame: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    return frame.loc[frame["claim_id"] == claim_id]


def scope_of(claim: object) -> Scope:
    return Scope(fm_specific=bool(getattr(claim, "fm_specific", True)),
                 claim_type=str(getattr(claim, "claim_type", "")))


def deciding_rows(rows: pd.DataFrame, scope: Scope = Scope()) -> pd.DataFrame:
    """The rows that count for the claim (all but "not counted"), strongest first, with their
    outcome in a column `counts_as`."""
    counted_as = outcomes(rows, scope)
    keep = [out != NOT_COUNTED for out in counted_as]
    kept = rows.assign(counts_as=counted_as).loc[keep]
    kept = kept.assign(_rank=kept["strength"].map(STRENGTH_RANK),
                       _deciding=kept["counts_as"].isin(DECIDING))
    order = ["_deciding", "_rank", "id"] if "id" in kept.columns else ["_deciding", "_rank"]
    ascending = [False, False, True][:len(order)]
    return kept.sort_values(order, ascending=ascending, kind="stable").drop(
        columns=["_rank", "_deciding"])


def key_sources(rows: pd.DataFrame, scope: Scope = Scope(),
                limit: int = MAX_KEY_SOURCES) -> str:
    """Distinct sources of the rows that count, deciding rows first and strongest first, at most
    `limit` of them ("+ n more" says how many were left out)."""
    decisive = deciding_rows(rows, scope)
    sources = list(dict.fromkeys(str(s) for s in decisive["source"] if isinstance(s, str) and s))
    shown = "; ".join(sources[:limit])
    return shown + (f" + {len(sources) - limit} more" if len(sources) > limit else "")


def _claim_column(claim: object, name: str, default: object = "") -> object:
    return getattr(claim, name, default)


def ledger(claims: pd.DataFrame, evidence: pd.DataFrame,
           adjustments: pd.DataFrame) -> pd.DataFrame:
    """One row per claim with its verdict and certainty, sorted by claim id."""
    records = []
    for claim in claims.sort_values("id").itertuples(index=False):
        rows = _of_claim(evidence, claim.id)
        scope = scope_of(claim)
        rating = certainty(rows, _of_claim(adjustments, claim.id), scope)
        records.append({
            "claim_id": claim.id, "quote": _claim_column(claim, "quote"), "claim": claim.claim,
            "claim_type": claim.claim_type, "role": _claim_column(claim, "role"),
            "fm_specific": bool(_claim_column(claim, "fm_specific", True)),
            "chapter": claim.chapter, "verdict": verdict(rows, scope),
            "certainty": rating.level, "n_evidence": len(rows),
            "key_sources": key_sources(rows, scope),
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


CASE_COLUMNS = ["claim_id", "quote", "claim", "claim_type", "chapter", "verdict", "certainty"]


def case_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The claims that make the article's case (role "case"), in claim order."""
    return table.loc[table["role"] == CASE].sort_values("claim_id").reset_index(drop=True)


def fm_case_verdicts() -> pd.DataFrame:
    """The article's case, ready to present: one row per fibromyalgia-specific claim that makes
    it (role "case"), with the article's words and the verdict and certainty computed here.

    Columns: claim_id, quote (verbatim from the article), claim (our wording), claim_type,
    chapter (the chapter that tests it), verdict (one of `VERDICTS`), certainty (one of
    `CERTAINTY_ORDER`). Reads claims.csv, claim_evidence.csv and certainty.csv, so a notebook
    that calls it declares those three inputs.
    """
    return case_claims(ledger(*load_tables())).loc[:, CASE_COLUMNS]


def by_role(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The ledger split by role, in the order the report shows them: the case first."""
    return {role: table.loc[table["role"] == role].reset_index(drop=True) for role in ROLES}


def crosstab(table: pd.DataFrame, rows: str, columns: str) -> pd.DataFrame:
    """Claim counts by two ledger columns; verdict and certainty columns in their fixed order.

    Rows: the values present, known values (claim types, roles, verdicts, certainty levels) in
    their order, then any others sorted. Columns: every known verdict or certainty label, zero
    when absent (other columns sorted).
    """
    orders: Mapping[str, tuple[str, ...]] = {"verdict": VERDICTS, "certainty": CERTAINTY_ORDER,
                                             "claim_type": CLAIM_TYPES, "role": ROLES}
    counts = pd.crosstab(table[rows], table[columns])
    column_order = list(orders.get(columns, sorted(counts.columns)))
    counts = counts.reindex(columns=column_order, fill_value=0)
    row_values = list(counts.index)
    known = orders.get(rows, ())
    row_order = [v for v in known if v in row_values] + sorted(set(row_values) - set(known))
    counts = counts.reindex(index=row_order)
    counts.index.name, counts.columns.name = rows, columns
    return counts.astype(int)


# --------------------------------------------------------------------------- sensitivity

SENSITIVITY_COLUMNS = ["setting", "row_id", "claim_id", "value", "moved_to", "verdict",
                       "new_verdict", "certainty", "new_certainty", "changes"]


def _moves(values: tuple[str, ...] | list[int], current: object) -> list[object]:
    """The values one step below and above `current` in `values` (where they exist)."""
    position = list(values).index(current)
    return [values[i] for i in (position - 1, position + 1) if 0 <= i < len(values)]


def _judge(claim: object, rows: pd.DataFrame, adjustments: pd.DataFrame) -> tuple[str, str]:
    scope = scope_of(claim)
    return verdict(rows, scope), certainty(rows, adjustments, scope).level


def sensitivity(claims: pd.DataFrame, evidence: pd.DataFrame,
                adjustments: pd.DataFrame) -> pd.DataFrame:
    """Every hand-set knob a verdict or rating depends on, moved one level each way.

    Knobs: the `strength` of every evidence row that counts for its claim (rows that do not
    count cannot change anything), and the `levels` of every certainty adjustment (a "none"
    row is moved only to one downgrade). One result row per move, with the claim's verdict and
    certainty before and after and `changes` = True when either differs.
    """
    records = []
    for claim in claims.sort_values("id").itertuples(index=False):
        rows, adjust = _of_claim(evidence, claim.id), _of_claim(adjustments, claim.id)
        before = _judge(claim, rows, adjust)
        scope = scope_of(claim)
        counted_as = outcomes(rows, scope) if len(rows) else []
        for (label, row), out in zip(rows.iterrows(), counted_as, strict=True):
            if out == NOT_COUNTED:
                continue
            for moved in _moves(STRENGTHS, row["strength"]):
                after = _judge(claim, rows.assign(strength=rows["strength"].where(
                    rows.index != label, moved)), adjust)
                records.append(_move("strength", row["id"], claim.id, row["strength"], moved,
                                     before, after))
        for label, adj in adjust.iterrows():
            levels = [-1] if adj["domain"] == NO_DOWNGRADE_DOMAIN else _moves(
                list(range(-2, 3)), int(adj["levels"]))
            for moved in levels:
                after = _judge(claim, rows, adjust.assign(levels=adjust["levels"].where(
                    adjust.index != label, moved)))
                records.append(_move("certainty levels", adj["id"], claim.id, int(adj["levels"]),
                                     moved, before, after))
    return pd.DataFrame.from_records(records, columns=SENSITIVITY_COLUMNS)


def _move(setting: str, row_id: object, claim_id: str, value: object, moved: object,
          before: tuple[str, str], after: tuple[str, str]) -> dict[str, object]:
    return {"setting": setting, "row_id": row_id, "claim_id": claim_id, "value": value,
            "moved_to": moved, "verdict": before[0], "new_verdict": after[0],
            "certainty": before[1], "new_certainty": after[1], "changes": before != after}


KNOB_COLUMNS = ["row_id", "claim_id", "setting", "value", "if_raised", "if_lowered"]
NO_CHANGE, CANNOT_MOVE = "no change", "(not moved)"


def _effect(move: pd.Series) -> str:
    """What one move changes, e.g. "verdict insufficient -> supported; certainty ..."."""
    parts = [f"{what} {move[what]} -> {move['new_' + what]}" for what in ("verdict", "certainty")
             if move[what] != move["new_" + what]]
    return "; ".join(parts) if parts else NO_CHANGE


def knob_table(moves: pd.DataFrame) -> pd.DataFrame:
    """One row per hand-set knob (from `sensitivity`): its value and what moving it one level up
    ("if_raised") or down ("if_lowered") changes. For certainty adjustments, raising means one
    level less downgrade."""
    records = []
    for (row_id, claim_id, setting), group in moves.groupby(["row_id", "claim_id", "setting"],
                                                            sort=True):
        value = group["value"].iloc[0]
        effects = {_direction(setting, value, move["moved_to"]): _effect(move)
                   for _, move in group.iterrows()}
        records.append({"row_id": row_id, "claim_id": claim_id, "setting": setting,
                        "value": value, "if_raised": effects.get("up", CANNOT_MOVE),
                        "if_lowered": effects.get("down", CANNOT_MOVE)})
    return pd.DataFrame.from_records(records, columns=KNOB_COLUMNS)


def _direction(setting: str, value: object, moved: object) -> str:
    if setting == "strength":
        return "up" if STRENGTH_RANK[str(moved)] > STRENGTH_RANK[str(value)] else "down"
    return "up" if int(moved) > int(value) else "down"  # type: ignore[call-overload]


def sensitivity_summary(moves: pd.DataFrame) -> pd.DataFrame:
    """Per setting: how many knobs and moves were tried, and how many moves change a verdict or
    a certainty rating."""
    grouped = moves.groupby("setting", sort=True)
    return pd.DataFrame({
        "knobs": grouped["row_id"].nunique(),
        "moves": grouped.size(),
        "verdict_changes": grouped.apply(lambda g: int((g["verdict"] != g["new_verdict"]).sum()),
                                         include_groups=False),
        "certainty_changes": grouped.apply(
            lambda g: int((g["certainty"] != g["new_certainty"]).sum()), include_groups=False),
    }).reset_index()


# --------------------------------------------------------------------------- summary of findings

MAX_KEY_NUMBERS = 2
UNNAMED_MEASURES = ("not_stated", "")  # pooled.measure values that name no measure
SUMMARY_COLUMNS = ["claim_id", "quote", "claim", "role", "verdict", "certainty", "key_numbers"]


def _num(value: object) -> str:
    """A number as printed in the summary: integers with thousands separators, else 2 dp."""
    number = float(value)  # type: ignore[arg-type]
    return f"{int(number):,}" if number.is_integer() else f"{number:.2f}"


def _est(value: object) -> str:
    """An estimate or interval bound: always two decimals."""
    return f"{float(value):.2f}"  # type: ignore[arg-type]


def _present(value: object) -> bool:
    return value is not None and value is not pd.NA and not (
        isinstance(value, float) and value != value) and str(value) != ""


def _pooled(row: pd.Series) -> str:
    measure = "" if row["measure"] in UNNAMED_MEASURES else f"{row['measure']} "
    text = f"{row['outcome']}: {measure}{_est(row['estimate'])}"
    if _present(row["ci_lb"]) and _present(row["ci_ub"]):
        text += f" ({_est(row['ci_lb'])} to {_est(row['ci_ub'])})"
    return text + (f", k = {_num(row['k'])}" if _present(row["k"]) else "")


def _outcome(row: pd.Series) -> str:
    value = row["mean"] if _present(row["mean"]) else row["median"]
    shown = f" {row['value_type']} {_est(value)}" if _present(value) else ""
    size = f" (n = {_num(row['n'])})" if _present(row["n"]) else ""
    return f"{row['outcome']}, {row['timepoint']}, {row['arm_role']} arm:{shown}{size}"


def _study(row: pd.Series) -> str:
    return f"{row['id']}: {_num(row['n_arms'])} arms, n = {_num(row['n_randomized'])}"


def _preclinical(row: pd.Series) -> str:
    parts = [f"{_num(row[c])} {label}" for c, label in (("k_studies", "studies"),
                                                        ("n_animals", "animals"))
             if _present(row[c])]
    return f"{row['id']}: " + ", ".join(parts) if parts else ""


def _cost(row: pd.Series) -> str:
    low, high = row["low"], row["high"]
    span = _num(low) if not _present(high) or low == high else f"{_num(low)} to {_num(high)}"
    return f"{row['currency']} {span} {row['unit']} ({row['year']})"


def _product(row: pd.Series) -> str:
    when = f", {row['date']:%Y}" if not pd.isna(row["date"]) else ""
    return f"{row['product']}: {row['event']} by {row['regulator']}{when}"


def _regulatory(row: pd.Series) -> str:
    if _present(row["number"]):
        return f"{row['regulator']}: {_num(row['number'])} {row['number_unit']}"
    when = f", {row['date']:%Y-%m-%d}" if not pd.isna(row["date"]) else ""
    return f"{row['regulator']} {row['kind']}{when}"


def _search(row: pd.Series) -> str:
    return f"search {row['id']}: {_num(row['n_relevant'])} relevant hits"


# table -> (key column, formatter). Tables not listed give no key number.
KEY_NUMBER_FORMATS: dict[str, tuple[str, Callable[[pd.Series], str]]] = {
    "pooled": ("id", _pooled), "outcomes": ("id", _outcome), "studies": ("id", _study),
    "preclinical": ("id", _preclinical), "costs": ("id", _cost), "products": ("id", _product),
    "regulatory": ("id", _regulatory), "searches": ("id", _search),
}
# How a key number is marked by what its row counts as (support is unmarked); a limited row
# keeps the mark of its direction after "indirect or weak".
KEY_NUMBER_MARKS = {CONTRADICTION: "against: ", NULL_RESULT: "no difference: "}
LIMITED_MARK = "indirect or weak"
DIRECTION_MARKS = {CONTRADICTS: ", against", NULL: ", no difference"}


def key_number_mark(counts_as: str, direction: str) -> str:
    """The prefix of a key number: "against: ", "indirect or weak, no difference: ", ..."""
    if counts_as == LIMITED:
        return f"{LIMITED_MARK}{DIRECTION_MARKS.get(direction, '')}: "
    return KEY_NUMBER_MARKS.get(counts_as, "")


def linked_tables(evidence: pd.DataFrame) -> list[str]:
    """Data tables that evidence rows with a direction point into and that give key numbers."""
    linked = evidence.loc[evidence["direction"] != NEUTRAL]
    names = set(linked.loc[linked["row_id"].map(_present), "table"].dropna())
    return sorted(names & set(KEY_NUMBER_FORMATS))


def _link_text(link: object, tables: Mapping[str, pd.DataFrame]) -> str:
    """Key-number text of the data row an evidence row links to ("" if it gives none)."""
    if link.table not in KEY_NUMBER_FORMATS or not _present(link.row_id):
        return ""
    if link.table not in tables:
        raise DataError(f"claim_evidence: row {link.id} links table {link.table!r}, "
                        "which was not loaded for the summary of findings")
    key, fmt = KEY_NUMBER_FORMATS[link.table]
    linked = tables[link.table]
    linked = linked.loc[linked[key] == link.row_id]
    if linked.empty:
        raise DataError(f"claim_evidence: row {link.id}, column 'row_id': no row "
                        f"{link.row_id!r} in {link.table}.csv")
    text = fmt(linked.iloc[0])
    return key_number_mark(link.counts_as, link.direction) + text if text else ""


def key_numbers(rows: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                scope: Scope = Scope(), limit: int = MAX_KEY_NUMBERS) -> str:
    """Short text built from the data rows linked by the rows that count for a claim.

    The strongest linked support and the strongest linked contradiction or null result come
    first (so a contested claim shows both sides), then the others, deciding rows before
    limited ones; at most `limit` distinct texts, each marked by what its row counts as
    (`key_number_mark`).
    """
    texts = [(link.counts_as, _link_text(link, tables))
             for link in deciding_rows(rows, scope).itertuples(index=False)]
    texts = [(kind, text) for kind, text in texts if text]
    leaders = [next((t for t in texts if t[0] in kinds), None)
               for kinds in ((SUPPORT,), (CONTRADICTION, NULL_RESULT))]
    ordered = [t for t in leaders if t is not None] + texts
    return "; ".join(list(dict.fromkeys(text for _, text in ordered))[:limit])


def summary_of_findings(tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per claim: verdict, certainty and key numbers from the linked data rows.

    `tables` maps table names to frames; missing ones are loaded with `mscfm.data.load`.
    """
    from mscfm import data

    given = dict(tables or {})
    for name in ("claims", "claim_evidence", "certainty"):
        given.setdefault(name, data.load(name))
    claims, evidence = given["claims"], given["claim_evidence"]
    for name in linked_tables(evidence):
        given.setdefault(name, data.load(name))
    table = ledger(claims, evidence, given["certainty"])
    scopes = {claim.id: scope_of(claim) for claim in claims.itertuples(index=False)}
    table["key_numbers"] = [key_numbers(_of_claim(evidence, c), given, scopes[c])
                            for c in table["claim_id"]]
    return table.loc[:, SUMMARY_COLUMNS]


def downgrades(ledger_table: pd.DataFrame, adjustments: pd.DataFrame,
               claims: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """The certainty rows that move a rated claim's level (levels not 0), with the computed
    start and the reasons, for claims in `ledger_table` that are rated; sorted by claim and id."""
    rated = ledger_table.loc[ledger_table["certainty"].isin(CERTAINTY_LEVELS), "claim_id"]
    rows = adjustments.loc[adjustments["claim_id"].isin(rated) & (adjustments["levels"] != 0)]
    rows = rows.sort_values(["claim_id", "id"], kind="stable")
    scopes = {claim.id: scope_of(claim) for claim in claims.itertuples(index=False)}
    starts = {c: start_level(_of_claim(evidence, c), scopes[c]) for c in set(rows["claim_id"])}
    rows = rows.assign(start=rows["claim_id"].map(starts))
    return rows.loc[:, ["claim_id", "start", "domain", "levels", "reason"]].reset_index(drop=True)


# --------------------------------------------------------------------------- chapter helpers


def select_claim_types(table: pd.DataFrame, claim_types: list[str]) -> pd.DataFrame:
    """Rows of `table` whose claim_type is listed; all rows when the list is empty."""
    unknown = sorted(set(claim_types) - set(CLAIM_TYPES))
    if unknown:
        raise ValueError(f"claim_types: unknown {unknown}; expected some of: "
                         f"{', '.join(CLAIM_TYPES)}")
    if not claim_types:
        return table.reset_index(drop=True)
    return table.loc[table["claim_type"].isin(claim_types)].reset_index(drop=True)


def at_least(table: pd.DataFrame, min_certainty: str) -> pd.DataFrame:
    """Rows whose certainty is `min_certainty` or higher on `CERTAINTY_LADDER` ("not rated" is
    the lowest, "established" the highest)."""
    if min_certainty not in CERTAINTY_LADDER:
        raise ValueError(f"min_certainty={min_certainty!r}; expected one of: "
                         f"{', '.join(CERTAINTY_LADDER)}")
    keep = table["certainty"].map(CERTAINTY_LADDER.index) >= CERTAINTY_LADDER.index(min_certainty)
    return table.loc[keep].reset_index(drop=True)


def slug(text: str) -> str:
    """A glue-name fragment: "not rated" -> "not_rated"."""
    return text.replace(" ", "_")


def counts_by(table: pd.DataFrame, column: str) -> dict[str, int]:
    """Claims per verdict, certainty label or role, every known value present, in order."""
    order = {"verdict": VERDICTS, "certainty": CERTAINTY_ORDER, "role": ROLES}[column]
    found = table[column].value_counts()
    return {value: int(found.get(value, 0)) for value in order}


def article_counts(claims: pd.DataFrame) -> dict[str, int]:
    """How the article was split: claims, FM-specific claims, claims per role, hedged claims,
    article sections and chapters."""
    roles = {f"n_{role}": n for role, n in counts_by(claims, "role").items()}
    return {
        "n_claims": len(claims),
        "n_fm_specific": int(claims["fm_specific"].sum()),
        **roles,
        "n_hedged": int(claims["hedge"].map(_present).sum()),
        "n_sections": int(claims["article_section"].nunique()),
        "n_chapters": int(claims["chapter"].nunique()),
    }


# Chapters that test claims (the claims.csv chapter enum, less the article chapter).
TESTING_CHAPTERS: tuple[str, ...] = ("02_fibromyalgia", "03_msc_biology", "04_inflammation",
                                     "05_preclinical", "06_trial_landscape", "07_efficacy",
                                     "08_safety", "09_regulation_cost", "10_future_trial",
                                     "11_verdicts")


def claim_ids_by_chapter(table: pd.DataFrame) -> dict[str, str]:
    """For each testing chapter, its claim ids as text ("C01, C02"; "none" if it has none)."""
    result = {}
    for chapter in TESTING_CHAPTERS:
        ids = sorted(table.loc[table["chapter"] == chapter, "claim_id"])
        result[chapter] = ", ".join(ids) if ids else "none"
    return result


def headline_counts(table: pd.DataFrame) -> dict[str, int]:
    """The headline: the claims that make the article's case (role "case"), in all and per
    verdict (keys n_case_claims, n_case_<verdict>). Premises, support and concessions are
    counted separately (`role_verdict_counts`)."""
    case = case_claims(table)
    counts = {f"n_case_{slug(v)}": n for v, n in counts_by(case, "verdict").items()}
    return {"n_case_claims": len(case), **counts}


def verdict_breakdown(table: pd.DataFrame) -> str:
    """The verdicts of some claims as prose, best first, zeros left out: "9 supported,
    1 insufficient, 1 contradicted" ("no claims" when the table is empty). Verdict names read
    the same for one claim and for many."""
    parts = [f"{n} {v}" for v, n in counts_by(table, "verdict").items() if n]
    return ", ".join(parts) if parts else "no claims"


def role_verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """Claims per role and verdict, keys n_<role>_<verdict>, every combination present."""
    return {f"n_{role}_{slug(v)}": n for role, part in by_role(table).items()
            for v, n in counts_by(part, "verdict").items()}


def quoted(text: str) -> str:
    """The article's words marked as a quote for display: “text”."""
    return f"\u201c{text}\u201d"


def claim_list(table: pd.DataFrame, role: str, verdict_name: str) -> str:
    """The claims of one role with one verdict, as prose: "C22 (People with ...)"; "none"."""
    rows = table.loc[(table["role"] == role) & (table["verdict"] == verdict_name)]
    items = [f"{row.claim_id} ({row.claim.rstrip('.')})"
             for row in rows.sort_values("claim_id").itertuples(index=False)]
    return "; ".join(items) if items else "none"


CLINICAL_FM_SCOPES: tuple[str, ...] = ("clinical FM", "clinical FM / registry")


def clinical_fm_searches(searches: pd.DataFrame) -> dict[str, int]:
    """Recorded searches for clinical studies of MSCs in FM: how many, and the relevant hits."""
    rows = searches.loc[searches["scope"].isin(CLINICAL_FM_SCOPES)]
    return {"n_fm_searches": len(rows), "n_fm_search_hits": int(rows["n_relevant"].sum())}
