"""Debian's chromium for Playwright: where it is and the flags the house launches it with."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def chromium_path() -> str:
    for path in CHROMIUM_CANDIDATES:
        if Path(path).exists():
            return path
    pytest.fail("chromium is not installed: run `sudo bash scripts/system-deps.sh all` "
                "(apt-get install chromium)")
