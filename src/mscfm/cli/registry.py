"""Registry subcommands: `mscfm derive-registry` (one function pair per subcommand).

To add a subcommand, write ``_add_<name>(subparsers)`` and ``_run_<name>(args) -> int`` and call
the former from :func:`register`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mscfm import paths

RAW_SNAPSHOT = Path(paths.RAW_DIR) / "ctgov_msc_2022-10.json.gz"
REGISTRY_CSV = Path("registry.csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    _add_derive_registry(subparsers)


# --- derive-registry -----------------------------------------------------------------------------


def _add_derive_registry(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "derive-registry",
        help="derive data/registry.csv from the raw ClinicalTrials.gov snapshot",
        description=(
            "Derive the registry table (one row per trial) from the raw ClinicalTrials.gov "
            "snapshot with the rules in mscfm.registry, and write it, or with --check compare it "
            "with the file on disk."
        ),
    )
    parser.add_argument(
        "--raw", type=Path, default=None, help=f"snapshot to read (default: data/{RAW_SNAPSHOT})"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"CSV to write or check (default: data/{REGISTRY_CSV})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the CSV differs from a fresh derivation",
    )
    parser.set_defaults(func=_run_derive_registry)


def _run_derive_registry(args: argparse.Namespace) -> int:
    # Imported here so that `mscfm --help` does not pay for pandas.
    from mscfm.registry import derive_table, load_snapshot, registry_csv_text, write_registry

    raw = args.raw or paths.data_dir() / RAW_SNAPSHOT
    out = args.out or paths.data_dir() / REGISTRY_CSV
    table = derive_table(load_snapshot(raw))
    if args.check:
        fresh = registry_csv_text(table).encode("utf-8")
        if out.is_file() and out.read_bytes() == fresh:
            print(f"{out}: up to date ({len(table)} trials)")
            return 0
        reason = "is missing" if not out.is_file() else "differs from a fresh derivation"
        print(f"{out} {reason}; run `mscfm derive-registry` to update it", file=sys.stderr)
        return 1
    write_registry(table, out)
    print(f"{out}: {len(table)} trials written from {raw}")
    return 0
