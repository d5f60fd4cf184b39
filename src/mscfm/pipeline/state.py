"""What a chapter's executed copy depends on, by content hash, and whether it must re-run.

A chapter depends on its notebook, its parameter values, the data files it declares, the package
code and the lock files. Hashes, not timestamps: touching a file changes nothing, and reverting a
change brings back the earlier fingerprint only together with the earlier inputs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import mscfm
from mscfm.pipeline.notebooks import Chapter

STATE_FILE = ".mscfm/state.json"
LOCK_FILES = ("requirements.txt", "constraints.txt")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def package_hash() -> str:
    """Hash of the mscfm package source that the notebooks will import."""
    package = Path(mscfm.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(chapter: Chapter, parameters: dict[str, Any], root: Path) -> dict[str, str]:
    """Every input of one chapter execution, as name -> content hash."""
    parts = {
        "notebook": sha256_file(chapter.source),
        "parameters": _sha256_text(json.dumps(parameters, sort_keys=True, default=str)),
        "package": package_hash(),
        "lock": _sha256_text("".join(sha256_file(root / f) for f in LOCK_FILES)),
    }
    for item in chapter.inputs:
        parts[item] = sha256_file(root / item)
    return parts


def _describe_change(old: dict[str, str], new: dict[str, str]) -> str:
    changed = sorted(k for k in new if old.get(k) != new[k])
    removed = sorted(k for k in old if k not in new)
    labels = {
        "notebook": "notebook changed",
        "parameters": "parameters changed",
        "package": "package code changed",
        "lock": "lock file changed",
    }
    reasons = [labels.get(k, f"data changed: {k}") for k in changed]
    reasons += [f"input no longer declared: {k}" for k in removed]
    return "; ".join(reasons)


@dataclass(frozen=True)
class Decision:
    chapter: Chapter
    parameters: dict[str, Any]
    rerun: bool
    reason: str
    fingerprint: dict[str, str]


class BuildState:
    """The fingerprints of the last successful execution of each chapter."""

    def __init__(self, root: Path) -> None:
        self.path = root / STATE_FILE
        try:
            self.entries: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def decide(
        self, chapter: Chapter, parameters: dict[str, Any], root: Path, force: bool = False
    ) -> Decision:
        new = fingerprint(chapter, parameters, root)
        old = self.entries.get(chapter.name)
        if force:
            reason = "forced (--force)"
        elif old is None:
            reason = "never executed"
        elif not chapter.executed_path(root).exists():
            reason = "executed copy missing"
        else:
            reason = _describe_change(old, new)
        return Decision(chapter, parameters, bool(reason), reason or "up to date", new)

    def record(self, decision: Decision) -> None:
        self.entries[decision.chapter.name] = decision.fingerprint

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)
