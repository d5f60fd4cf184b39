"""The `mscfm` command line: argument parsing only; each subcommand lives in its own module.

A subcommand module defines ``register(subparsers)``, which adds its parser and sets
``func=callable(args) -> int``. Errors derived from :class:`mscfm.errors.MscfmError` become one
line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from mscfm.errors import MscfmError, plain

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
    "params": "params",
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
        print(f"mscfm {args.command}: error: {plain(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # disk full, read-only output, a file gone: one line, no traceback
        where = f" {exc.filename}" if exc.filename else ""
        what = exc.strerror or str(exc) or type(exc).__name__
        log = _log_traceback(args.command)
        print(f"mscfm {args.command}: error: cannot write or read{where}: {what}{log}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mscfm {args.command}: interrupted{_interrupted_note(args.command)}",
              file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - any other failure: one line, traceback in the log
        first = plain(str(exc)).strip().splitlines()
        log = _log_traceback(args.command)
        print(f"mscfm {args.command}: error: {type(exc).__name__}"
              f"{': ' + first[0] if first else ''}{log}", file=sys.stderr)
        return 1


def _log_traceback(command: str) -> str:
    """Write the current exception's traceback to _build/reports/ (``; traceback in PATH``),
    or to the system's temporary folder when the project's cannot be written."""
    import tempfile
    import traceback

    from mscfm.paths import LOG_DIR, project_root

    text = traceback.format_exc()
    candidates = []
    try:
        candidates.append(project_root() / LOG_DIR)
    except (OSError, FileNotFoundError):
        pass
    candidates.append(Path(tempfile.gettempdir()))
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"mscfm-{command}-traceback.log"
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        return f" (traceback in {path})"
    return ""


def _interrupted_note(command: str) -> str:
    """An interrupted build published nothing; say so, and where its logs are."""
    if command != "build":
        return ""
    from mscfm.paths import LOG_DIR, project_root

    return (f"; the published book was left as it was; logs and notebooks of failed chapters "
            f"are in {project_root() / LOG_DIR}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
