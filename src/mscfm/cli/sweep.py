"""`mscfm sweep`: run one chapter over a grid of parameter values and tabulate its key results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mscfm.cli import add_jobs_option
from mscfm.paths import project_root


def _run(args: argparse.Namespace) -> int:
    from mscfm.pipeline.build import Progress
    from mscfm.pipeline.sweep import SweepOptions, plan_sweep, run_sweep, to_markdown

    root = project_root()
    options = SweepOptions(
        chapter=args.chapter,
        specs=args.param or [],
        jobs=args.jobs,
        scheduler=args.scheduler,
        out=Path(args.out) if args.out else None,
        keys=[k.strip() for k in args.keys.split(",") if k.strip()] if args.keys else None,
    )
    # Checked (names, types) before anything runs; also gives the number of points.
    plan = plan_sweep(root, options.chapter, options.specs, options.out)
    where = f"Dask scheduler {options.scheduler}" if options.scheduler else "local workers"
    print(f"sweep {plan.chapter.name}: {len(plan.points)} grid points on {where}", file=sys.stderr)
    result = run_sweep(root, options, on_done=Progress(len(plan.points)).step)
    print(to_markdown(result))
    for kind, path in result.files.items():
        print(f"{kind}: {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run a chapter over a grid of parameter values; tabulate and plot its key results",
        description="Execute one chapter once per point of the grid (cartesian product of the "
        "-p values), each as a separate papermill run, then collect the numbers the chapter "
        "glues into its prose into one table (CSV + markdown) and one figure (PNG). The book "
        "and the build state are not touched.",
        epilog="Values are separated by ','. A list-typed parameter takes its values separated "
        "by ';', each one a comma-separated list: -p estimators='REML,DL;PM' sweeps "
        "[REML, DL] and [PM]. Example: mscfm sweep 07_efficacy -p method=REML,DL,PM "
        "-p timepoint_months=3,6,12",
    )
    p.add_argument("chapter", metavar="CHAPTER", help="chapter name (07_efficacy) or number (07)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=V1,V2,...",
        help="values of one parameter to sweep (repeatable; checked against the notebook)",
    )
    add_jobs_option(p, "local worker processes (default: one per core)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the grid on this Dask distributed scheduler (e.g. tcp://10.0.0.5:8786); its "
        "workers need the package and the project at the same path",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the executed copies and results (default: _build/sweeps/CHAPTER)",
    )
    p.add_argument(
        "--keys",
        metavar="A,B",
        help="glued numbers to put in the table and figure (default: every glued number)",
    )
    p.set_defaults(func=_run)
