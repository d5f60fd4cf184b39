"""`mscfm validate`: check every curated table against its schema and report every problem."""

from __future__ import annotations

import argparse
from pathlib import Path

from mscfm.data import validation_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check data/ against data/datapackage.json; exit 2 if anything is wrong",
        description="Check every curated table (types, constraints, keys, sources) and print "
                    "each problem as file:row:column: message.",
    )
    parser.add_argument("--root", type=Path, default=None,
                        help="project root holding data/ (default: the report root)")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    report = validation_report(args.root)
    for problem in report.problems:
        print(problem)
    if report.problems:
        n_files = len({p.file for p in report.problems})
        noun = "problem" if len(report.problems) == 1 else "problems"
        print(f"{len(report.problems)} {noun} in {n_files} file{'s' * (n_files != 1)}")
        return 2
    print(f"data valid: {len(report.tables)} tables, {report.n_rows} rows")
    return 0
