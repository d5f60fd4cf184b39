"""`mscfm bundle [--out PATH]`: write the validated data bundle (zip) of the curated tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from mscfm.bundle import BUNDLE_NAME
from mscfm.paths import project_root
from mscfm.pipeline.book import HTML_DIR

# Inside the published HTML folder, so the static site serves it beside the book.
DEFAULT_OUT = f"{HTML_DIR}/{BUNDLE_NAME}"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bundle", help="write a zip of the curated data, schemas, references and a README",
        description="Write a deterministic zip of data/datapackage.json, the tables and "
                    "schemas it declares, references.bib and a generated README.md, after "
                    "checking that the extracted copy validates.",
    )
    parser.add_argument("--out", type=Path, default=None, metavar="PATH",
                        help=f"where to write the zip (default: {DEFAULT_OUT} under the "
                             "report root)")
    parser.set_defaults(func=run_bundle)


def run_bundle(args: argparse.Namespace) -> int:
    from mscfm.bundle import write_bundle

    root = project_root()
    out = args.out if args.out is not None else root / DEFAULT_OUT
    written = write_bundle(root, out)
    print(f"data bundle: {written}")
    return 0
