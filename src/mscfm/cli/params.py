"""`mscfm params CHAPTER`: a chapter's parameters, as its parameters cell declares them."""

from __future__ import annotations

import argparse

from mscfm.paths import project_root


def _run(args: argparse.Namespace) -> int:
    from mscfm.parameters import describe
    from mscfm.pipeline.notebooks import find_chapter

    chapter = find_chapter(project_root(), args.chapter)
    print(describe(chapter.name, chapter.parameters))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "params",
        help="list a chapter's parameters: names, types, defaults, allowed values, meaning",
        description="Read the chapter notebook's parameters cell (nothing runs) and list each "
        "parameter with its type, default, allowed values and documentation; `mscfm build -p` "
        "and `mscfm sweep -p` refuse any other value before a kernel starts.",
    )
    p.add_argument("chapter", metavar="CHAPTER", help="chapter name (07_efficacy) or number (07)")
    p.set_defaults(func=_run)
