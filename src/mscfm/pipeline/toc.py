"""The book's table of contents (`_toc.yml`), read once for the build and the tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from mscfm.paths import EXECUTED_DIR, TOC_FILE

EXECUTED_PREFIX = f"{EXECUTED_DIR}/"


def toc_files(root: Path) -> list[str]:
    """Every file of the book in reading order, as written in _toc.yml (no suffix)."""
    toc = yaml.safe_load((root / TOC_FILE).read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        walk(part["chapters"])
    return files


def chapter_names(root: Path) -> list[str]:
    """The chapters (executed notebooks) in the table of contents."""
    return [
        f.removeprefix(EXECUTED_PREFIX) for f in toc_files(root) if f.startswith(EXECUTED_PREFIX)
    ]
