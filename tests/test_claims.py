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
DIRECT = sorted(claims.DIRECT_KINDS)[0]
INDIRECT = sorted(claims.INDIRECT_KINDS)
NULL = sorted(claims.NULL_KINDS)[0]
WEAK, MODERATE, STRONG = sorted(claims.STRENGTH_RANK, key=claims.STRENGTH_RANK.get)
EVIDENCE_COLUMNS = ["id", "claim_id", "evidence_kind", "direction", "strength", "source"]


def evidence(*rows: tuple[str, str, str | None], claim_id: str = "C01") -> pd.DataFrame:
    """Evidence rows (kind, direction, strength) for one claim, with ids E01, E02, ..."""
    records = [(f"E{i:02d}", claim_id, kind, direction, strength, f"src{i}")
               for i, (kind, direction, strength) in enumerate(rows, 1)]
    return pd.DataFrame.from_records(records, columns=EVIDENCE_COLUMNS)


def downgrades(*rows: tuple[str, int, str], claim_id: str = "C01") -> pd.DataFrame:
    records = [(f"G{i:02d}", claim_id, domain, levels, reason)
               for i, (domain, levels, reason) in enumerate(rows, 1)]
    return pd.DataFrame.from_records(records, columns=["id", "claim_id", "domain", "levels",
                                                       "reason"])


# --------------------------------------------------------------------------- each rule


@pytest.mark.parametrize("rows, expected", [
    # direct support, nothing against
    ([(DIRECT, SUPPORTS, WEAK)], "supported"),
    ([(DIRECT, SUPPORTS, WEAK), (INDIRECT[0], SUPPORTS, STRONG)], "supported"),
    ([(DIRECT, SUPPORTS, STRONG), (NULL, SUPPORTS, None)], "supported"),
    # support only from elsewhere
    ([(INDIRECT[0], SUPPORTS, STRONG)], "indirect"),
    ([(kind, SUPPORTS, MODERATE) for kind in INDIRECT], "indirect"),
    ([(INDIRECT[-1], SUPPORTS, WEAK), (DIRECT, NEUTRAL, STRONG)], "indirect"),
    # nothing counts
    ([], "unsupported"),
    ([(NULL, SUPPORTS, None)], "unsupported"),
    ([(NULL, CONTRADICTS, None), (NULL, NEUTRAL, None)], "unsupported"),
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


# --------------------------------------------------------------------------- totality

KINDS = sorted(claims.DIRECT_KINDS | claims.INDIRECT_KINDS | claims.NULL_KINDS)
row_strategy = st.tuples(st.sampled_from(KINDS), st.sampled_from(claims.DIRECTIONS),
                         st.sampled_from(sorted(claims.STRENGTH_RANK)))


@settings(max_examples=300, deadline=None)
@given(st.lists(row_strategy, max_size=8))
def test_rules_are_total_and_exclusive(rows: list[tuple[str, str, str]]) -> None:
    frame = evidence(*rows)
    matches = claims.matching_rules(claims.facts(frame))
    assert len(matches) == 1
    assert claims.verdict(frame) in claims.VERDICTS


@settings(max_examples=200, deadline=None)
@given(st.lists(row_strategy, max_size=6), st.sampled_from(KINDS),
       st.sampled_from(sorted(claims.STRENGTH_RANK)))
def test_adding_a_contradiction_never_makes_a_claim_better(
        rows: list[tuple[str, str, str]], kind: str, strength: str) -> None:
    """Monotonicity: one more row against a claim cannot move it to supported or indirect."""
    before = claims.verdict(evidence(*rows))
    after = claims.verdict(evidence(*rows, (kind, CONTRADICTS, strength)))
    if kind in claims.NULL_KINDS:
        assert after == before
    else:
        assert after in ("contradicted", "partly supported")


def test_every_verdict_has_a_rule_and_every_rule_a_known_verdict() -> None:
    assert sorted(r.verdict for r in claims.RULES) == sorted(claims.VERDICTS)


# --------------------------------------------------------------------------- certainty


def test_certainty_starts_from_best_kind_and_adds_levels() -> None:
    rows = evidence((INDIRECT[0], SUPPORTS, STRONG), (DIRECT, SUPPORTS, WEAK))
    start = claims.START_BY_KIND[DIRECT]
    rating = claims.certainty(rows, downgrades(("risk of bias", -1, "open-label trials")))
    expected = claims.CERTAINTY_LEVELS[claims.CERTAINTY_LEVELS.index(start) - 1]
    assert rating.start == start
    assert rating.level == expected
    assert rating.downgrades == (("risk of bias", -1, "open-label trials"),)


def test_certainty_levels_add_up() -> None:
    rows = evidence((DIRECT, SUPPORTS, STRONG))
    rating = claims.certainty(rows, downgrades(("start", 0, "high"), ("imprecision", -1, "n=12"),
                                               ("indirectness", -1, "knee OA")))
    assert rating.start == "high"
    assert rating.level == "low"  # high - 1 - 1


def test_certainty_clamps_at_both_ends() -> None:
    rows = evidence((DIRECT, SUPPORTS, STRONG))
    low = claims.certainty(rows, downgrades(("start", 0, "moderate"), ("bias", -2, "a"),
                                            ("imprecision", -2, "b")))
    assert low.level == "very low"
    high = claims.certainty(rows, downgrades(("start", 0, "moderate"), ("large effect", 2, "c")))
    assert high.level == "high"


def test_no_counted_evidence_gives_no_evidence() -> None:
    rows = evidence((NULL, SUPPORTS, None), (DIRECT, NEUTRAL, STRONG))
    assert claims.certainty(rows, downgrades(("imprecision", -1, "x"))).level == claims.NO_EVIDENCE
    assert claims.certainty(evidence(), downgrades()).level == claims.NO_EVIDENCE


def test_unknown_start_level_is_an_error() -> None:
    with pytest.raises(DataError, match="'excellent'"):
        claims.certainty(evidence((DIRECT, SUPPORTS, STRONG)),
                         downgrades(("start", 0, "excellent")))


# --------------------------------------------------------------------------- ledger


def test_ledger_one_row_per_claim_sorted() -> None:
    claim_rows = pd.DataFrame({"id": ["C02", "C01", "C03"], "claim": ["b", "a", "c"],
                               "claim_type": ["mechanism", "background", "safety"],
                               "chapter": ["04_x", "02_y", "08_z"]})
    ev = pd.concat([evidence((DIRECT, SUPPORTS, STRONG), claim_id="C01"),
                    evidence((INDIRECT[0], SUPPORTS, WEAK), (NULL, SUPPORTS, None),
                             claim_id="C02")], ignore_index=True)
    table = claims.ledger(claim_rows, ev, downgrades(claim_id="C01"))
    assert list(table["claim_id"]) == ["C01", "C02", "C03"]
    assert list(table["verdict"]) == ["supported", "indirect", "unsupported"]
    assert list(table["n_evidence"]) == [1, 2, 0]
    assert list(table["certainty"]) == [claims.START_BY_KIND[DIRECT],
                                        claims.START_BY_KIND[INDIRECT[0]], claims.NO_EVIDENCE]
    assert table.loc[1, "key_sources"] == "src1"  # the null search is not a key source


# --------------------------------------------------------------------------- methods page


def methods_rules_section() -> str:
    text = (ROOT / "book" / "methods.md").read_text(encoding="utf-8")
    match = re.search(r"^## Verdict rules\n\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, "book/methods.md has no '## Verdict rules' section"
    return match.group(1).strip()


def test_methods_page_states_the_rules_verbatim() -> None:
    assert methods_rules_section() == claims.rules_markdown().strip()
