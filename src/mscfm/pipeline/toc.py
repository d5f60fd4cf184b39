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


def check_toc(root: Path, chapters: list[str]) -> None:
    """Every chapter notebook is in the table of contents and every chapter entry there has a
    notebook; otherwise one error naming both sides."""
    from mscfm.errors import BuildError

    try:
        listed = chapter_names(root)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise BuildError(f"{root / TOC_FILE}: cannot read the table of contents ({exc})") from exc
    missing = [name for name in chapters if name not in listed]
    orphans = [name for name in listed if name not in chapters]
    problems = []
    if missing:
        problems.append(f"notebooks/ has chapters missing from it: {', '.join(missing)}")
    if orphans:
        problems.append(f"it lists chapters with no notebook in notebooks/: {', '.join(orphans)}")
    if problems:
        raise BuildError(f"{TOC_FILE} does not match the chapters: " + "; ".join(problems)
                         + f" (add or remove `file: {EXECUTED_PREFIX}NAME` entries)")
