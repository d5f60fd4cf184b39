"""`mscfm refresh-registry`: bring the ClinicalTrials.gov registry up to date (API v2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mscfm import paths, refresh


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "refresh-registry",
        help="query the ClinicalTrials.gov API v2 and write a new dated registry snapshot",
        description=(
            "Run the snapshot's searches against the ClinicalTrials.gov API v2, write "
            "data/raw/ctgov_v2_<date>.json.gz, data/registry_<date>.csv and a report of what "
            "changed (data/raw/ctgov_v2_<date>_diff.md). An interrupted run resumes where it "
            "stopped."
        ),
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="data folder to write into (default: data/)"
    )
    parser.add_argument(
        "--terms",
        nargs="+",
        metavar="TERM",
        default=list(refresh.SEARCH_TERMS),
        help="search terms (default: the snapshot's %(default)s)",
    )
    parser.add_argument(
        "--max-pages", type=int, default=None, metavar="N", help="stop each term after N pages"
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=refresh.DEFAULT_PAGE_SIZE,
        metavar="N",
        help=f"studies per request, 1-{refresh.MAX_PAGE_SIZE} (default: %(default)s)",
    )
    parser.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue an interrupted download of the same day (default: on)",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        default=None,
        metavar="SNAPSHOT",
        help="snapshot to compare with (default: the newest data/raw/ctgov_*.json.gz)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out_dir = args.out or paths.data_dir()
    client = refresh.CtgovClient(page_size=args.page_size)
    try:
        result = refresh.refresh(
            out_dir,
            client,
            terms=args.terms,
            max_pages=args.max_pages,
            resume=args.resume,
            previous=args.previous,
            progress=refresh.stderr_progress(),
        )
    finally:
        client.close()
    print(result.report, end="")
    for label, path in (
        ("raw snapshot", result.raw_path),
        ("registry table", result.table_path),
        ("diff report", result.diff_path),
    ):
        print(f"wrote {label}: {path}")
    return 0
