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

# Command -> module that registers it. Order = order in `mscfm --help`.
COMMANDS = {
    "build": "build",
    "validate": "data",
    "references": "data",
    "meta": "meta",
    "derive-registry": "registry",
    "refresh-registry": "refresh",
    "search-literature": "literature",
    "sweep": "sweep",
    "bundle": "bundle",
    "check-article": "article",
}
SUBCOMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def add_jobs_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The worker-count option shared by the commands that execute notebooks."""
    parser.add_argument("--jobs", "-j", type=int, default=0, metavar="N", help=help_text)


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with a known ``command`` only its module is imported (pandas, scipy or httpx
    cost seconds to import, and one command needs at most one of them)."""
    parser = argparse.ArgumentParser(
        prog="mscfm",
        description="Build, check and extend the MSC-for-fibromyalgia evidence report.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [COMMANDS[command]] if command in COMMANDS else SUBCOMMAND_MODULES
    for name in modules:
        importlib.import_module(f"mscfm.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = make_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MscfmError as exc:
        print(f"mscfm {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"mscfm {args.command}: interrupted{_interrupted_note(args.command)}",
              file=sys.stderr)
        return 130


def _interrupted_note(command: str) -> str:
    """An interrupted build published nothing; say so, and where its logs are."""
    if command != "build":
        return ""
    from mscfm.paths import LOG_DIR, project_root

    return (f"; the published book was left as it was; logs and notebooks of failed chapters "
            f"are in {project_root() / LOG_DIR}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
