"""`mscfm build`: execute the chapters that changed, then build and publish the book."""

from __future__ import annotations

import argparse

from mscfm.cli import add_jobs_option
from mscfm.paths import project_root


def _run(args: argparse.Namespace) -> int:
    from mscfm.pipeline.build import BuildOptions, run_build

    options = BuildOptions(
        jobs=args.jobs,
        force=args.force,
        only=args.only or [],
        pdf=not args.no_pdf,
        assignments=args.param or [],
        explain=args.explain,
        scheduler=args.scheduler,
    )
    run_build(project_root(), options)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build",
        help="execute changed chapters and build the book (HTML and PDF)",
        description="Execute the chapter notebooks whose inputs changed (papermill, in parallel), "
        "then build the Jupyter Book as HTML and PDF and publish it to _build/.",
    )
    add_jobs_option(p, "worker processes (default: one per core)")
    p.add_argument("--force", action="store_true", help="re-execute every selected chapter")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="execute only this chapter (repeatable); the book is still built whole",
    )
    p.add_argument("--no-pdf", action="store_true", help="build the HTML only")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="[CHAPTER.]NAME=VALUE",
        help="set a notebook parameter (checked against the notebook's declaration)",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="say for each chapter whether it would re-run and why; run nothing",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="execute the chapters on this Dask distributed scheduler (the optional extra "
        "'cluster'); its workers need the package and the project at the same path",
    )
    p.set_defaults(func=_run)
