"""What a chapter's executed copy depends on, and whether it must re-run (the rebuild state).

A chapter depends on its notebook, its parameter values, the data files it declares, the package
modules it imports (transitively: `mscfm.pipeline.imports`) and the lock files. The state file
(``.mscfm/build-state.json``) records, per chapter, the SHA-256 of every one of those files as it
was when the chapter last ran successfully, a hash of the parameter values, and the SHA-256 of
the executed copy that run produced. Rules:

- Change detection is by content, always: a file is never trusted because its size and
  modification time are unchanged (``touch -r`` after an edit is caught).
- The state names files relative to the project root (package files as ``package:mscfm/...``),
  so a moved or renamed checkout reuses every chapter.
- An executed copy whose hash differs from the one recorded (written by anything but the build
  that recorded it) counts as out of date.
- The file is written atomically (temporary file, then rename). A file that cannot be read is
  set aside (``build-state.json.corrupt``) with a one-line message, and every chapter re-runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mscfm
from mscfm.paths import STATE_FILE
from mscfm.pipeline.imports import chapter_package_files
from mscfm.pipeline.notebooks import Chapter

LOCK_FILES = ("requirements.txt", "constraints.txt")
PACKAGE_PREFIX = "package:"
STATE_VERSION = 1


def _package_key(path: str) -> str:
    package = Path(mscfm.__file__).resolve().parent
    return PACKAGE_PREFIX + Path(path).relative_to(package.parent).as_posix()


def dependency_files(chapter: Chapter, parameters: dict[str, Any], root: Path) -> dict[str, Path]:
    """Every file the chapter's executed copy depends on, by its key in the state."""
    deps: dict[str, Path] = {chapter.source.relative_to(root).as_posix()
                             if chapter.source.is_relative_to(root)
                             else chapter.source.as_posix(): chapter.source}
    for item in chapter.resolved_inputs(parameters):
        deps[item] = root / item
    for name in LOCK_FILES:
        if (root / name).exists():
            deps[name] = root / name
    for path in chapter_package_files(chapter.source):  # the modules it imports, transitively
        deps[_package_key(path)] = Path(path)
    return deps


def file_hash(path: Path) -> str:
    """SHA-256 of a file's content ("" when it does not exist)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return ""
    return digest.hexdigest()


def parameters_hash(parameters: dict[str, Any]) -> str:
    text = json.dumps(parameters, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _label(key: str, chapter: Chapter) -> str:
    if key.endswith(f"{chapter.name}.ipynb") and not key.startswith(("data/", PACKAGE_PREFIX)):
        return "notebook changed"
    if key.startswith(PACKAGE_PREFIX):
        return f"package code changed: {key.removeprefix(PACKAGE_PREFIX)}"
    if key in LOCK_FILES:
        return "lock file changed"
    return f"data changed: {key}"


def _reasons(recorded: dict, deps: dict[str, str], params: str, executed: str,
             chapter: Chapter) -> str:
    labels: list[str] = []

    def add(label: str) -> None:
        if label not in labels:
            labels.append(label)

    old = recorded.get("deps", {})
    for key, digest in deps.items():
        if old.get(key) != digest:
            add(_label(key, chapter))
    for key in old:
        if key not in deps:
            label = _label(key, chapter)
            add(f"input no longer declared: {key}" if label.startswith("data") else label)
    if recorded.get("parameters") != params:
        add("parameters changed")
    if not labels:
        if not executed:
            add("executed copy missing")
        elif recorded.get("executed") != executed:
            add("executed copy changed since the build that made it")
    return "; ".join(labels)


@dataclass(frozen=True)
class Decision:
    chapter: Chapter
    parameters: dict[str, Any]
    rerun: bool
    reason: str
    deps: dict[str, str] = field(default_factory=dict)  # key -> SHA-256 when decided


def note(text: str) -> None:
    """A one-line notice on stderr (the build goes on)."""
    print(f"mscfm build: {text}", file=sys.stderr)


class BuildState:
    """The record of the last successful execution of each chapter."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self.chapters: dict[str, dict] = self._load()

    def _load(self) -> dict[str, dict]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            note(f"cannot read the rebuild state {self.path} ({exc.strerror}); "
                 "every chapter will re-run")
            return {}
        try:
            data = json.loads(text)
            chapters = data["chapters"]
            if data.get("version") != STATE_VERSION or not isinstance(chapters, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("deps"), dict) for v in chapters.values()
            ):
                raise ValueError("unexpected structure")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, aside)
            note(f"the rebuild state {self.path} is corrupt ({exc}); set aside as {aside.name}, "
                 "every chapter will re-run")
            return {}
        return chapters

    def decide(
        self, chapter: Chapter, parameters: dict[str, Any], root: Path, force: bool = False
    ) -> Decision:
        deps = {key: file_hash(path)
                for key, path in dependency_files(chapter, parameters, root).items()}
        recorded = self.chapters.get(chapter.name)
        if force:
            reason = "forced (--force)"
        elif recorded is None:
            reason = "never executed"
        else:
            executed = file_hash(chapter.executed_path(root))
            reason = _reasons(recorded, deps, parameters_hash(parameters), executed, chapter)
        return Decision(chapter, parameters, bool(reason), reason or "up to date", deps)

    def changed_inputs(self, decision: Decision) -> list[str]:
        """Declared data inputs whose content differs from when the decision was made (a
        chapter that wrote into data/)."""
        changed = []
        for key, path in dependency_files(decision.chapter, decision.parameters,
                                          self.root).items():
            if key.startswith("data/") and file_hash(path) != decision.deps.get(key):
                changed.append(key)
        return changed

    def record(self, decision: Decision) -> None:
        """Record a successful run; call after its executed copy is in place."""
        self.chapters[decision.chapter.name] = {
            "deps": dict(decision.deps),
            "parameters": parameters_hash(decision.parameters),
            "executed": file_hash(decision.chapter.executed_path(self.root)),
        }

    def forget(self, name: str) -> None:
        self.chapters.pop(name, None)

    def save(self) -> None:
        """Write the state atomically: a killed build leaves the old file or the new one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": STATE_VERSION, "chapters": self.chapters}, indent=1,
                          sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def clean_leftovers(root: Path, chapters: list[Chapter], state: BuildState) -> list[str]:
    """Remove what an interrupted or older build left in the book (under the build lock):
    half-written runs (``*.running.ipynb``) and executed copies of chapters that no longer
    exist (their state is forgotten). Returns one line per thing removed."""
    from mscfm.paths import EXECUTED_DIR

    removed = []
    folder = root / EXECUTED_DIR
    names = {c.name for c in chapters}
    for path in sorted(folder.glob("*.running.ipynb")):
        path.unlink()
        removed.append(f"removed an unfinished run left by an interrupted build: {path.name}")
    for path in sorted(folder.glob("*.ipynb")):
        if path.stem not in names:
            path.unlink()
            removed.append(f"removed the executed copy of a chapter that no longer exists: "
                           f"{path.name}")
    for name in [n for n in state.chapters if n not in names]:
        state.forget(name)
    return removed
