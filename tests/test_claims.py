"""Verdict rules and certainty of `mscfm.claims`, on small synthetic ledgers and on the real data.

Synthetic rows use the vocabulary constants of the module, so a renamed kind or strength changes
the fixtures with it; the expected verdicts are written here from the rules' wording. Each of the
eight rules of the methods page has a test named `test_rule_N_...` that fails if the rule is
removed from the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mscfm import claims
from mscfm.claims import CONTRADICTS, NEUTRAL, NULL, SUPPORTS
from mscfm.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
DIRECT = claims.DIRECT_FM
NULL_SEARCH = claims.SEARCH_NULL
WEAK, MODERATE, STRONG = claims.STRENGTHS
EVIDENCE_COLUMNS = ["id", "claim_id", "evidence_kind", "design", "read", "measures", "direction",
                    "ci_excludes_null", "strength", "source"]

EFFICACY_FM = claims.Scope(fm_specific=True, claim_type="clinical_efficacy")
EFFICACY_GENERAL = claims.Scope(fm_specific=False, claim_type="clinical_efficacy")
MECHANISM_GENERAL = claims.Scope(fm_specific=False, claim_type="mechanism")
BACKGROUND_GENERAL = claims.Scope(fm_specific=False, claim_type="background")
BACKGROUND_FM = claims.Scope(fm_specific=True, claim_type="background")
PRECLINICAL_FM = claims.Scope(fm_specific=True, claim_type="preclinical")
SAFETY_GENERAL = claims.Scope(fm_specific=False, claim_type="safety")


@dataclass(frozen=True)
class R:
    """A synthetic evidence row; the defaults make a direct, randomized, supporting row."""

    direction: str = SUPPORTS
    strength: str = MODERATE
    kind: str = DIRECT
    design: str = claims.RANDOMIZED
    read: str = "abstract"
    measures: str = claims.EFFICACY
    ci: bool | None = True


def evidence(*rows: R, claim_id: str = "C01") -> pd.DataFrame:
    """Evidence rows for one claim, with ids E01, E02, ..."""
    records = [(f"E{i:02d}", claim_id, r.kind, r.design, r.read, r.measures, r.direction,
                pd.NA if r.ci is None else r.ci, r.strength, f"src{i}")
               for i, r in enumerate(rows, 1)]
    frame = pd.DataFrame.from_records(records, columns=EVIDENCE_COLUMNS)
    return frame.astype({"ci_excludes_null": "boolean"})


def adjustments(*rows: tuple[str, int, str], claim_id: str = "C01") -> pd.DataFrame:
    """certainty.csv rows (domain, levels, reason) for one claim."""
    records = [(f"Q{i:03d}", claim_id, domain, levels, reason)
               for i, (domain, levels, reason) in enumerate(rows, 1)]
    return pd.DataFrame.from_records(records, columns=["id", "claim_id", "domain", "levels",
                                                       "reason"])


def verdict(*rows: R, scope: claims.Scope = EFFICACY_FM) -> str:
    return claims.verdict(evidence(*rows), scope)


# --------------------------------------------------------------------------- verdict levels


@pytest.mark.parametrize("rows, expected", [
    ([R()], "supported"),
    ([R(strength=STRONG), R(CONTRADICTS, MODERATE)], "mixed"),
    ([R(strength=WEAK)], "insufficient"),
    ([R(NULL, STRONG, ci=False)], "unsupported"),
    ([], "unsupported"),
    ([R(CONTRADICTS, STRONG)], "contradicted"),
    ([R(strength=MODERATE), R(CONTRADICTS, MODERATE)], "contradicted"),
    ([R(strength=MODERATE), R(NULL, MODERATE, ci=False)], "insufficient"),
    ([R(strength=STRONG), R(NULL, MODERATE, ci=False)], "supported"),
    ([R(strength=STRONG), R(NULL, STRONG, ci=False), R(CONTRADICTS, MODERATE)], "insufficient"),
    ([R(NEUTRAL, STRONG)], "unsupported"),
])
def test_each_verdict_level(rows: list[R], expected: str) -> None:
    assert verdict(*rows) == expected


def test_every_verdict_has_a_rule_and_a_meaning() -> None:
    assert [rule.verdict for rule in claims.VERDICT_RULES] == [
        "contradicted", "mixed", "supported", "insufficient", "unsupported"]
    assert sorted(claims.VERDICT_LEVELS) == sorted(claims.VERDICTS)
    assert "too weak or too indirect" in claims.VERDICT_LEVELS["insufficient"]


# --------------------------------------------------------------------------- the eight rules


def test_rule_1_a_nonsignificant_estimate_never_contradicts() -> None:
    against = R(CONTRADICTS, STRONG, ci=False)
    assert verdict(against) == "unsupported"
    assert verdict(R(strength=STRONG), against) == "insufficient"
    assert verdict(R(CONTRADICTS, STRONG, ci=True)) == "contradicted"
    assert verdict(R(CONTRADICTS, STRONG, ci=None)) == "unsupported"  # not an estimate


def test_rule_1_applies_to_effect_claims_only() -> None:
    """A definition or regulator text can contradict a background fact without an interval."""
    definition = R(CONTRADICTS, MODERATE, kind=claims.DOCUMENTARY, design="document",
                   measures="fact", ci=None)
    assert verdict(definition, scope=BACKGROUND_FM) == "contradicted"


def test_rule_2_harms_never_decide_an_efficacy_claim() -> None:
    fatigue_as_adverse_event = R(CONTRADICTS, STRONG, kind=claims.INDIRECT_CONDITION,
                                 measures=claims.HARM, ci=True)
    assert verdict(fatigue_as_adverse_event, scope=EFFICACY_GENERAL) == "unsupported"
    assert verdict(fatigue_as_adverse_event,
                   scope=claims.Scope(False, "preclinical")) == "unsupported"
    # the same row decides a safety claim, and efficacy data do not
    harm_found = R(SUPPORTS, STRONG, kind=claims.INDIRECT_CONDITION, measures=claims.HARM)
    assert verdict(harm_found, scope=SAFETY_GENERAL) == "supported"
    benefit = R(SUPPORTS, STRONG, kind=claims.INDIRECT_CONDITION, measures=claims.EFFICACY)
    assert verdict(benefit, scope=SAFETY_GENERAL) == "unsupported"


def test_rule_3_an_uncontrolled_series_gives_at_most_insufficient() -> None:
    series = R(SUPPORTS, STRONG, design=claims.UNCONTROLLED, ci=True)
    assert verdict(series) == "insufficient"
    assert verdict(series, series) == "insufficient"
    assert verdict(R(SUPPORTS, STRONG, design=claims.CONTROLLED)) == "supported"
    assert verdict(R(CONTRADICTS, STRONG, design=claims.UNCONTROLLED)) == "unsupported"


def test_rule_4_a_mechanism_needs_mechanistic_evidence() -> None:
    approval = R(SUPPORTS, STRONG, kind=claims.INDIRECT_CONDITION, design="approval",
                 read="record", ci=None)
    assert verdict(approval, scope=MECHANISM_GENERAL) == "insufficient"
    laboratory = R(SUPPORTS, MODERATE, kind=claims.INDIRECT_PRECLINICAL, design=claims.IN_VITRO,
                   measures="mechanism", ci=None)
    assert verdict(laboratory, scope=MECHANISM_GENERAL) == "supported"
    # the approval does support "MSCs are used for immune diseases"
    assert verdict(approval, scope=BACKGROUND_GENERAL) == "supported"


@pytest.mark.parametrize("claim_type", claims.CLAIM_TYPES)
@pytest.mark.parametrize("direction", [SUPPORTS, CONTRADICTS, NULL])
def test_rule_5_a_title_never_counts_for_any_claim(claim_type: str, direction: str) -> None:
    scope = claims.Scope(fm_specific=False, claim_type=claim_type)
    title = R(direction, STRONG, kind=claims.DOCUMENTARY, read=claims.TITLE_ONLY)
    assert verdict(title, scope=scope) == "unsupported"
    assert claims.outcomes(evidence(title), scope) == [claims.NOT_COUNTED]


def test_rule_5_the_same_source_counts_once_read() -> None:
    read = R(SUPPORTS, STRONG, kind=claims.DOCUMENTARY, read="abstract")
    assert verdict(read, scope=BACKGROUND_FM) == "supported"


def test_rule_6_certainty_is_rated_only_for_effect_claims() -> None:
    strong_fact = evidence(R(SUPPORTS, STRONG, kind=claims.DOCUMENTARY, design="document",
                             measures="fact"))
    moderate_fact = evidence(R(SUPPORTS, MODERATE, kind=claims.DOCUMENTARY, design="document",
                               measures="fact"))
    none = adjustments()
    assert claims.certainty(strong_fact, none, BACKGROUND_FM).level == claims.ESTABLISHED
    assert claims.certainty(moderate_fact, none, BACKGROUND_FM).level == claims.NOT_RATED
    framing = claims.Scope(True, "framing")
    assert claims.certainty(strong_fact, none, framing).level == claims.ESTABLISHED
    with pytest.raises(DataError, match="Q001 adjust a claim of type 'background'"):
        claims.certainty(strong_fact, adjustments(("imprecision", -1, "x")), BACKGROUND_FM)
    for effect in claims.EFFECT_TYPES:
        level = claims.certainty(strong_fact, none, claims.Scope(False, effect)).level
        assert level in claims.CERTAINTY_LEVELS, effect


def test_rule_7_the_headline_counts_the_case_claims_only() -> None:
    table = pd.DataFrame({
        "claim_id": ["C01", "C02", "C03", "C04", "C05"],
        "role": ["premise", "case", "support", "case", "concession"],
        "verdict": ["supported", "insufficient", "supported", "unsupported", "supported"],
    })
    headline = claims.headline_counts(table)
    assert headline["n_case_claims"] == 2
    assert headline["n_case_supported"] == 0
    assert headline["n_case_insufficient"] == 1 and headline["n_case_unsupported"] == 1
    parts = claims.by_role(table)
    assert list(parts) == ["case", "premise", "support", "concession"]
    assert list(parts["case"]["claim_id"]) == ["C02", "C04"]
    assert list(claims.case_claims(table)["claim_id"]) == ["C02", "C04"]
    assert claims.role_verdict_counts(table)["n_concession_supported"] == 1


def test_rule_8_sensitivity_moves_every_knob_and_flags_changes() -> None:
    claim_rows = pd.DataFrame({"id": ["C01", "C02"], "claim": ["a", "b"],
                               "claim_type": ["clinical_efficacy", "background"],
                               "chapter": ["07_x", "02_y"], "fm_specific": [True, True]})
    ev = pd.concat([
        evidence(R(strength=WEAK), R(NEUTRAL, STRONG), R(read=claims.TITLE_ONLY)),
        evidence(R(SUPPORTS, STRONG, kind=claims.DOCUMENTARY, design="document"),
                 claim_id="C02").assign(id="E10"),
    ], ignore_index=True)
    adjust = adjustments(("imprecision", -1, "small"), ("none", 0, "no downgrade judged"))
    moves = claims.sensitivity(claim_rows, ev, adjust)
    # knobs: the counted rows' strengths (E01, E10) and both certainty rows; E02 (neutral) and
    # E03 (title only) cannot change anything and are not listed
    assert set(moves.loc[moves["setting"] == "strength", "row_id"]) == {"E01", "E10"}
    assert set(moves.loc[moves["setting"] == "certainty levels", "row_id"]) == {"Q001", "Q002"}
    raised = moves.loc[(moves["row_id"] == "E01") & (moves["moved_to"] == MODERATE)].iloc[0]
    assert (raised["verdict"], raised["new_verdict"]) == ("insufficient", "supported")
    assert bool(raised["changes"])
    lowered = moves.loc[(moves["row_id"] == "E10") & (moves["moved_to"] == MODERATE)].iloc[0]
    assert (lowered["certainty"], lowered["new_certainty"]) == ("established", "not rated")
    assert list(moves.loc[moves["row_id"] == "Q002", "moved_to"]) == [-1]
    summary = claims.sensitivity_summary(moves).set_index("setting")
    assert summary.loc["strength", "knobs"] == 2 and summary.loc["strength", "moves"] == 2
    assert summary.loc["strength", "verdict_changes"] >= 1


# --------------------------------------------------------------------------- other row rules


def test_searches_never_count_even_when_marked_strong() -> None:
    search = R(CONTRADICTS, STRONG, kind=NULL_SEARCH, design="search", ci=True)
    assert verdict(search) == "unsupported"
    assert verdict(search, R(strength=WEAK)) == "insufficient"


def test_weak_rows_are_limited_evidence() -> None:
    assert verdict(R(strength=WEAK)) == "insufficient"
    assert verdict(R(CONTRADICTS, WEAK)) == "unsupported"  # weak evidence against only


@pytest.mark.parametrize("kind, scope, expected", [
    (claims.INDIRECT_CONDITION, EFFICACY_FM, "insufficient"),
    (claims.INDIRECT_CONDITION, EFFICACY_GENERAL, "supported"),  # other conditions answer it
    (claims.INDIRECT_PRECLINICAL, EFFICACY_FM, "insufficient"),
    (claims.INDIRECT_PRECLINICAL, PRECLINICAL_FM, "supported"),  # animals answer a claim on them
    (claims.INDIRECT_PRECLINICAL, BACKGROUND_GENERAL, "supported"),  # what cells are
    (claims.INDIRECT_PRECLINICAL, BACKGROUND_FM, "insufficient"),
    (claims.REGISTRY, EFFICACY_GENERAL, "insufficient"),
    (claims.DOCUMENTARY, EFFICACY_FM, "supported"),
])
def test_directness_depends_on_the_claim(kind: str, scope: claims.Scope, expected: str) -> None:
    assert verdict(R(kind=kind), scope=scope) == expected


def test_unknown_vocabulary_names_row_and_column() -> None:
    rows = evidence(R(direction="proves"), R())
    with pytest.raises(DataError, match=r"row E01, column 'direction'.*'proves'"):
        claims.verdict(rows)
    with pytest.raises(DataError, match=r"row E01, column 'design'.*'anecdote'"):
        claims.verdict(evidence(R(design="anecdote")))
    with pytest.raises(DataError, match=r"missing column 'read'"):
        claims.verdict(evidence(R()).drop(columns="read"))


# --------------------------------------------------------------------------- totality


ROW_STRATEGY = st.builds(
    R, st.sampled_from(claims.DIRECTIONS), st.sampled_from(claims.STRENGTHS),
    st.sampled_from(claims.EVIDENCE_KINDS), st.sampled_from(claims.DESIGNS),
    st.sampled_from(claims.READS), st.sampled_from(claims.MEASURES),
    st.sampled_from([True, False, None]))
SCOPE_STRATEGY = st.builds(claims.Scope, st.booleans(), st.sampled_from(claims.CLAIM_TYPES))


@settings(max_examples=300, deadline=None)
@given(st.lists(ROW_STRATEGY, max_size=8), SCOPE_STRATEGY)
def test_rules_are_total_and_exclusive(rows: list[R], scope: claims.Scope) -> None:
    frame = evidence(*rows)
    assert len(claims.matching_rules(claims.facts(frame, scope))) == 1
    assert claims.verdict(frame, scope) in claims.VERDICTS


def _rank(verdict_name: str) -> int:
    return claims.VERDICTS.index(verdict_name)  # 0 = best news for the article


@settings(max_examples=300, deadline=None)
@given(st.lists(ROW_STRATEGY, max_size=6), ROW_STRATEGY, SCOPE_STRATEGY)
def test_evidence_against_never_helps_and_support_never_hurts(
        rows: list[R], extra: R, scope: claims.Scope) -> None:
    before = _rank(claims.verdict(evidence(*rows), scope))
    after = _rank(claims.verdict(evidence(*rows, extra), scope))
    if extra.direction in (CONTRADICTS, NULL):
        assert after >= before
    elif extra.direction == SUPPORTS:
        assert after <= before
    else:
        assert after == before


# --------------------------------------------------------------------------- certainty


SUPPORTED = evidence(R(SUPPORTS, STRONG))


def test_certainty_adds_the_levels_of_each_row() -> None:
    rating = claims.certainty(SUPPORTED, adjustments(("imprecision", -1, "n=12"),
                                                     ("indirectness", -1, "knee OA")))
    assert rating.start == "high"  # a counted randomized row
    assert rating.level == "low"
    assert rating.steps == (("imprecision", -1, "n=12"), ("indirectness", -1, "knee OA"))


def test_certainty_starts_low_without_counted_randomized_evidence() -> None:
    animal = evidence(R(kind=claims.INDIRECT_PRECLINICAL, design=claims.ANIMAL))
    assert claims.certainty(animal, adjustments(), PRECLINICAL_FM).start == "low"
    title_rct = evidence(R(read=claims.TITLE_ONLY), R(design=claims.CONTROLLED))
    assert claims.certainty(title_rct, adjustments()).start == "low"


def test_certainty_upgrade_and_clamps() -> None:
    animal = evidence(R(kind=claims.INDIRECT_PRECLINICAL, design=claims.ANIMAL))
    up = claims.certainty(animal, adjustments(("upgrade_large_effect", 1, "big")), PRECLINICAL_FM)
    assert up.level == "moderate"
    low = claims.certainty(SUPPORTED, adjustments(("risk_of_bias", -2, "a"),
                                                  ("imprecision", -2, "b")))
    assert low.level == "very low"
    high = claims.certainty(SUPPORTED, adjustments(("upgrade_large_effect", 2, "c")))
    assert high.level == "high"


def test_no_counted_evidence_gives_no_evidence() -> None:
    rows = evidence(R(kind=NULL_SEARCH, design="search"), R(NEUTRAL, STRONG))
    rating = claims.certainty(rows, adjustments(("imprecision", -1, "x")))
    assert rating.level == claims.NO_EVIDENCE
    assert claims.certainty(evidence(), adjustments()).level == claims.NO_EVIDENCE


# --------------------------------------------------------------------------- ledger


def claim_frame(ids: list[str], types: list[str], fm: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "claim": [f"claim {i}" for i in ids], "claim_type": types,
                         "chapter": ["07_x"] * len(ids), "fm_specific": fm,
                         "role": ["case"] * len(ids), "quote": ["q"] * len(ids)})


def test_ledger_one_row_per_claim_sorted() -> None:
    claim_rows = claim_frame(["C02", "C01", "C03"], ["mechanism", "background", "safety"],
                             [True, True, False])
    ev = pd.concat([
        evidence(R(SUPPORTS, STRONG, kind=claims.DOCUMENTARY, design="document")),
        evidence(R(kind=claims.INDIRECT_PRECLINICAL, design=claims.IN_VITRO),
                 R(kind=NULL_SEARCH, design="search"), claim_id="C02").assign(id=["E11", "E12"]),
    ], ignore_index=True)
    adjust = adjustments(("indirectness", -1, "x"), claim_id="C02")
    table = claims.ledger(claim_rows, ev, adjust)
    assert list(table["claim_id"]) == ["C01", "C02", "C03"]
    assert list(table["verdict"]) == ["supported", "insufficient", "unsupported"]
    assert list(table["n_evidence"]) == [1, 2, 0]
    assert list(table["certainty"]) == [claims.ESTABLISHED, "very low", claims.NO_EVIDENCE]
    assert table.loc[1, "key_sources"] == "src1"  # the search is not a key source


def test_key_sources_deciding_rows_first_and_capped() -> None:
    rows = evidence(R(strength=WEAK), R(CONTRADICTS, STRONG), R(strength=MODERATE),
                    R(kind=claims.INDIRECT_CONDITION, strength=STRONG), R(NEUTRAL, STRONG))
    assert claims.key_sources(rows, limit=2) == "src2; src3 + 2 more"


def test_crosstab_keeps_every_verdict_column_in_order() -> None:
    table = pd.DataFrame({"claim_type": ["mechanism", "background", "mechanism"],
                          "verdict": ["insufficient", "supported", "insufficient"]})
    counts = claims.crosstab(table, "claim_type", "verdict")
    assert list(counts.columns) == list(claims.VERDICTS)
    assert list(counts.index) == ["background", "mechanism"]
    assert counts.loc["mechanism", "insufficient"] == 2 and counts.to_numpy().sum() == 3


# --------------------------------------------------------------------------- methods page


def methods_section(title: str) -> str:
    text = (ROOT / "book" / "methods.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {title}\n\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"book/methods.md has no '## {title}' section"
    return match.group(1).strip()


def test_methods_page_states_the_levels_verbatim() -> None:
    assert methods_section("Verdict levels") == claims.levels_markdown().strip()


def test_methods_page_states_the_rules_verbatim() -> None:
    assert methods_section("Verdict rules") == claims.rules_markdown().strip()


def test_methods_page_states_the_certainty_rating_verbatim() -> None:
    assert methods_section("Strength of evidence") == claims.certainty_markdown().strip()


def test_rules_text_names_every_rule() -> None:
    text = claims.rules_markdown()
    for rule in claims.ROW_RULES:
        assert f"*{rule.name}*: {rule.description}" in text
    for rule in claims.VERDICT_RULES:
        assert f"**{rule.verdict}**: {rule.description}" in text


# --------------------------------------------------------------------------- real data


def load_real(name: str) -> pd.DataFrame:
    """A curated table as the package loads it (validated and typed)."""
    from mscfm import data

    return data.load(name, root=ROOT)


@pytest.fixture(scope="module")
def real() -> dict[str, pd.DataFrame]:
    return {name: load_real(name) for name in ("claims", "claim_evidence", "certainty")}


def test_every_real_claim_gets_one_known_verdict(real: dict[str, pd.DataFrame]) -> None:
    table = claims.ledger(real["claims"], real["claim_evidence"], real["certainty"])
    assert sorted(table["claim_id"]) == sorted(real["claims"]["id"])
    assert set(table["verdict"]) <= set(claims.VERDICTS)
    assert set(table["certainty"]) <= set(claims.CERTAINTY_ORDER)
    counts = real["claim_evidence"]["claim_id"].value_counts()
    assert list(table["n_evidence"]) == [int(counts.get(c, 0)) for c in table["claim_id"]]


def test_real_certainty_rows_adjust_effect_claims_only(real: dict[str, pd.DataFrame]) -> None:
    types = real["claims"].set_index("id")["claim_type"]
    adjusted = set(real["certainty"]["claim_id"])
    assert {types[c] for c in adjusted} <= set(claims.EFFECT_TYPES)


def test_real_case_claims_are_fm_specific_and_come_first(real: dict[str, pd.DataFrame]) -> None:
    case = real["claims"].loc[real["claims"]["role"] == claims.CASE]
    assert len(case) > 0 and case["fm_specific"].all()
    presented = claims.fm_case_verdicts()
    assert list(presented.columns) == claims.CASE_COLUMNS
    assert list(presented["claim_id"]) == sorted(case["id"])


def test_title_only_sources_count_for_no_real_claim(real: dict[str, pd.DataFrame]) -> None:
    evidence_rows = real["claim_evidence"]
    scopes = {c.id: claims.scope_of(c) for c in real["claims"].itertuples(index=False)}
    titles = evidence_rows.loc[evidence_rows["read"] == claims.TITLE_ONLY]
    assert len(titles) > 0
    for row in titles.itertuples(index=False):
        frame = evidence_rows.loc[evidence_rows["id"] == row.id]
        assert claims.outcomes(frame, scopes[row.claim_id]) == [claims.NOT_COUNTED]


def test_verdict_table_filters_one_chapter(real: dict[str, pd.DataFrame]) -> None:
    chapter = sorted(real["claims"]["chapter"])[0]
    table = claims.verdict_table(chapter=chapter)
    expected = sorted(real["claims"].loc[real["claims"]["chapter"] == chapter, "id"])
    assert list(table["claim_id"]) == expected
    assert {"claim_id", "claim", "verdict", "certainty"} <= set(table.columns)
    with pytest.raises(ValueError, match="no claims"):
        claims.verdict_table(chapter="99_nowhere")


def test_real_sensitivity_lists_the_knobs_of_counted_rows(real: dict[str, pd.DataFrame]) -> None:
    moves = claims.sensitivity(real["claims"], real["claim_evidence"], real["certainty"])
    assert set(moves.loc[moves["setting"] == "certainty levels", "row_id"]) == set(
        real["certainty"]["id"])
    strength_knobs = set(moves.loc[moves["setting"] == "strength", "row_id"])
    searches = set(real["claim_evidence"].loc[
        real["claim_evidence"]["evidence_kind"] == NULL_SEARCH, "id"])
    assert strength_knobs and not strength_knobs & searches


def test_summary_key_numbers_come_from_the_linked_rows(real: dict[str, pd.DataFrame]) -> None:
    """Rebuild one pooled key number by hand from pooled.csv and find it in the summary."""
    summary = claims.summary_of_findings().set_index("claim_id")
    links = real["claim_evidence"].loc[(real["claim_evidence"]["table"] == "pooled")
                                       & (real["claim_evidence"]["direction"] == SUPPORTS)]
    pooled = load_real("pooled").set_index("id")

    def interval(row_id: str) -> str:
        return f"({pooled.loc[row_id, 'ci_lb']:.2f} to {pooled.loc[row_id, 'ci_ub']:.2f})"

    found = [link for link in links.dropna(subset=["row_id"]).itertuples(index=False)
             if interval(link.row_id) in summary.loc[link.claim_id, "key_numbers"]]
    assert found, "no pooled interval of a linked row appears in the summary of findings"


# --------------------------------------------------------------------------- key numbers

POOLED = pd.DataFrame({"id": ["p1", "p2"], "outcome": ["pain", "fatigue"],
                       "measure": ["SMD", "OR"], "estimate": [-0.5, 3.0],
                       "ci_lb": [-0.81, 1.0], "ci_ub": [-0.19, 9.25], "k": [7, 12]})


def linked(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """Evidence rows (direction, strength, pooled row id) from other conditions, linked to
    POOLED."""
    frame = evidence(*[R(direction, strength, kind=claims.INDIRECT_CONDITION)
                       for direction, strength, _ in rows])
    return frame.assign(table="pooled", row_id=[r for _, _, r in rows])


def test_key_numbers_show_both_sides_of_a_contested_claim() -> None:
    rows = linked((SUPPORTS, STRONG, "p1"), (SUPPORTS, STRONG, "p1"), (CONTRADICTS, MODERATE, "p2"))
    text = claims.key_numbers(rows, {"pooled": POOLED}, EFFICACY_GENERAL)
    assert text == ("pain: SMD -0.50 (-0.81 to -0.19), k = 7; "
                    "against: fatigue: OR 3.00 (1.00 to 9.25), k = 12")


def test_key_numbers_mark_null_and_limited_rows_and_report_broken_links() -> None:
    rows = linked((NULL, MODERATE, "p2"), (SUPPORTS, WEAK, "p1"))
    text = claims.key_numbers(rows, {"pooled": POOLED}, EFFICACY_GENERAL)
    assert text.startswith("no difference: fatigue") and "indirect or weak: pain" in text
    weak_null = claims.key_numbers(linked((NULL, WEAK, "p2")), {"pooled": POOLED},
                                   EFFICACY_GENERAL)
    assert weak_null.startswith("indirect or weak, no difference: fatigue")
    assert claims.key_numbers(linked((NEUTRAL, STRONG, "p1")), {"pooled": POOLED}) == ""
    with pytest.raises(DataError, match="row E01.*no row 'p9' in pooled.csv"):
        claims.key_numbers(linked((SUPPORTS, MODERATE, "p9")), {"pooled": POOLED},
                           EFFICACY_GENERAL)


# --------------------------------------------------------------------------- chapter helpers

LEDGER = pd.DataFrame({
    "claim_id": ["C01", "C02", "C03", "C04", "C05"],
    "claim_type": ["background", "mechanism", "mechanism", "safety", "framing"],
    "chapter": ["02_fibromyalgia", "04_inflammation", "04_inflammation", "08_safety",
                "11_verdicts"],
    "role": ["premise", "case", "support", "concession", "case"],
    "verdict": ["supported", "insufficient", "unsupported", "supported", "insufficient"],
    "certainty": [claims.ESTABLISHED, "very low", claims.NO_EVIDENCE, "high", claims.NOT_RATED],
})


def test_select_claim_types_filters_and_validates() -> None:
    assert list(claims.select_claim_types(LEDGER, ["mechanism"])["claim_id"]) == ["C02", "C03"]
    assert len(claims.select_claim_types(LEDGER, [])) == 5
    with pytest.raises(ValueError, match="claim_types.*'anecdote'"):
        claims.select_claim_types(LEDGER, ["anecdote"])


@pytest.mark.parametrize("level, expected", [
    (claims.NOT_RATED, ["C01", "C02", "C03", "C04", "C05"]),
    (claims.NO_EVIDENCE, ["C01", "C02", "C03", "C04"]), ("very low", ["C01", "C02", "C04"]),
    ("low", ["C01", "C04"]), ("high", ["C01", "C04"]), (claims.ESTABLISHED, ["C01"]),
])
def test_at_least_keeps_levels_at_or_above(level: str, expected: list[str]) -> None:
    assert list(claims.at_least(LEDGER, level)["claim_id"]) == expected


def test_at_least_refuses_unknown_level() -> None:
    with pytest.raises(ValueError, match="min_certainty='best'"):
        claims.at_least(LEDGER, "best")


def test_counts_cover_every_value() -> None:
    verdicts = claims.counts_by(LEDGER, "verdict")
    assert list(verdicts) == list(claims.VERDICTS)
    assert verdicts == {"supported": 2, "mixed": 0, "insufficient": 2, "unsupported": 1,
                        "contradicted": 0}
    assert claims.counts_by(LEDGER, "certainty")["moderate"] == 0
    assert claims.counts_by(LEDGER, "role")["case"] == 2


def test_claim_ids_by_chapter() -> None:
    ids = claims.claim_ids_by_chapter(LEDGER)
    assert ids["04_inflammation"] == "C02, C03"
    assert ids["11_verdicts"] == "C05"
    assert ids["07_efficacy"] == "none"


def test_article_counts() -> None:
    claim_rows = pd.DataFrame({"fm_specific": [True, False, True],
                               "role": ["case", "support", "premise"],
                               "hedge": ["may", "", pd.NA], "article_section": ["a", "a", "b"],
                               "chapter": ["x", "y", "y"]})
    counts = claims.article_counts(claim_rows)
    assert counts == {"n_claims": 3, "n_fm_specific": 2, "n_case": 1, "n_premise": 1,
                      "n_support": 1, "n_concession": 0, "n_hedged": 1, "n_sections": 2,
                      "n_chapters": 2}


def test_verdict_breakdown() -> None:
    assert claims.verdict_breakdown(LEDGER) == "2 supported, 2 insufficient, 1 unsupported"
    assert claims.verdict_breakdown(LEDGER.iloc[0:0]) == "no claims"


def test_quoted_and_claim_list() -> None:
    assert claims.quoted("may help") == "\u201cmay help\u201d"
    table = LEDGER.assign(claim=["A fact.", "b", "c", "d", "e"])
    assert claims.claim_list(table, "premise", "supported") == "C01 (A fact)"
    assert claims.claim_list(table, "premise", "contradicted") == "none"


def test_clinical_fm_searches() -> None:
    searches = pd.DataFrame({"scope": ["clinical FM", "clinical FM / registry", "registry"],
                             "n_relevant": [0, 2, 5]})
    assert claims.clinical_fm_searches(searches) == {"n_fm_searches": 2, "n_fm_search_hits": 2}


# --------------------------------------------------------------------------- figures


def test_verdicts_by_type_draws_the_counts() -> None:
    from mscfm.plots import verdicts as verdict_plots
    from mscfm.plots.style import alt_text

    counts = claims.crosstab(LEDGER, "role", "verdict")
    fig = verdict_plots.verdicts_by_type(counts)
    ax = fig.axes[0]
    widths: dict[float, float] = {}
    for bar in ax.patches:
        widths[round(bar.get_y(), 3)] = widths.get(round(bar.get_y(), 3), 0) + bar.get_width()
    assert sorted(widths.values()) == [1, 1, 1, 2]  # case 2; premise, support, concession 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["case", "premise", "support",
                                                           "concession"]
    assert "claims by role" in alt_text(fig)


def test_certainty_grid_annotates_each_nonzero_cell() -> None:
    from mscfm.plots import verdicts as verdict_plots

    grid = claims.crosstab(LEDGER, "verdict", "certainty")
    fig = verdict_plots.certainty_by_verdict(grid)
    texts = sorted(t.get_text() for t in fig.axes[0].texts if t.get_text())
    assert texts == ["1"] * 5
    with pytest.raises(ValueError, match="no claims"):
        verdict_plots.certainty_by_verdict(grid.iloc[0:0])
