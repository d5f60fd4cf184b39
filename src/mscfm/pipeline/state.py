"""What a chapter's executed copy depends on, and whether it must re-run (doit's dependency DB).

A chapter depends on its notebook, its parameter values, the data files it declares, the package
code and the lock files. Each chapter is a doit task whose ``file_dep`` are those files (checked by
MD5, so touching a file changes nothing and a real change always counts) and whose ``uptodate`` is
``config_changed(parameters)``. We use doit's dependency database for the bookkeeping and run the
tasks on our own worker pool (which keeps papermill imported between chapters).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from doit.dependency import Dependency, JsonDB, MD5Checker
from doit.task import Task
from doit.tools import config_changed

import mscfm
from mscfm.paths import STATE_FILE
from mscfm.pipeline.notebooks import Chapter

LOCK_FILES = ("requirements.txt", "constraints.txt")
_CONFIG_KEY = "_config_changed"  # where doit's config_changed keeps its hash


@lru_cache(maxsize=1)
def package_files() -> tuple[str, ...]:
    """The mscfm package source that the notebooks import (absolute paths)."""
    package = Path(mscfm.__file__).resolve().parent
    return tuple(str(p) for p in sorted(package.rglob("*.py")))


def chapter_task(chapter: Chapter, parameters: dict[str, Any], root: Path) -> Task:
    """The doit task of one chapter execution."""
    file_dep = [
        str(chapter.source),
        *(str(root / item) for item in chapter.resolved_inputs(parameters)),
        *(str(root / name) for name in LOCK_FILES if (root / name).exists()),
        *package_files(),
    ]
    task = Task(
        chapter.name,
        actions=None,
        file_dep=file_dep,
        targets=[str(chapter.executed_path(root))],
        uptodate=[config_changed(parameters)],
    )
    task.init_options()
    return task


def _label(path: str, chapter: Chapter, root: Path) -> str:
    if path == str(chapter.source):
        return "notebook changed"
    if path in package_files():
        return "package code changed"
    relative = Path(path).relative_to(root).as_posix() if path.startswith(str(root)) else path
    if relative in LOCK_FILES:
        return "lock file changed"
    return f"data changed: {relative}"


def _describe(reasons: dict[str, list], chapter: Chapter, root: Path) -> str:
    labels: list[str] = []
    for key in ("changed_file_dep", "added_file_dep", "removed_file_dep"):
        for path in reasons.get(key, []):
            label = _label(path, chapter, root)
            if key == "removed_file_dep" and label.startswith("data"):
                label = f"input no longer declared: {label.removeprefix('data changed: ')}"
            if label not in labels:
                labels.append(label)
    if reasons.get("uptodate_false"):
        labels.append("parameters changed")
    if reasons.get("missing_target") and not labels:
        labels.append("executed copy missing")
    return "; ".join(labels)


@dataclass(frozen=True)
class Decision:
    chapter: Chapter
    parameters: dict[str, Any]
    rerun: bool
    reason: str
    task: Task


class BuildState:
    """doit's record of the last successful execution of each chapter."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Dependency(JsonDB, str(self.path), checker_cls=MD5Checker)

    def decide(
        self, chapter: Chapter, parameters: dict[str, Any], root: Path, force: bool = False
    ) -> Decision:
        task = chapter_task(chapter, parameters, root)
        status = self.db.get_status(task, {task.name: task}, get_log=True)
        if force:
            reason = "forced (--force)"
        elif _CONFIG_KEY not in self.db.get_values(task.name):
            reason = "never executed"
        elif status.status == "up-to-date":
            reason = ""
        else:
            reason = _describe(status.reasons, chapter, root) or "out of date"
        return Decision(chapter, parameters, bool(reason), reason or "up to date", task)

    def record(self, decision: Decision) -> None:
        decision.task.save_extra_values()
        self.db.save_success(decision.task)

    def save(self) -> None:
        # Dependency.close() writes only once per instance; dump() can be called after each
        # chapter, so an interrupted build keeps every chapter it finished.
        self.db.backend.dump()
