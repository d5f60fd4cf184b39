"""The article's sentence table and the claims' quotes (`mscfm.article`, `mscfm check-article`).

The project keeps no copy of the page, so the verbatim check runs on a small made-up page here
(every way it can fail is shown to fail), and on the real data only what needs no copy is
checked: every content sentence has a claim, quotes are short, sections agree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mscfm import article, data
from mscfm.cli import main
from mscfm.errors import DataError

ROOT = Path(__file__).resolve().parents[1]

PAGE = """top of page

A Title: Cells for Pain

Cells are small. They may help pain,
in some studies.Heading HereThe end comes soon.

Contact us
"""
ITEMS = [("navigation", "frame", "top of page"),
         ("title", "Title", "A Title: Cells for Pain"),
         ("content", "Intro", "Cells are small."),
         ("content", "Intro", "They may help pain, in some studies."),
         ("heading", "Heading Here", "Heading Here"),
         ("content", "Heading Here", "The end comes soon."),
         ("call_to_action", "frame", "Contact us")]


def sentence_table(items: list[tuple[str, str, str]] = ITEMS) -> pd.DataFrame:
    records = []
    for i, (role, section, text) in enumerate(items, 1):
        words = text.split()
        records.append({"id": f"A{i:02d}", "role": role, "section": section,
                        "opening": " ".join(words[:3]), "closing": " ".join(words[-3:]),
                        "n_words": len(words), "sha256": article.fingerprint(text)})
    return pd.DataFrame.from_records(records)


def claim_table(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """Claims (sentence id, section, quote, hedge)."""
    return pd.DataFrame.from_records(
        [(f"C{i:02d}", sid, section, quote, hedge)
         for i, (sid, section, quote, hedge) in enumerate(rows, 1)],
        columns=["id", "sentence_id", "article_section", "quote", "hedge"])


CLAIMS = claim_table(("A02", "Title", "Cells for Pain", ""),
                     ("A03", "Intro", "Cells are small", ""),
                     ("A04", "Intro", "help pain", "may"),
                     ("A06", "Heading Here", "The end comes soon.", ""))


def test_a_matching_page_passes_and_reports_the_quoted_share() -> None:
    result = article.check_page(PAGE, sentence_table(), CLAIMS)
    assert result.problems == []
    assert result.content_words == 5 + 3 + 7 + 4
    assert result.quoted_words == 3 + 3 + 2 + 4


@pytest.mark.parametrize("page, message", [
    (PAGE.replace("Cells are small.", "Cells are tiny."), "sentence A03: no text"),
    (PAGE.replace("help pain", "ease pain"), "sentence A04: no text"),
    (PAGE.replace("top of page", "top of page EXTRA"), "sentence A02: no text"),
    (PAGE + "\nbottom of page\n", "text after the last sentence"),
])
def test_a_changed_page_fails(page: str, message: str) -> None:
    problems = article.check_page(page, sentence_table(), CLAIMS).problems
    assert any(message in p for p in problems), problems


def test_a_quote_or_hedge_not_in_its_sentence_fails() -> None:
    bad = claim_table(("A03", "Intro", "Cells are large", ""),
                      ("A04", "Intro", "help pain", "might"),
                      ("A06", "Intro", "Cells are small", ""))
    problems = article.check_page(PAGE, sentence_table(), bad).problems
    assert any("claim C01: quote is not verbatim in sentence A03" in p for p in problems)
    assert any("claim C02: hedge 'might'" in p for p in problems)
    assert any("claim C03: quote is not verbatim in sentence A06" in p for p in problems)


def test_coverage_needs_a_claim_for_every_content_sentence() -> None:
    assert article.coverage_problems(sentence_table(), CLAIMS) == []
    missing = CLAIMS.iloc[:2]
    problems = article.coverage_problems(sentence_table(), missing)
    assert problems == ["sentence A04 (content) has no claim",
                        "sentence A06 (content) has no claim"]
    context = pd.concat([CLAIMS, claim_table(("A07", "frame", "Contact us", ""))
                         .assign(id="C09")])
    assert any("C09: sentence A07 is page context (call_to_action)" in p
               for p in article.coverage_problems(sentence_table(), context))
    wrong_section = CLAIMS.assign(article_section="Elsewhere")
    assert any("C01: article_section 'Elsewhere'" in p
               for p in article.coverage_problems(sentence_table(), wrong_section))
    with pytest.raises(DataError, match="sentence A04 \\(content\\) has no claim"):
        article.check_coverage(sentence_table(), missing)


def test_claim_ids_by_sentence() -> None:
    table = article.claim_ids_by_sentence(sentence_table(), CLAIMS)
    assert list(table["claim_ids"]) == ["", "C01", "C02", "C03", "", "C04", ""]


def test_hedges_split_on_semicolons() -> None:
    assert article.hedges("Studies suggest; may") == ["Studies suggest", "may"]
    assert article.hedges(pd.NA) == []


# --------------------------------------------------------------------------- the real ledger


@pytest.fixture(scope="module")
def real() -> dict[str, pd.DataFrame]:
    return {name: data.load(name, root=ROOT) for name in ("article_sentences", "claims")}


def test_real_claims_cover_every_content_sentence(real: dict[str, pd.DataFrame]) -> None:
    assert article.coverage_problems(real["article_sentences"], real["claims"]) == []


def test_real_sentence_table_keeps_only_short_quotes(real: dict[str, pd.DataFrame]) -> None:
    sentences = real["article_sentences"]
    for column in ("opening", "closing"):
        assert sentences[column].map(lambda text: len(text.split()) <= 3).all()
    assert (sentences["role"] == "call_to_action").any()  # page context is recorded
    content = sentences.loc[sentences["role"].isin(article.CLAIM_ROLES)]
    assert content["n_words"].sum() > 10 * len(content) - 1  # sentences, not fragments


def test_real_quotes_are_short_and_hedges_are_kept(real: dict[str, pd.DataFrame]) -> None:
    claims = real["claims"]
    assert claims["quote"].map(lambda q: len(q.split()) <= 15).all()
    hedged = claims.loc[claims["hedge"].notna()]
    assert len(hedged) > 0
    for claim in hedged.itertuples(index=False):
        words = {"may", "could", "potentially", "potential", "suggest", "Some"}
        assert any(w in claim.hedge for w in words), claim.id


def test_check_article_command_on_a_page(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         real: dict[str, pd.DataFrame]) -> None:
    """The command runs on the real tables; a page that is not the article fails with exit 2."""
    page = tmp_path / "page.txt"
    page.write_text(PAGE, encoding="utf-8")
    assert main(["check-article", str(page), "--root", str(ROOT)]) == 2
    output = capsys.readouterr().out
    assert "sentence A02: no text" in output and output.strip().endswith("problems")
    assert main(["check-article", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read the page" in capsys.readouterr().err


def test_first_and_last_words_and_short_items_whole() -> None:
    shown = article.first_and_last(sentence_table()).tolist()
    assert shown[0] == "\u201ctop of page\u201d"
    assert shown[3] == "\u201cThey may help \u2026 in some studies.\u201d"
    assert shown[4] == "\u201cHeading Here\u201d"
