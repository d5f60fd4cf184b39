"""`mscfm check-article PAGE`: check a copy of the audited page against the claims' quotes."""

from __future__ import annotations

import argparse
from pathlib import Path

from mscfm.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-article",
        help="check a text copy of the article page against the sentence table and every quote",
        description="The project keeps only short quotes of the article. Given a text copy of "
                    "the page, check that its sentences match data/article_sentences.csv in "
                    "order and that every claim's quote and hedges in data/claims.csv are "
                    "verbatim parts of their sentence. Exit 2 if anything differs.",
    )
    parser.add_argument("page", type=Path, help="text file with the page as published")
    parser.add_argument("--root", type=Path, default=None,
                        help="project root holding data/ (default: the report root)")
    parser.set_defaults(func=run_check_article)


def run_check_article(args: argparse.Namespace) -> int:
    from mscfm import article, data

    try:
        text = args.page.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{args.page}: cannot read the page as UTF-8 text ({exc})") from exc
    sentences = data.load("article_sentences", root=args.root)
    claims = data.load("claims", root=args.root)
    problems = article.coverage_problems(sentences, claims)
    result = article.check_page(text, sentences, claims)
    for problem in problems + result.problems:
        print(problem)
    if problems or result.problems:
        print(f"{len(problems) + len(result.problems)} problems")
        return 2
    print(f"article matches: {result.n_sentences} sentences, {result.n_claims} claim quotes "
          f"verbatim; quotes cover {result.quoted_words} of {result.content_words} content "
          f"words ({result.quoted_share:.0%})")
    return 0
