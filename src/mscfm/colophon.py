"""The colophon page (book/colophon.md), written at build time, before Sphinx runs.

It records what a reader needs to reproduce the exact book: the git commit (and whether the tree
had uncommitted changes), the build date (UTC; ``SOURCE_DATE_EPOCH`` if set), the data package's
dates, Python and key package versions, and the parameters each chapter ran with. The page is
generated, so it is git-ignored; its markdown uses no roles or cross-references, so it cannot add a
Sphinx warning to a ``-W`` build.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from mscfm import parameters
from mscfm.data.descriptor import PackageDates, package_dates, read_descriptor
from mscfm.errors import MscfmError
from mscfm.paths import COLOPHON_PAGE, EXECUTED_DIR, NOTEBOOK_DIR

NOT_GIT = "not a git checkout"
KEY_PACKAGES = ("mscfm", "jupyter-book", "sphinx", "myst-nb", "papermill", "pandas", "numpy",
                "scipy", "statsmodels", "matplotlib")


@dataclass(frozen=True)
class GitState:
    commit: str | None  # None when the root is not a git checkout
    dirty: bool = False


@dataclass(frozen=True)
class ChapterRun:
    """The parameters one chapter ran with, and its notebook's defaults."""

    name: str
    used: dict[str, Any]
    defaults: dict[str, Any] = field(default_factory=dict)

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in self.used.items() if k not in self.defaults
                or self.defaults[k] != v}


@dataclass(frozen=True)
class BuildInfo:
    git: GitState
    build_date: str
    python: str
    versions: dict[str, str]
    dates: PackageDates | None
    chapters: list[ChapterRun]


# --------------------------------------------------------------------------- gathering


def git_state(root: Path) -> GitState:
    """The checked-out commit of ``root`` and whether tracked or untracked files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=30)
        if head.returncode != 0:
            return GitState(None)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=root,
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):  # git missing or hanging
        return GitState(None)
    return GitState(head.stdout.strip(), bool(status.stdout.strip()))


def build_date(now: datetime | None = None) -> str:
    """Today in UTC as YYYY-MM-DD; ``SOURCE_DATE_EPOCH`` wins, for reproducible builds."""
    if now is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        now = (datetime.fromtimestamp(int(epoch), tz=UTC) if epoch.isdigit()
               else datetime.now(tz=UTC))
    return now.astimezone(UTC).date().isoformat()


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _tagged_cell_values(notebook: Path, tag: str) -> dict[str, Any]:
    """The values in a notebook's parameters cell (its defaults, read by the one parser of
    parameters cells) or in papermill's injected-parameters cell."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        if tag == "parameters":
            source = parameters.parameters_source(nb, str(notebook))
            declared = parameters.parse_parameters_cell(source or "", str(notebook))
            return {name: p.default for name, p in declared.items()}
        cells = nb.get("cells", [])
        src = next((c.get("source", "") for c in cells
                    if tag in c.get("metadata", {}).get("tags", [])), "")
    except (OSError, ValueError, AttributeError, MscfmError):
        return {}
    return parameters.injected_values("".join(src) if isinstance(src, list) else src)


def executed_parameters(root: Path) -> list[ChapterRun]:
    """What each executed chapter in the book ran with: defaults, then papermill's injections."""
    runs = []
    for executed in sorted((root / EXECUTED_DIR).glob("[0-9][0-9]_*.ipynb")):
        if "." in executed.stem or not (root / NOTEBOOK_DIR / executed.name).is_file():
            continue  # an unfinished run, or the copy of a chapter that no longer exists
        defaults = _tagged_cell_values(executed, "parameters")
        injected = _tagged_cell_values(executed, "injected-parameters")
        runs.append(ChapterRun(executed.stem, {**defaults, **injected}, defaults))
    return runs


def _runs_from_mapping(root: Path, chapter_parameters: dict[str, dict]) -> list[ChapterRun]:
    runs = []
    for name in sorted(chapter_parameters):
        defaults = _tagged_cell_values(root / NOTEBOOK_DIR / f"{name}.ipynb", "parameters")
        runs.append(ChapterRun(name, dict(chapter_parameters[name]), defaults))
    return runs


def gather(root: Path, chapter_parameters: dict[str, dict] | None = None,
           now: datetime | None = None) -> BuildInfo:
    try:
        dates: PackageDates | None = package_dates(read_descriptor(root))
    except MscfmError:
        dates = None
    chapters = (executed_parameters(root) if chapter_parameters is None
                else _runs_from_mapping(root, chapter_parameters))
    return BuildInfo(git_state(root), build_date(now), platform.python_version(),
                     package_versions(), dates, chapters)


# --------------------------------------------------------------------------- rendering


def _shown(value: Any) -> str:
    return parameters.md_literal(value)


def cli_value(value: Any) -> str:
    """A parameter value as `mscfm build -p NAME=VALUE` reads it (lists comma-separated)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(cli_value(item) for item in value)
    return str(value)


def reproduce_command(chapters: list[ChapterRun]) -> str:
    """The build command that re-runs every chapter with the parameters this build used."""
    assignments = [f"{run.name}.{name}={cli_value(value)}"
                   for run in chapters for name, value in sorted(run.overrides().items())]
    if not assignments:
        return "make book"
    flags = "".join(f" \\\n    -p {shlex.quote(a)}" for a in assignments)  # one per line
    return f"make venv tex && .venv/bin/mscfm build --force{flags}"


def _source_section(git: GitState, build_day: str) -> list[str]:
    commit = f"`{git.commit}`" if git.commit else NOT_GIT
    lines = ["## This build", "", f"- Built on {build_day} (UTC)", f"- Git commit: {commit}"]
    if git.dirty:
        lines.append("- The working tree had uncommitted changes, so the commit alone does not "
                     "hold every source of this build.")
    return [*lines, ""]


def _dates_section(dates: PackageDates | None) -> list[str]:
    lines = ["## Data", ""]
    if dates is None:
        return [*lines, "The data package descriptor could not be read.", ""]
    created = dates.curated or "on a date not recorded"
    lines.append(f"- Curated tables: data package created {created}")
    for snap in dates.snapshots:
        lines.append(f"- Table `{snap.resource}`: snapshot dated {snap.date} "
                     f"(`data/{snap.path}`)")
    return [*lines, ""]


def _versions_section(python: str, versions: dict[str, str]) -> list[str]:
    lines = ["## Software", "", "| package | version |", "|---|---|", f"| Python | {python} |"]
    lines += [f"| {name} | {version} |" for name, version in versions.items()]
    return [*lines, "", "Every other package is pinned in `constraints.txt`.", ""]


def _parameters_section(chapters: list[ChapterRun]) -> list[str]:
    lines = ["## Parameters used per chapter", ""]
    if not chapters:
        return [*lines, "No executed chapter was found.", ""]
    lines += ["| chapter | parameter | value | default |", "|---|---|---|---|"]
    for run in chapters:
        if not run.used:
            lines.append(f"| {run.name} | (none) | | |")
        for name in sorted(run.used):
            default = _shown(run.defaults[name]) if name in run.defaults else ""
            lines.append(f"| {run.name} | `{name}` | {_shown(run.used[name])} | {default} |")
    return [*lines, ""]


def _reproduce_section(info: BuildInfo) -> list[str]:
    lines = ["## Reproducing this build", ""]
    if info.git.commit is None:
        lines += ["This book was not built from a git checkout, so its sources cannot be named "
                  "by a commit. From a clone of the repository:", ""]
        checkout = []
    else:
        lines += ["On Debian or Ubuntu with Python 3.11, from a clone of the repository:", ""]
        checkout = [f"git checkout {info.git.commit}"]
    lines += ["```bash", *checkout, reproduce_command(info.chapters), "```", "",
              "The HTML lands in `_build/html` and the PDF in `_build/latex/book.pdf`.", ""]
    return lines


def render_colophon(info: BuildInfo) -> str:
    lines = ["# Colophon", "",
             "How and from what this copy of the report was built. The page is generated by "
             "the build itself.", ""]
    lines += _source_section(info.git, info.build_date)
    lines += _dates_section(info.dates)
    lines += _versions_section(info.python, info.versions)
    lines += _parameters_section(info.chapters)
    lines += _reproduce_section(info)
    return "\n".join(lines)


def write_colophon(root: Path, chapter_parameters: dict[str, dict] | None = None,
                   now: datetime | None = None) -> Path:
    """Write book/colophon.md. Without ``chapter_parameters``, read them from the executed
    notebooks (what the book actually shows), which also covers chapters not re-run this time."""
    page = root / COLOPHON_PAGE
    page.parent.mkdir(parents=True, exist_ok=True)
    text = render_colophon(gather(root, chapter_parameters, now))
    if not page.exists() or page.read_text(encoding="utf-8") != text:
        page.write_text(text, encoding="utf-8")  # unchanged text keeps Sphinx's cache valid
    return page
