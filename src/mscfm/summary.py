"""The landing page: the findings first, in plain words, every number computed from the data.

`numbers()` gathers every value the summary prose quotes (the page glues each under its key);
`key_findings()` is the one-screen table of the claims that make the article's case, and
`legend()` explains its marks. Each verdict is shown as a symbol and its word beside its colour
(`VERDICT_MARKS`, the colours of `mscfm.plots.verdicts.VERDICT_STYLE`), so the table reads the
same in grey print. The pooled pain estimate is the one chapter 07 shows for the same parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from mscfm import claims, efficacy, evidence, regulation
from mscfm.errors import DataError
from mscfm.language import count, plural
from mscfm.plots.verdicts import VERDICT_STYLE

# A symbol per verdict, printed before the verdict's word: the cue that is not colour.
VERDICT_MARKS: dict[str, str] = {
    "supported": "✓",
    "mixed": "±",
    "insufficient": "?",
    "unsupported": "–",
    "contradicted": "×",
}
TINT = 0.35  # share of the verdict's colour in a cell's background (the rest white): black
#              text stays legible on every tint, on screen and in print
# The claim that pain fell in MSC studies of chronic pain: its certainty goes with the estimate.
PAIN_CLAIM = "C32"
PAIN_CHAPTER = "07_efficacy"
CONDITION_NAMES: dict[str, str] = {"knee OA": "knee osteoarthritis",
                                   "all": "all the chronic pain conditions curated"}
TABLES: tuple[str, ...] = ("article", "claims", "claim_evidence", "certainty", "searches",
                           "registry", "products", "outcomes", "studies")
KEY_COLUMNS = ["claim_id", "claim", "verdict_label", "certainty", "chapter_number"]
LEGEND_COLUMNS = ["verdict_label", "meaning"]


def _check_verdicts(verdicts: Sequence[str]) -> None:
    unknown = sorted(set(verdicts) - set(VERDICT_MARKS))
    if unknown:
        raise ValueError(f"verdict(s) {', '.join(unknown)} have no mark; expected one of: "
                         f"{', '.join(VERDICT_MARKS)}")


def verdict_label(verdict: str) -> str:
    """The verdict as the key findings show it: its symbol, a no-break space (the two never
    part at a line end), then its word ("? insufficient")."""
    _check_verdicts([verdict])
    return f"{VERDICT_MARKS[verdict]}\u00a0{verdict}"


def tint(colour: str, share: float = TINT) -> str:
    """`colour` (#RRGGBB) mixed with white, `share` of it kept: "#0072B2" -> "#A6CCE5"."""
    channels = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 - share * (255 - c)) for c in channels]
    return "#" + "".join(f"{c:02X}" for c in mixed)


def verdict_colours(verdicts: Sequence[str]) -> list[str]:
    """The background colour of each verdict's cell: a tint of its colour in the figures."""
    _check_verdicts(list(verdicts))
    return [tint(VERDICT_STYLE[v][0]) for v in verdicts]


def chapter_number(chapter: str) -> str:
    """The chapter's number in the book ("07_efficacy" -> "7")."""
    return str(int(chapter.split("_", 1)[0]))


def key_findings(case: pd.DataFrame) -> pd.DataFrame:
    """One row per claim of the article's case (`claims.fm_case_verdicts()` or the ledger's case
    rows): id, our wording, the marked verdict, certainty, the number of the chapter that tests
    it; `colour` holds each verdict cell's background."""
    rows = claims.case_claims(case) if "role" in case else case.sort_values("claim_id")
    return pd.DataFrame({
        "claim_id": rows["claim_id"].to_list(),
        "claim": rows["claim"].to_list(),
        "verdict": rows["verdict"].to_list(),
        "verdict_label": [verdict_label(v) for v in rows["verdict"]],
        "certainty": rows["certainty"].to_list(),
        "chapter_number": [chapter_number(c) for c in rows["chapter"]],
        "colour": verdict_colours(list(rows["verdict"])),
    })


def legend() -> pd.DataFrame:
    """Every verdict, best news for the article first: its mark and word, its colour, what it
    means (the definitions of the methods page, `claims.VERDICT_LEVELS`)."""
    verdicts = list(claims.VERDICT_LEVELS)
    return pd.DataFrame({
        "verdict": verdicts,
        "verdict_label": [verdict_label(v) for v in verdicts],
        "meaning": [claims.VERDICT_LEVELS[v][:1].upper() + claims.VERDICT_LEVELS[v][1:]
                    for v in verdicts],
        "colour": verdict_colours(verdicts),
    })


# --------------------------------------------------------------------------- the numbers


@dataclass(frozen=True)
class PainSettings:
    """The analysis of chapter 07 the summary quotes (the same parameter names and defaults)."""

    outcome: str = "pain"
    timepoint_months: float = 6.0
    measure: str = "MD"
    method: str = "REML"
    test: str = "knha"
    condition: str = "knee OA"
    value_type: str = "change"
    combine_value_types: bool = True


def pain_sentence(outcomes: pd.DataFrame, studies: pd.DataFrame,
                  settings: PainSettings = PainSettings()) -> str:
    """The pooled pain estimate of chapter 07 in one plain sentence, or why there is none."""
    where = CONDITION_NAMES.get(settings.condition, settings.condition)
    try:
        analysis = efficacy.analyse(outcomes, studies, settings.outcome,
                                    settings.timepoint_months, settings.measure, settings.method,
                                    settings.test, settings.condition, settings.value_type,
                                    combine_value_types=settings.combine_value_types)
    except efficacy.TooFewStudiesError as too_few:
        return (f"In {where}, {count(too_few.selection.k, 'controlled trial')} curated here "
                f"report {settings.outcome} at {settings.timepoint_months:g} months, too few "
                f"to pool.")
    r = analysis.result
    if r.ci_lb <= 0 <= r.ci_ub:
        reading = "the interval includes no difference at all"
    elif r.ci_ub < 0:
        reading = "the whole interval favours MSC"
    else:
        reading = "the whole interval favours the control treatment"
    return (f"In {where}, pooling the {count(r.k, 'controlled trial')} curated here that "
            f"report {settings.outcome} at {settings.timepoint_months:g} months gives a "
            f"{efficacy.MEASURE_NAMES[analysis.measure]} of {r.estimate:.1f} "
            f"{analysis.unit} for MSC minus control (95% confidence interval {r.ci_lb:.1f} "
            f"to {r.ci_ub:.1f}; negative values favour MSC): {reading}.")


def authors(article: pd.DataFrame) -> str:
    """The article's byline as a phrase: "Robles-Rivera G. and Muñoz-Gutiérrez Y."."""
    names = [n.strip() for n in _property(article, "authors").split(";") if n.strip()]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _property(article: pd.DataFrame, name: str) -> str:
    values = article.loc[article["property"] == name, "value"]
    if values.empty:
        raise DataError(f"article.csv: no row with property {name!r}")
    return str(values.iloc[0])


def _claim(ledger: pd.DataFrame, claim_id: str, chapter: str) -> pd.Series:
    rows = ledger.loc[ledger["claim_id"] == claim_id]
    if rows.empty or rows["chapter"].iloc[0] != chapter:
        raise DataError(f"claims.csv: claim {claim_id} (tested in {chapter}) not found; "
                        f"mscfm.summary quotes its verdict")
    return rows.iloc[0]


def changed_case_verdicts(moves: pd.DataFrame, case_ids: Sequence[str]) -> int:
    """Claims of the case whose verdict changes when one hand-set judgement moves one level
    (`claims.sensitivity`)."""
    changed = moves.loc[(moves["verdict"] != moves["new_verdict"])
                        & moves["claim_id"].isin(list(case_ids)), "claim_id"]
    return int(changed.nunique())


def headline(n_case_claims: int, n_case_supported: int, n_fm_trials: int) -> str:
    """The answer in one sentence, from the counts it rests on."""
    supported = (f"none of the {n_case_claims} claims that make the article's case for MSCs in "
                 f"fibromyalgia is supported by the evidence" if n_case_supported == 0 else
                 f"{n_case_supported} of the {n_case_claims} claims that make the article's "
                 f"case for MSCs in fibromyalgia {plural(n_case_supported, 'is')} supported by "
                 f"the evidence")
    trials = ("none of the registered MSC trials lists fibromyalgia as its condition" if
              n_fm_trials == 0 else f"{count(n_fm_trials, 'registered MSC trial')} "
              f"{plural(n_fm_trials, 'lists', 'list')} fibromyalgia as its condition")
    return f"In short: {supported}, and {trials}."


def numbers(tables: Mapping[str, pd.DataFrame],
            settings: PainSettings = PainSettings()) -> dict[str, object]:
    """Every value the landing page quotes, by its glue name. `tables` holds the `TABLES`
    (data.load of each)."""
    missing = [name for name in TABLES if name not in tables]
    if missing:
        raise ValueError(f"summary.numbers: tables missing: {', '.join(missing)}")
    ledger = claims.ledger(tables["claims"], tables["claim_evidence"], tables["certainty"])
    case = claims.case_claims(ledger)
    roles = claims.by_role(ledger)
    moves = claims.sensitivity(tables["claims"], tables["claim_evidence"], tables["certainty"])
    pain_claim = _claim(ledger, PAIN_CLAIM, PAIN_CHAPTER)
    products = tables["products"]
    values: dict[str, object] = {
        "s_authors": authors(tables["article"]),
        "s_year": _property(tables["article"], "date"),
        "s_n_claims": len(ledger),
        **{f"s_{name}": n for name, n in claims.headline_counts(ledger).items()},
        "s_case_breakdown": claims.verdict_breakdown(case),
        **{f"s_n_case_cert_{claims.slug(level)}": n
           for level, n in claims.counts_by(case, "certainty").items()},
        "s_n_case_changed": changed_case_verdicts(moves, list(case["claim_id"])),
        "s_n_premise": len(roles["premise"]),
        "s_n_premise_contradicted": int((roles["premise"]["verdict"] == "contradicted").sum()),
        "s_premise_contradicted_list": claims.claim_list(ledger, "premise", "contradicted"),
        "s_n_concession": len(roles["concession"]),
        "s_concession_breakdown": claims.verdict_breakdown(roles["concession"]),
        "s_n_registry": len(tables["registry"]),
        "s_snapshot": evidence.read_snapshot_month(),
        "s_n_fm_trials": len(evidence.fm_condition_trials(tables["registry"])),
        **{f"s_{name}": n for name, n in claims.clinical_fm_searches(tables["searches"]).items()},
        "s_fm_studies_found": count(
            claims.clinical_fm_searches(tables["searches"])["n_fm_search_hits"], "study"),
        "s_pain_sentence": pain_sentence(tables["outcomes"], tables["studies"], settings),
        "s_pain_claim": str(pain_claim["claim"]).rstrip("."),
        "s_pain_verdict": str(pain_claim["verdict"]),
        "s_pain_certainty": str(pain_claim["certainty"]),
        "s_n_products": regulation.counts(products)["products"],
        "s_n_products_fm_pain": regulation.count_indications(products),
    }
    values["s_headline"] = headline(int(values["s_n_case_claims"]),  # type: ignore[call-overload]
                                    int(values["s_n_case_supported"]),  # type: ignore[call-overload]
                                    int(values["s_n_fm_trials"]))  # type: ignore[call-overload]
    return values
