"""Placeholder for the `sweep` subcommand(s); replaced by the module that owns them."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Nothing registered yet."""
