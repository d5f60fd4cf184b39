"""The `mscfm` command line: argument parsing only; each subcommand lives in its own module.

A subcommand module defines ``register(subparsers)``, which adds its parser and sets
``func=callable(args) -> int``. Errors derived from :class:`mscfm.errors.MscfmError` become one
line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mscfm.errors import MscfmError

# Order = order in `mscfm --help`.
SUBCOMMAND_MODULES = ("build", "data", "meta", "registry", "refresh", "sweep", "bundle")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mscfm",
        description="Build, check and extend the MSC-for-fibromyalgia evidence report.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(f"mscfm.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MscfmError as exc:
        print(f"mscfm {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"mscfm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
