"""The audited article: its sentence table, coverage by claims, and checks against a copy.

The project keeps only short quotes of the page (data/article_sentences.csv holds each
sentence's first and last words, word count and a SHA-256 fingerprint; data/claims.csv holds
each claim's quote). A whole-page copy is not kept, so the verbatim check needs one:
`check_page(text, sentences, claims)` (CLI: `mscfm check-article PAGE`) finds every sentence in
the text by its fingerprint, checks that the sentences tile the whole page in order, and that
every quote and hedge is a verbatim part of its sentence. `check_coverage` needs no copy: every
content sentence has a claim, and claims quote only content sentences.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pandas as pd

from mscfm.errors import DataError

CLAIM_ROLES: tuple[str, ...] = ("title", "content")  # sentence roles that carry claims
CONTEXT_ROLES: tuple[str, ...] = ("byline", "heading", "navigation", "call_to_action")
HEDGE_SEPARATOR = ";"


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces: how sentences are fingerprinted and compared."""
    return " ".join(text.split())


def fingerprint(text: str) -> str:
    """SHA-256 (hex) of the normalised text, as stored in article_sentences.sha256."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def hedges(cell: object) -> list[str]:
    """The hedge words of a claims.hedge cell ("Studies suggest; may" -> two hedges)."""
    if not isinstance(cell, str):
        return []
    return [part.strip() for part in cell.split(HEDGE_SEPARATOR) if part.strip()]


def first_and_last(sentences: pd.DataFrame) -> pd.Series:
    """Each sentence shown by its kept words: “first words … last words” (the whole item when
    it is no longer than the two together)."""
    def shown(row: pd.Series) -> str:
        first, last = row["opening"].split(), row["closing"].split()
        overlap = len(first) + len(last) - int(row["n_words"])
        if overlap >= 0:  # a short item: the kept words are all of it
            return "\u201c" + " ".join(first + last[overlap:]) + "\u201d"
        return f"\u201c{row['opening']} \u2026 {row['closing']}\u201d"
    return sentences.apply(shown, axis=1)


# --------------------------------------------------------------------------- coverage


def claim_ids_by_sentence(sentences: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """The sentence table with the claims that quote each sentence (column claim_ids, "; ")."""
    ids = claims.sort_values("id").groupby("sentence_id")["id"].agg("; ".join)
    table = sentences.sort_values("id").reset_index(drop=True)
    return table.assign(claim_ids=table["id"].map(ids).fillna(""))


def coverage_problems(sentences: pd.DataFrame, claims: pd.DataFrame) -> list[str]:
    """What keeps the claims from covering the page: content sentences without a claim, claims
    that quote context or an unknown sentence, sections that disagree, over-long quotes."""
    problems = []
    roles = dict(zip(sentences["id"], sentences["role"], strict=True))
    sections = dict(zip(sentences["id"], sentences["section"], strict=True))
    words = dict(zip(sentences["id"], sentences["n_words"], strict=True))
    quoted = set(claims["sentence_id"])
    for sentence_id, role in sorted(roles.items()):
        if role in CLAIM_ROLES and sentence_id not in quoted:
            problems.append(f"sentence {sentence_id} ({role}) has no claim")
    for claim in claims.sort_values("id").itertuples(index=False):
        role = roles.get(claim.sentence_id)
        if role is None:
            problems.append(f"claim {claim.id}: sentence_id {claim.sentence_id!r} is not in "
                            "article_sentences.csv")
            continue
        if role not in CLAIM_ROLES:
            problems.append(f"claim {claim.id}: sentence {claim.sentence_id} is page context "
                            f"({role}), which carries no claims")
        if claim.article_section != sections[claim.sentence_id]:
            problems.append(f"claim {claim.id}: article_section {claim.article_section!r} is not "
                            f"the section of sentence {claim.sentence_id} "
                            f"({sections[claim.sentence_id]!r})")
        if len(normalise(claim.quote).split()) > words[claim.sentence_id]:
            problems.append(f"claim {claim.id}: quote is longer than sentence {claim.sentence_id}")
    return problems


def check_coverage(sentences: pd.DataFrame, claims: pd.DataFrame) -> None:
    """Raise DataError listing every coverage problem (see `coverage_problems`)."""
    problems = coverage_problems(sentences, claims)
    if problems:
        raise DataError("article coverage: " + "; ".join(problems))


# --------------------------------------------------------------------------- checks against a copy


@dataclass
class PageCheck:
    """Result of checking a copy of the page against the sentence table and the claims."""

    problems: list[str] = field(default_factory=list)
    n_sentences: int = 0
    n_claims: int = 0
    content_words: int = 0
    quoted_words: int = 0  # content words inside at least one claim quote

    @property
    def quoted_share(self) -> float:
        return self.quoted_words / self.content_words if self.content_words else 0.0


def _locate(page: str, start: int, row: object) -> tuple[int, int] | None:
    """Span of the sentence `row` in `page`, beginning at `start` (after whitespace only)."""
    begin = page.find(row.opening, start)
    if begin < 0 or page[start:begin].strip():
        return None
    end = page.find(row.closing, begin)
    while end >= 0:
        span = (begin, end + len(row.closing))
        if fingerprint(page[span[0]:span[1]]) == row.sha256:
            return span
        end = page.find(row.closing, end + 1)
    return None


def check_page(text: str, sentences: pd.DataFrame, claims: pd.DataFrame) -> PageCheck:
    """Check a copy of the page: the sentences, in id order, tile it exactly (nothing between
    them but whitespace, nothing left over), each matches its fingerprint and word count, and
    every claim's quote and hedges are verbatim parts of its sentence."""
    page = normalise(text)
    result = PageCheck(n_sentences=len(sentences), n_claims=len(claims))
    spans: dict[str, tuple[int, int]] = {}
    cursor = 0
    for row in sentences.sort_values("id").itertuples(index=False):
        span = _locate(page, cursor, row)
        if span is None:
            result.problems.append(f"sentence {row.id}: no text at position {cursor} starts with "
                                   f"{row.opening!r} and matches its fingerprint")
            continue
        if len(page[span[0]:span[1]].split()) != row.n_words:
            result.problems.append(f"sentence {row.id}: {len(page[span[0]:span[1]].split())} "
                                   f"words, expected {row.n_words}")
        spans[row.id] = span
        cursor = span[1]
    if not result.problems and page[cursor:].strip():
        result.problems.append(f"text after the last sentence is not in the table: "
                               f"{page[cursor:cursor + 40]!r}")
    quoted = [False] * len(page)
    for claim in claims.sort_values("id").itertuples(index=False):
        if claim.sentence_id not in spans:
            continue
        begin, end = spans[claim.sentence_id]
        sentence = page[begin:end]
        quote = normalise(claim.quote)
        at = sentence.find(quote)
        if at < 0:
            result.problems.append(f"claim {claim.id}: quote is not verbatim in sentence "
                                   f"{claim.sentence_id}: {claim.quote!r}")
        else:
            quoted[begin + at:begin + at + len(quote)] = [True] * len(quote)
        for hedge in hedges(claim.hedge):
            if hedge not in sentence:
                result.problems.append(f"claim {claim.id}: hedge {hedge!r} is not in sentence "
                                       f"{claim.sentence_id}")
    result.content_words, result.quoted_words = _word_counts(page, sentences, spans, quoted)
    return result


def _word_counts(page: str, sentences: pd.DataFrame, spans: dict[str, tuple[int, int]],
                 quoted: list[bool]) -> tuple[int, int]:
    """Words in content sentences, and how many of them lie (at least partly) inside a quote."""
    content = set(sentences.loc[sentences["role"].isin(CLAIM_ROLES), "id"])
    total = inside = 0
    for sentence_id, (begin, end) in spans.items():
        if sentence_id not in content:
            continue
        position = begin
        for word in page[begin:end].split(" "):
            total += 1
            inside += any(quoted[position:position + len(word)])
            position += len(word) + 1
    return total, inside
