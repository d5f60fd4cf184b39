"""`mscfm validate` (check every curated table against its schema, report every problem) and
`mscfm references` (regenerate data/references.csv from references.bib)."""

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
    references = subparsers.add_parser(
        "references",
        help="write data/references.csv from references.bib (run after adding entries)",
        description="Regenerate data/references.csv, the table form of references.bib that the "
                    "data package declares as its 'references' resource.",
    )
    references.add_argument("--root", type=Path, default=None,
                            help="project root holding references.bib (default: the report root)")
    references.set_defaults(func=run_references)


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


def run_references(args: argparse.Namespace) -> int:
    from mscfm.data.bib import write_references

    path, count, changed = write_references(args.root)
    print(f"{path}: {count} entries ({'written' if changed else 'already up to date'})")
    return 0
