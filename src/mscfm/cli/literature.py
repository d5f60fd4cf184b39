"""`mscfm search-literature`: run the PubMed and Europe PMC strategies of data/strategies.csv."""

from __future__ import annotations

import argparse
from pathlib import Path

from mscfm import paths


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search-literature",
        help="run the PubMed and Europe PMC search strategies and write a dated records table",
        description=(
            "Run the PubMed/MEDLINE (NCBI E-utilities) and Europe PMC strategies of "
            "data/strategies.csv, keep every raw answer under data/raw/literature/<date>/, merge "
            "the records (PMID, then DOI, then normalised title) into data/literature_<date>.csv "
            "and report what changed since the previous run. Set NCBI_API_KEY for PubMed's "
            "higher rate limit."
        ),
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="data folder to read strategies from and write into (default: data/)")
    parser.add_argument("--strategies", nargs="+", metavar="ID", default=None,
                        help="strategy ids to run (default: every PubMed and Europe PMC row)")
    parser.add_argument("--max-pages", type=int, default=None, metavar="N",
                        help="stop each strategy after N pages of records")
    parser.add_argument("--page-size", type=int, default=None, metavar="N",
                        help="records per request (default: 200 for PubMed, 1000 for Europe PMC)")
    parser.add_argument("--previous", type=Path, default=None, metavar="TABLE",
                        help="records table to compare with (default: the newest "
                             "data/literature_<date>.csv)")
    parser.set_defaults(func=run)


def make_client():  # noqa: ANN201 - the client type lives in a module imported lazily
    from mscfm.literature import LiteratureClient

    return LiteratureClient()


def run(args: argparse.Namespace) -> int:
    from mscfm import literature

    out_dir = args.out or paths.data_dir()
    if args.max_pages is not None and args.max_pages < 1:
        raise literature.LiteratureError(f"--max-pages must be at least 1, got {args.max_pages}")
    if args.page_size is not None and not 1 <= args.page_size <= 1000:
        raise literature.LiteratureError(f"--page-size must be 1-1000, got {args.page_size}")
    strategies = literature.load_strategies(out_dir, args.strategies)
    client = make_client()
    try:
        result = literature.search_literature(out_dir, strategies, client,
                                              max_pages=args.max_pages, page_size=args.page_size,
                                              previous=args.previous)
    finally:
        client.close()
    print(result.report, end="")
    print(f"wrote raw answers: {result.raw_dir}")
    print(f"wrote records table: {result.table_path}")
    print(f"wrote diff report: {result.diff_path}")
    return 0
