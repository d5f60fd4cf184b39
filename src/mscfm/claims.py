"""The claims ledger: verdict rules and a GRADE-like certainty, applied in code to the data.

Every claim of the article gets exactly one verdict from the rules in `RULES`, computed from its
rows in data/claim_evidence.csv (evidence_kind, direction, strength) and its scope in
data/claims.csv (fm_specific, claim_type). The rules are printed verbatim on the methods page
(`rules_markdown()`); a test keeps the page and the code identical. Certainty starts from the
level in data/certainty.csv and adds the `levels` of each of the claim's rows there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from mscfm.errors import DataError

# --------------------------------------------------------------------------- vocabulary

DIRECT_FM, DOCUMENTARY = "direct_fm", "documentary"
INDIRECT_CONDITION, INDIRECT_PRECLINICAL = "indirect_condition", "indirect_preclinical"
REGISTRY, SEARCH_NULL = "registry", "search_null"
EVIDENCE_KINDS: tuple[str, ...] = (DIRECT_FM, DOCUMENTARY, INDIRECT_CONDITION,
                                   INDIRECT_PRECLINICAL, REGISTRY, SEARCH_NULL)
SUPPORTS, CONTRADICTS, NEUTRAL = "supports", "contradicts", "neutral"
DIRECTIONS: tuple[str, ...] = (SUPPORTS, CONTRADICTS, NEUTRAL)
STRENGTH_RANK: dict[str, int] = {"weak": 1, "moderate": 2, "strong": 3}  # larger = stronger

# Display order, from best to worst news for the article.
VERDICTS: tuple[str, ...] = ("supported", "partly supported", "indirect", "unsupported",
                             "contradicted")

# GRADE-like levels, lowest first. "no evidence": no row supports or contradicts the claim.
CERTAINTY_LEVELS: tuple[str, ...] = ("very low", "low", "moderate", "high")
NO_EVIDENCE = "no evidence"
CERTAINTY_ORDER: tuple[str, ...] = (*reversed(CERTAINTY_LEVELS), NO_EVIDENCE)
# Starting level when certainty.csv has no row for a claim: GRADE starts non-randomized
# evidence at "low", and the evidence kinds do not record randomization.
DEFAULT_START = "low"
NO_DOWNGRADE_DOMAIN = "none"


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """What a claim is about, which decides which evidence kinds are direct for it."""

    fm_specific: bool = True
    claim_type: str = "clinical_efficacy"


def direct_kinds(scope: Scope) -> frozenset[str]:
    """Kinds that count as direct evidence for a claim of this scope."""
    kinds = {DIRECT_FM, DOCUMENTARY}
    if not scope.fm_specific:
        kinds.add(INDIRECT_CONDITION)  # a claim about MSCs in general: any human condition
    if scope.claim_type == "preclinical":
        kinds.add(INDIRECT_PRECLINICAL)  # a claim about animal research: animal studies
    return frozenset(kinds)


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class EvidenceFacts:
    """What the rules look at. Strengths are ranks (0 = no such row)."""

    support: int  # strongest supporting row
    contradiction: int  # strongest contradicting row
    direct_support: bool  # a supporting row is direct for the claim's scope


def _row_ids(rows: pd.DataFrame) -> list[str]:
    return [str(v) for v in rows["id"]] if "id" in rows.columns else [str(i) for i in rows.index]


def check_rows(rows: pd.DataFrame) -> None:
    """Refuse values outside the vocabulary, naming the row and column."""
    for column, allowed in (("evidence_kind", EVIDENCE_KINDS), ("direction", DIRECTIONS),
                            ("strength", tuple(STRENGTH_RANK))):
        if column not in rows.columns:
            raise DataError(f"claim_evidence: missing column {column!r}")
        for row_id, value in zip(_row_ids(rows), rows[column], strict=True):
            if value not in allowed:
                raise DataError(f"claim_evidence: row {row_id}, column {column!r}: expected one "
                                f"of {', '.join(allowed)}; found {value!r}")


def counted(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows that count for a verdict: supporting or contradicting, and not a null search."""
    keep = (rows["evidence_kind"] != SEARCH_NULL) & rows["direction"].isin([SUPPORTS, CONTRADICTS])
    return rows.loc[keep]


def facts(rows: pd.DataFrame, scope: Scope = Scope()) -> EvidenceFacts:
    """Summarize one claim's evidence rows for the rules."""
    check_rows(rows)
    rows = counted(rows)
    ranks = rows["strength"].map(STRENGTH_RANK)
    pro = rows["direction"] == SUPPORTS
    con = rows["direction"] == CONTRADICTS
    direct = rows["evidence_kind"].isin(direct_kinds(scope))
    return EvidenceFacts(
        support=int(ranks[pro].max()) if pro.any() else 0,
        contradiction=int(ranks[con].max()) if con.any() else 0,
        direct_support=bool((pro & direct).any()),
    )


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    verdict: str
    description: str
    predicate: Callable[[EvidenceFacts], bool]


# Mutually exclusive and together total: for any evidence exactly one predicate holds (tested).
RULES: list[Rule] = [
    Rule("contradicted",
         "at least one row contradicts the claim, and the strongest contradicting row is at "
         "least as strong as the strongest supporting row (or no row supports it).",
         lambda f: f.contradiction > 0 and f.contradiction >= f.support),
    Rule("partly supported",
         "at least one row contradicts the claim, but some supporting row is stronger than "
         "every contradicting row.",
         lambda f: 0 < f.contradiction < f.support),
    Rule("supported",
         "no row contradicts the claim, and at least one supporting row is direct for it.",
         lambda f: f.contradiction == 0 and f.direct_support),
    Rule("indirect",
         "no row contradicts the claim, and rows support it, but none of them is direct for it.",
         lambda f: f.contradiction == 0 and f.support > 0 and not f.direct_support),
    Rule("unsupported",
         "no row supports or contradicts the claim: it has no evidence rows, or only records of "
         "searches that found nothing, or only neutral rows.",
         lambda f: f.contradiction == 0 and f.support == 0),
]


def matching_rules(evidence_facts: EvidenceFacts) -> list[Rule]:
    return [rule for rule in RULES if rule.predicate(evidence_facts)]


def verdict(rows: pd.DataFrame, scope: Scope = Scope()) -> str:
    """The verdict for one claim's evidence rows (possibly none)."""
    evidence_facts = facts(rows, scope)
    matches = matching_rules(evidence_facts)
    if len(matches) != 1:  # cannot happen while the rules are total and exclusive
        raise AssertionError(f"{len(matches)} verdict rules match {evidence_facts}")
    return matches[0].verdict


def rules_markdown() -> str:
    """The rules as Markdown (an explanation and a numbered list), verbatim on the methods page."""
    def code(values: tuple[str, ...] | list[str]) -> str:
        return ", ".join(f"`{v}`" for v in values)

    strengths = sorted(STRENGTH_RANK, key=STRENGTH_RANK.__getitem__)
    lines = [
        "Each claim's verdict is computed from its rows in the claim-evidence table. A row has a "
        f"kind ({code(EVIDENCE_KINDS)}), a direction ({code(DIRECTIONS)}) and a strength "
        f"({code(strengths)}, weakest first). Rows of kind `{SEARCH_NULL}` and rows with "
        f"direction `{NEUTRAL}` never count as support or contradiction.",
        "",
        "Whether a row is *direct* depends on what the claim is about. Rows of kind "
        f"`{DIRECT_FM}` (people with fibromyalgia, or fibromyalgia itself) and `{DOCUMENTARY}` "
        "(a definition, regulator text, product record or price) are direct for every claim. "
        f"Rows of kind `{INDIRECT_CONDITION}` (people with other conditions) are also direct for "
        "a claim that is not specific to fibromyalgia, and rows of kind "
        f"`{INDIRECT_PRECLINICAL}` (animals or cells) are also direct for a claim about "
        f"preclinical research. All other rows, including every `{REGISTRY}` row, are indirect.",
        "",
        "The rules are mutually exclusive and together cover every case, so each claim gets "
        "exactly one verdict:",
        "",
    ]
    lines += [f"{i}. **{rule.verdict}**: {rule.description}" for i, rule in enumerate(RULES, 1)]
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


def _start(adjustments: pd.DataFrame) -> str:
    if adjustments.empty:
        return DEFAULT_START
    starts = sorted(set(adjustments["start"]))
    if len(starts) != 1:
        raise DataError(f"certainty: rows {', '.join(_row_ids(adjustments))} of one claim give "
                        f"different start levels {starts}; expected one")
    if starts[0] not in CERTAINTY_LEVELS:
        raise DataError(f"certainty: rows {', '.join(_row_ids(adjustments))}, column 'start': "
                        f"expected one of {', '.join(CERTAINTY_LEVELS)}; found {starts[0]!r}")
    return str(starts[0])


def certainty(rows: pd.DataFrame, adjustments: pd.DataFrame) -> Certainty:
    """GRADE-like certainty of one claim's evidence: the start level plus each row's `levels`,
    clamped to very low .. high; "no evidence" when no row supports or contradicts the claim.

    `adjustments` are the claim's rows of certainty.csv (start, domain, levels, reason).
    """
    if counted(rows).empty:
        return Certainty(NO_EVIDENCE, None, ())
    start = _start(adjustments)
    steps = tuple((str(a.domain), int(a.levels), str(a.reason))
                  for a in adjustments.itertuples(index=False))
    index = CERTAINTY_LEVELS.index(start) + sum(levels for _, levels, _ in steps)
    return Certainty(clamp_level(index), start, steps)


# --------------------------------------------------------------------------- ledger

LEDGER_COLUMNS = ["claim_id", "claim", "claim_type", "chapter", "verdict", "certainty",
                  "n_evidence", "key_sources"]
MAX_KEY_SOURCES = 3


def _of_claim(frame: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    return frame.loc[frame["claim_id"] == claim_id]


def scope_of(claim: object) -> Scope:
    return Scope(fm_specific=bool(getattr(claim, "fm_specific", True)),
                 claim_type=str(getattr(claim, "claim_type", "")))


def key_sources(rows: pd.DataFrame, limit: int = MAX_KEY_SOURCES) -> str:
    """Distinct sources of the rows that decide the verdict, strongest row first, at most
    `limit` of them ("+ n more" says how many were left out)."""
    decisive = counted(rows)
    decisive = decisive.assign(_rank=decisive["strength"].map(STRENGTH_RANK))
    decisive = decisive.sort_values(["_rank", "id"], ascending=[False, True], kind="stable")
    sources = list(dict.fromkeys(str(s) for s in decisive["source"] if isinstance(s, str) and s))
    shown = "; ".join(sources[:limit])
    return shown + (f" + {len(sources) - limit} more" if len(sources) > limit else "")


def ledger(claims: pd.DataFrame, evidence: pd.DataFrame,
           adjustments: pd.DataFrame) -> pd.DataFrame:
    """One row per claim with its verdict and certainty, sorted by claim id."""
    records = []
    for claim in claims.sort_values("id").itertuples(index=False):
        rows = _of_claim(evidence, claim.id)
        rating = certainty(rows, _of_claim(adjustments, claim.id))
        records.append({
            "claim_id": claim.id, "claim": claim.claim, "claim_type": claim.claim_type,
            "chapter": claim.chapter, "verdict": verdict(rows, scope_of(claim)),
            "certainty": rating.level, "n_evidence": len(rows), "key_sources": key_sources(rows),
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


def crosstab(table: pd.DataFrame, rows: str, columns: str) -> pd.DataFrame:
    """Claim counts by two ledger columns; verdict and certainty columns in their fixed order.

    Rows: the values present, known values (claim types, verdicts, certainty levels) in their
    order, then any others sorted. Columns: every known verdict or certainty level, zero when
    absent (other columns sorted).
    """
    orders: Mapping[str, tuple[str, ...]] = {"verdict": VERDICTS, "certainty": CERTAINTY_ORDER,
                                             "claim_type": CLAIM_TYPES}
    counts = pd.crosstab(table[rows], table[columns])
    column_order = list(orders.get(columns, sorted(counts.columns)))
    counts = counts.reindex(columns=column_order, fill_value=0)
    row_values = list(counts.index)
    known = orders.get(rows, ())
    row_order = [v for v in known if v in row_values] + sorted(set(row_values) - set(known))
    counts = counts.reindex(index=row_order)
    counts.index.name, counts.columns.name = rows, columns
    return counts.astype(int)


# --------------------------------------------------------------------------- summary of findings

MAX_KEY_NUMBERS = 2
UNNAMED_MEASURES = ("not_stated", "")  # pooled.measure values that name no measure
SUMMARY_COLUMNS = ["claim_id", "claim", "verdict", "certainty", "key_numbers"]


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


def linked_tables(evidence: pd.DataFrame) -> list[str]:
    """Data tables that decisive evidence rows point into and that give key numbers."""
    decisive = counted(evidence)
    names = set(decisive.loc[decisive["row_id"].map(_present), "table"].dropna())
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
    return f"against: {text}" if text and link.direction == CONTRADICTS else text


def key_numbers(rows: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                limit: int = MAX_KEY_NUMBERS) -> str:
    """Short text built from the data rows linked by a claim's decisive evidence.

    The strongest linked supporting row and the strongest linked contradicting row come first
    (so a contested claim shows both sides), then the others by strength; at most `limit`
    distinct texts. Contradicting rows are marked "against:".
    """
    decisive = counted(rows)
    decisive = decisive.assign(_rank=decisive["strength"].map(STRENGTH_RANK))
    decisive = decisive.sort_values(["_rank", "id"], ascending=[False, True], kind="stable")
    texts = [(link.direction, _link_text(link, tables))
             for link in decisive.itertuples(index=False)]
    texts = [(direction, text) for direction, text in texts if text]
    leaders = [next((t for t in texts if t[0] == d), None) for d in (SUPPORTS, CONTRADICTS)]
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
    table["key_numbers"] = [key_numbers(_of_claim(evidence, c), given) for c in table["claim_id"]]
    return table.loc[:, SUMMARY_COLUMNS]


def downgrades(ledger_table: pd.DataFrame, adjustments: pd.DataFrame) -> pd.DataFrame:
    """The certainty rows that move a rated claim's level (levels not 0), with their reasons,
    for claims in `ledger_table` whose certainty is not "no evidence"; sorted by claim and id."""
    rated = ledger_table.loc[ledger_table["certainty"] != NO_EVIDENCE, "claim_id"]
    rows = adjustments.loc[adjustments["claim_id"].isin(rated) & (adjustments["levels"] != 0)]
    rows = rows.sort_values(["claim_id", "id"], kind="stable")
    return rows.loc[:, ["claim_id", "start", "domain", "levels", "reason"]].reset_index(drop=True)


def certainty_markdown() -> str:
    """How certainty is rated, as Markdown, verbatim on the methods page."""
    levels = ", ".join(f"*{level}*" for level in CERTAINTY_ORDER[:-1])
    return (
        "The strength of the evidence behind each verdict is rated in the spirit of GRADE, on "
        f"four levels ({levels}). Each claim's rows in the certainty table name a starting "
        "level (*high* when the best evidence comes from randomized trials, *low* otherwise) "
        "and one adjustment each: a domain (risk of bias, inconsistency, indirectness, "
        "imprecision, publication bias, or an upgrade for a large effect), the number of "
        "levels it moves (negative for a downgrade) and a one-line reason. The rating is the "
        "starting level plus the sum of the adjustments, held within *very low* and *high*. A "
        f"claim with no certainty rows starts at *{DEFAULT_START}* with no adjustment. A claim "
        "with no row that supports or contradicts it is rated "
        f"*{NO_EVIDENCE}*. The adjustments and their reasons are listed, claim by claim, "
        "in the chapter on verdicts.\n"
    )


# --------------------------------------------------------------------------- chapter helpers

CLAIM_TYPES: tuple[str, ...] = ("background", "mechanism", "preclinical", "clinical_efficacy",
                                "safety", "feasibility_regulatory")


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
    """Rows whose certainty is `min_certainty` or higher ("no evidence" is the lowest)."""
    ladder = (NO_EVIDENCE, *CERTAINTY_LEVELS)
    if min_certainty not in ladder:
        raise ValueError(f"min_certainty={min_certainty!r}; expected one of: {', '.join(ladder)}")
    keep = table["certainty"].map(ladder.index) >= ladder.index(min_certainty)
    return table.loc[keep].reset_index(drop=True)


def slug(text: str) -> str:
    """A glue-name fragment: "partly supported" -> "partly_supported"."""
    return text.replace(" ", "_")


def counts_by(table: pd.DataFrame, column: str) -> dict[str, int]:
    """Claims per verdict or certainty level, every known value present, in display order."""
    order = {"verdict": VERDICTS, "certainty": CERTAINTY_ORDER}[column]
    found = table[column].value_counts()
    return {value: int(found.get(value, 0)) for value in order}


def article_counts(claims: pd.DataFrame) -> dict[str, int]:
    """How the article was split: claims, FM-specific claims, article sections, and claims
    taken from the part of the article that was read (evidence_level primary)."""
    return {
        "n_claims": len(claims),
        "n_fm_specific": int(claims["fm_specific"].sum()),
        "n_sections": int(claims["article_section"].nunique()),
        "n_read": int((claims["evidence_level"] == "primary").sum()),
        "n_not_read": int((claims["evidence_level"] != "primary").sum()),
        "n_chapters": int(claims["chapter"].nunique()),
    }


# Chapters that test claims (the claims.csv chapter enum, less this chapter and the verdicts).
TESTING_CHAPTERS: tuple[str, ...] = ("02_fibromyalgia", "03_msc_biology", "04_inflammation",
                                     "05_preclinical", "06_trial_landscape", "07_efficacy",
                                     "08_safety", "09_regulation_cost", "10_future_trial")


def claim_ids_by_chapter(table: pd.DataFrame) -> dict[str, str]:
    """For each testing chapter, its claim ids as text ("C01, C02"; "none" if it has none)."""
    result = {}
    for chapter in TESTING_CHAPTERS:
        ids = sorted(table.loc[table["chapter"] == chapter, "claim_id"])
        result[chapter] = ", ".join(ids) if ids else "none"
    return result


CORE_TYPES: tuple[str, ...] = ("mechanism", "clinical_efficacy")


def fm_core_counts(claims: pd.DataFrame, table: pd.DataFrame) -> dict[str, int]:
    """The article's core argument: FM-specific claims of how MSCs act or whether they help
    (types mechanism and clinical_efficacy), in all and per verdict (keys n_core_<verdict>)."""
    core_ids = claims.loc[claims["fm_specific"] & claims["claim_type"].isin(CORE_TYPES), "id"]
    core = table.loc[table["claim_id"].isin(core_ids)]
    counts = {f"n_core_{slug(v)}": n for v, n in counts_by(core, "verdict").items()}
    return {"n_core": len(core), **counts}


CLINICAL_FM_SCOPES: tuple[str, ...] = ("clinical FM", "clinical FM / registry")


def clinical_fm_searches(searches: pd.DataFrame) -> dict[str, int]:
    """Recorded searches for clinical studies of MSCs in FM: how many, and the relevant hits."""
    rows = searches.loc[searches["scope"].isin(CLINICAL_FM_SCOPES)]
    return {"n_fm_searches": len(rows), "n_fm_search_hits": int(rows["n_relevant"].sum())}
