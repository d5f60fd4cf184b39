"""Verdict rules and certainty of `mscfm.claims`, on small synthetic evidence and on the real data.

Synthetic rows use the vocabulary constants of the module, so a renamed kind or strength changes
the fixtures with it; the expected verdicts are written here from the rules' wording.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mscfm import claims
from mscfm.claims import CONTRADICTS, NEUTRAL, SUPPORTS
from mscfm.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
DIRECT = claims.DIRECT_FM
# Indirect for the default scope (a claim specific to FM about clinical efficacy).
INDIRECT = [claims.INDIRECT_CONDITION, claims.INDIRECT_PRECLINICAL, claims.REGISTRY]
NULL = claims.SEARCH_NULL
WEAK, MODERATE, STRONG = sorted(claims.STRENGTH_RANK, key=claims.STRENGTH_RANK.get)
EVIDENCE_COLUMNS = ["id", "claim_id", "evidence_kind", "direction", "strength", "source"]


def evidence(*rows: tuple[str, str, str | None], claim_id: str = "C01") -> pd.DataFrame:
    """Evidence rows (kind, direction, strength) for one claim, with ids E01, E02, ..."""
    records = [(f"E{i:02d}", claim_id, kind, direction, strength, f"src{i}")
               for i, (kind, direction, strength) in enumerate(rows, 1)]
    return pd.DataFrame.from_records(records, columns=EVIDENCE_COLUMNS)


def adjustments(start: str, *rows: tuple[str, int, str],
                claim_id: str = "C01") -> pd.DataFrame:
    """certainty.csv rows (domain, levels, reason) for one claim, all with the same start."""
    records = [(f"Q{i:03d}", claim_id, start, domain, levels, reason)
               for i, (domain, levels, reason) in enumerate(rows, 1)]
    return pd.DataFrame.from_records(records, columns=["id", "claim_id", "start", "domain",
                                                       "levels", "reason"])


# --------------------------------------------------------------------------- each rule


@pytest.mark.parametrize("rows, expected", [
    # direct support, nothing against
    ([(DIRECT, SUPPORTS, WEAK)], "supported"),
    ([(DIRECT, SUPPORTS, WEAK), (INDIRECT[0], SUPPORTS, STRONG)], "supported"),
    ([(DIRECT, SUPPORTS, STRONG), (NULL, SUPPORTS, WEAK)], "supported"),
    ([(claims.DOCUMENTARY, SUPPORTS, WEAK)], "supported"),
    # support only from elsewhere
    ([(INDIRECT[0], SUPPORTS, STRONG)], "indirect"),
    ([(kind, SUPPORTS, MODERATE) for kind in INDIRECT], "indirect"),
    ([(INDIRECT[-1], SUPPORTS, WEAK), (DIRECT, NEUTRAL, STRONG)], "indirect"),
    # nothing counts
    ([], "unsupported"),
    ([(NULL, SUPPORTS, WEAK)], "unsupported"),
    ([(NULL, CONTRADICTS, STRONG), (NULL, NEUTRAL, WEAK)], "unsupported"),
    ([(DIRECT, NEUTRAL, STRONG), (INDIRECT[0], NEUTRAL, WEAK)], "unsupported"),
    # evidence against at least as strong as the best support
    ([(DIRECT, CONTRADICTS, WEAK)], "contradicted"),
    ([(INDIRECT[0], CONTRADICTS, MODERATE), (DIRECT, SUPPORTS, MODERATE)], "contradicted"),
    ([(DIRECT, SUPPORTS, WEAK), (DIRECT, SUPPORTS, MODERATE), (DIRECT, CONTRADICTS, STRONG)],
     "contradicted"),
    # evidence against, weaker than the best support
    ([(DIRECT, SUPPORTS, STRONG), (DIRECT, CONTRADICTS, MODERATE)], "partly supported"),
    ([(INDIRECT[0], SUPPORTS, MODERATE), (INDIRECT[0], CONTRADICTS, WEAK)], "partly supported"),
])
def test_verdict_of_each_rule(rows: list[tuple[str, str, str | None]], expected: str) -> None:
    assert claims.verdict(evidence(*rows)) == expected


def test_search_null_never_counts_even_when_marked_strong() -> None:
    rows = evidence((NULL, CONTRADICTS, STRONG), (INDIRECT[0], SUPPORTS, WEAK))
    assert claims.verdict(rows) == "indirect"


def test_unknown_vocabulary_names_row_and_column() -> None:
    rows = evidence((DIRECT, "proves", STRONG), (DIRECT, SUPPORTS, STRONG))
    with pytest.raises(DataError, match=r"row E01, column 'direction'.*'proves'"):
        claims.verdict(rows)
    with pytest.raises(DataError, match=r"row E02, column 'strength'"):
        claims.verdict(evidence((DIRECT, SUPPORTS, STRONG), (DIRECT, SUPPORTS, None)))
    with pytest.raises(DataError, match=r"column 'evidence_kind'.*'anecdote'"):
        claims.verdict(evidence(("anecdote", SUPPORTS, STRONG)))


# --------------------------------------------------------------------------- scope

GENERAL = claims.Scope(fm_specific=False, claim_type="mechanism")
PRECLINICAL_FM = claims.Scope(fm_specific=True, claim_type="preclinical")


@pytest.mark.parametrize("kind, scope, expected", [
    (claims.INDIRECT_CONDITION, claims.Scope(), "indirect"),
    (claims.INDIRECT_CONDITION, GENERAL, "supported"),  # other conditions answer a general claim
    (claims.INDIRECT_CONDITION, PRECLINICAL_FM, "indirect"),
    (claims.INDIRECT_PRECLINICAL, claims.Scope(), "indirect"),
    (claims.INDIRECT_PRECLINICAL, GENERAL, "indirect"),
    (claims.INDIRECT_PRECLINICAL, PRECLINICAL_FM, "supported"),  # animals answer a claim on them
    (claims.REGISTRY, GENERAL, "indirect"),
    (claims.REGISTRY, PRECLINICAL_FM, "indirect"),
    (claims.DOCUMENTARY, GENERAL, "supported"),
])
def test_directness_depends_on_the_claim(kind: str, scope: claims.Scope, expected: str) -> None:
    assert claims.verdict(evidence((kind, SUPPORTS, MODERATE)), scope) == expected


def test_scope_never_changes_a_contradiction() -> None:
    rows = evidence((claims.INDIRECT_CONDITION, SUPPORTS, WEAK),
                    (claims.INDIRECT_CONDITION, CONTRADICTS, WEAK))
    assert {claims.verdict(rows, s) for s in (claims.Scope(), GENERAL)} == {"contradicted"}


# --------------------------------------------------------------------------- totality

KINDS = list(claims.EVIDENCE_KINDS)
scope_strategy = st.builds(claims.Scope, st.booleans(),
                           st.sampled_from(["background", "mechanism", "preclinical",
                                            "clinical_efficacy", "safety"]))
row_strategy = st.tuples(st.sampled_from(KINDS), st.sampled_from(claims.DIRECTIONS),
                         st.sampled_from(sorted(claims.STRENGTH_RANK)))


@settings(max_examples=300, deadline=None)
@given(st.lists(row_strategy, max_size=8), scope_strategy)
def test_rules_are_total_and_exclusive(rows: list[tuple[str, str, str]],
                                       scope: claims.Scope) -> None:
    frame = evidence(*rows)
    matches = claims.matching_rules(claims.facts(frame, scope))
    assert len(matches) == 1
    assert claims.verdict(frame, scope) in claims.VERDICTS


@settings(max_examples=200, deadline=None)
@given(st.lists(row_strategy, max_size=6), st.sampled_from(KINDS),
       st.sampled_from(sorted(claims.STRENGTH_RANK)))
def test_adding_a_contradiction_never_makes_a_claim_better(
        rows: list[tuple[str, str, str]], kind: str, strength: str) -> None:
    """Monotonicity: one more row against a claim cannot move it to supported or indirect."""
    before = claims.verdict(evidence(*rows))
    after = claims.verdict(evidence(*rows, (kind, CONTRADICTS, strength)))
    if kind == NULL:
        assert after == before
    else:
        assert after in ("contradicted", "partly supported")


def test_every_verdict_has_a_rule_and_every_rule_a_known_verdict() -> None:
    assert sorted(r.verdict for r in claims.RULES) == sorted(claims.VERDICTS)


# --------------------------------------------------------------------------- certainty

SUPPORTED = evidence((DIRECT, SUPPORTS, STRONG))


def test_certainty_adds_the_levels_of_each_row() -> None:
    rating = claims.certainty(SUPPORTED, adjustments("high", ("imprecision", -1, "n=12"),
                                                     ("indirectness", -1, "knee OA")))
    assert rating.start == "high"
    assert rating.level == "low"  # high - 1 - 1
    assert rating.steps == (("imprecision", -1, "n=12"), ("indirectness", -1, "knee OA"))


def test_certainty_without_downgrade_keeps_the_start() -> None:
    rating = claims.certainty(SUPPORTED, adjustments("low", ("none", 0, "no downgrade judged")))
    assert rating.level == "low"


def test_certainty_upgrade() -> None:
    rating = claims.certainty(SUPPORTED, adjustments("low", ("upgrade_large_effect", 1, "big")))
    assert rating.level == "moderate"


def test_certainty_clamps_at_both_ends() -> None:
    low = claims.certainty(SUPPORTED, adjustments("low", ("risk_of_bias", -2, "a"),
                                                  ("imprecision", -2, "b")))
    assert low.level == "very low"
    high = claims.certainty(SUPPORTED, adjustments("high", ("upgrade_large_effect", 2, "c")))
    assert high.level == "high"


def test_certainty_without_rows_starts_low() -> None:
    assert claims.certainty(SUPPORTED, adjustments("high")).level == claims.DEFAULT_START


def test_no_counted_evidence_gives_no_evidence() -> None:
    rows = evidence((NULL, SUPPORTS, STRONG), (DIRECT, NEUTRAL, STRONG))
    rating = claims.certainty(rows, adjustments("low", ("imprecision", -1, "x")))
    assert rating.level == claims.NO_EVIDENCE
    assert claims.certainty(evidence(), adjustments("low")).level == claims.NO_EVIDENCE


def test_certainty_refuses_bad_start_levels() -> None:
    with pytest.raises(DataError, match="'excellent'"):
        claims.certainty(SUPPORTED, adjustments("excellent", ("none", 0, "x")))
    mixed = pd.concat([adjustments("high", ("imprecision", -1, "a")),
                       adjustments("low", ("risk_of_bias", -1, "b")).assign(id="Q009")])
    with pytest.raises(DataError, match="Q001, Q009.*different start"):
        claims.certainty(SUPPORTED, mixed)


# --------------------------------------------------------------------------- ledger


def test_ledger_one_row_per_claim_sorted() -> None:
    claim_rows = pd.DataFrame({"id": ["C02", "C01", "C03"], "claim": ["b", "a", "c"],
                               "claim_type": ["mechanism", "background", "safety"],
                               "chapter": ["04_x", "02_y", "08_z"],
                               "fm_specific": [True, True, False]})
    ev = pd.concat([evidence((DIRECT, SUPPORTS, STRONG), claim_id="C01"),
                    evidence((INDIRECT[0], SUPPORTS, WEAK), (NULL, SUPPORTS, WEAK),
                             claim_id="C02").assign(id=["E11", "E12"])], ignore_index=True)
    table = claims.ledger(claim_rows, ev, adjustments("high", ("imprecision", -1, "x")))
    assert list(table["claim_id"]) == ["C01", "C02", "C03"]
    assert list(table["verdict"]) == ["supported", "indirect", "unsupported"]
    assert list(table["n_evidence"]) == [2 - 1, 2, 0]
    assert list(table["certainty"]) == ["moderate", claims.DEFAULT_START, claims.NO_EVIDENCE]
    assert table.loc[1, "key_sources"] == "src1"  # the null search is not a key source


def test_key_sources_strongest_first_and_capped() -> None:
    rows = evidence((DIRECT, SUPPORTS, WEAK), (DIRECT, CONTRADICTS, STRONG),
                    (INDIRECT[0], SUPPORTS, MODERATE), (DIRECT, SUPPORTS, WEAK),
                    (DIRECT, NEUTRAL, STRONG))
    assert claims.key_sources(rows, limit=2) == "src2; src3 + 2 more"


def test_crosstab_keeps_every_verdict_column_in_order() -> None:
    table = pd.DataFrame({"claim_type": ["b", "a", "b"],
                          "verdict": ["indirect", "supported", "indirect"]})
    counts = claims.crosstab(table, "claim_type", "verdict")
    assert list(counts.columns) == list(claims.VERDICTS)
    assert list(counts.index) == ["a", "b"]
    assert counts.loc["b", "indirect"] == 2 and counts.to_numpy().sum() == 3


# --------------------------------------------------------------------------- methods page


def methods_section(title: str) -> str:
    text = (ROOT / "book" / "methods.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {title}\n\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"book/methods.md has no '## {title}' section"
    return match.group(1).strip()


def test_methods_page_states_the_rules_verbatim() -> None:
    assert methods_section("Verdict rules") == claims.rules_markdown().strip()


def test_methods_page_states_the_certainty_rating_verbatim() -> None:
    assert methods_section("Strength of evidence") == claims.certainty_markdown().strip()


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


def test_fm_claims_with_only_null_searches_are_unsupported(
        real: dict[str, pd.DataFrame]) -> None:
    evidence = real["claim_evidence"]
    kinds = evidence.groupby("claim_id")["evidence_kind"].agg(set)
    null_only = {c for c, k in kinds.items() if k == {NULL}}
    fm = set(real["claims"].loc[real["claims"]["fm_specific"], "id"])
    table = claims.ledger(real["claims"], evidence, real["certainty"]).set_index("claim_id")
    for claim_id in sorted(null_only & fm):
        assert table.loc[claim_id, "verdict"] == "unsupported"
        assert table.loc[claim_id, "certainty"] == claims.NO_EVIDENCE


def test_verdict_table_filters_one_chapter(real: dict[str, pd.DataFrame]) -> None:
    chapter = sorted(real["claims"]["chapter"])[0]
    table = claims.verdict_table(chapter=chapter)
    expected = sorted(real["claims"].loc[real["claims"]["chapter"] == chapter, "id"])
    assert list(table["claim_id"]) == expected
    with pytest.raises(ValueError, match="no claims"):
        claims.verdict_table(chapter="99_nowhere")


def test_summary_key_numbers_come_from_the_linked_rows(real: dict[str, pd.DataFrame]) -> None:
    """Rebuild one pooled key number by hand from pooled.csv and find it in the summary."""
    summary = claims.summary_of_findings().set_index("claim_id")
    evidence = claims.counted(real["claim_evidence"])
    links = evidence.loc[evidence["table"] == "pooled"].dropna(subset=["row_id"])
    if links.empty:
        pytest.skip("no evidence row links a pooled estimate")
    pooled = load_real("pooled").set_index("id")
    for link in links.itertuples(index=False):
        row = pooled.loc[link.row_id]
        interval = f"({row['ci_lb']:.2f} to {row['ci_ub']:.2f})"
        if interval in summary.loc[link.claim_id, "key_numbers"]:
            return
    pytest.fail("no pooled interval of a linked row appears in the summary of findings")


# --------------------------------------------------------------------------- key numbers

POOLED = pd.DataFrame({"id": ["p1", "p2"], "outcome": ["pain", "fatigue"],
                       "measure": ["SMD", "OR"], "estimate": [-0.5, 3.0],
                       "ci_lb": [-0.81, 1.0], "ci_ub": [-0.19, 9.25], "k": [7, 12]})


def linked(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """Evidence rows (direction, strength, pooled row id) of kind indirect_condition."""
    frame = evidence(*[(INDIRECT[0], direction, strength) for direction, strength, _ in rows])
    return frame.assign(table="pooled", row_id=[r for _, _, r in rows])


def test_key_numbers_show_both_sides_of_a_contested_claim() -> None:
    rows = linked((SUPPORTS, STRONG, "p1"), (SUPPORTS, STRONG, "p1"), (CONTRADICTS, WEAK, "p2"))
    text = claims.key_numbers(rows, {"pooled": POOLED})
    assert text == ("pain: SMD -0.50 (-0.81 to -0.19), k = 7; "
                    "against: fatigue: OR 3.00 (1.00 to 9.25), k = 12")


def test_key_numbers_skip_neutral_rows_and_report_broken_links() -> None:
    rows = linked((NEUTRAL, STRONG, "p1"))
    assert claims.key_numbers(rows, {"pooled": POOLED}) == ""
    with pytest.raises(DataError, match="row E01.*no row 'p9' in pooled.csv"):
        claims.key_numbers(linked((SUPPORTS, WEAK, "p9")), {"pooled": POOLED})


# --------------------------------------------------------------------------- chapter helpers

LEDGER = pd.DataFrame({
    "claim_id": ["C01", "C02", "C03", "C04"],
    "claim_type": ["background", "mechanism", "mechanism", "safety"],
    "chapter": ["02_fibromyalgia", "04_inflammation", "04_inflammation", "08_safety"],
    "verdict": ["supported", "indirect", "unsupported", "supported"],
    "certainty": ["low", "very low", claims.NO_EVIDENCE, "high"],
})


def test_select_claim_types_filters_and_validates() -> None:
    assert list(claims.select_claim_types(LEDGER, ["mechanism"])["claim_id"]) == ["C02", "C03"]
    assert len(claims.select_claim_types(LEDGER, [])) == 4
    with pytest.raises(ValueError, match="claim_types.*'anecdote'"):
        claims.select_claim_types(LEDGER, ["anecdote"])


@pytest.mark.parametrize("level, expected", [
    (claims.NO_EVIDENCE, ["C01", "C02", "C03", "C04"]), ("very low", ["C01", "C02", "C04"]),
    ("low", ["C01", "C04"]), ("moderate", ["C04"]), ("high", ["C04"]),
])
def test_at_least_keeps_levels_at_or_above(level: str, expected: list[str]) -> None:
    assert list(claims.at_least(LEDGER, level)["claim_id"]) == expected


def test_at_least_refuses_unknown_level() -> None:
    with pytest.raises(ValueError, match="min_certainty='best'"):
        claims.at_least(LEDGER, "best")


def test_counts_cover_every_value() -> None:
    verdicts = claims.counts_by(LEDGER, "verdict")
    assert list(verdicts) == list(claims.VERDICTS)
    assert verdicts == {"supported": 2, "partly supported": 0, "indirect": 1,
                        "unsupported": 1, "contradicted": 0}
    assert claims.counts_by(LEDGER, "certainty")["moderate"] == 0


def test_claim_ids_by_chapter() -> None:
    ids = claims.claim_ids_by_chapter(LEDGER)
    assert ids["04_inflammation"] == "C02, C03"
    assert ids["07_efficacy"] == "none"


def test_fm_core_counts_take_fm_mechanism_and_efficacy_claims() -> None:
    claim_rows = pd.DataFrame({"id": ["C01", "C02", "C03", "C04"],
                               "fm_specific": [True, True, False, True],
                               "claim_type": ["background", "mechanism", "mechanism", "safety"]})
    counts = claims.fm_core_counts(claim_rows, LEDGER)
    assert counts["n_core"] == 1 and counts["n_core_indirect"] == 1
    assert counts["n_core_unsupported"] == 0


def test_clinical_fm_searches() -> None:
    searches = pd.DataFrame({"scope": ["clinical FM", "clinical FM / registry", "registry"],
                             "n_relevant": [0, 2, 5]})
    assert claims.clinical_fm_searches(searches) == {"n_fm_searches": 2, "n_fm_search_hits": 2}


# --------------------------------------------------------------------------- figures


def test_verdicts_by_type_draws_the_counts() -> None:
    from mscfm.plots import verdicts as verdict_plots
    from mscfm.plots.style import alt_text

    counts = claims.crosstab(LEDGER, "claim_type", "verdict")
    fig = verdict_plots.verdicts_by_type(counts)
    ax = fig.axes[0]
    widths: dict[float, float] = {}
    for bar in ax.patches:
        widths[round(bar.get_y(), 3)] = widths.get(round(bar.get_y(), 3), 0) + bar.get_width()
    assert sorted(widths.values()) == [1, 1, 2]  # safety, background: 1 each; mechanism: 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["background", "mechanism", "safety"]
    assert "Stacked horizontal bar" in alt_text(fig)


def test_certainty_grid_annotates_each_nonzero_cell() -> None:
    from mscfm.plots import verdicts as verdict_plots

    grid = claims.crosstab(LEDGER, "verdict", "certainty")
    fig = verdict_plots.certainty_by_verdict(grid)
    texts = sorted(t.get_text() for t in fig.axes[0].texts if t.get_text())
    assert texts == ["1", "1", "1", "1"]
    with pytest.raises(ValueError, match="no claims"):
        verdict_plots.certainty_by_verdict(grid.iloc[0:0])
