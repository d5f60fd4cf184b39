"""On the real report: a change re-runs exactly the chapters that depend on it, and no others.

Nothing is executed. A throw-away copy of the project gets a fake "executed" state (the current
fingerprints recorded, as after a good build); then one input is changed and the build plan is
compared with the set expected from the notebooks themselves (their metadata ``mscfm.inputs`` and
their ``parameters`` cell, read here independently of the pipeline's own parser).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import mark_executed

import mscfm
from mscfm.pipeline import state as state_module
from mscfm.pipeline.build import BuildOptions, plan

ROOT = Path(__file__).resolve().parents[1]
NOT_COPIED = (".venv", ".git", "_build", "_executed", ".mscfm", "__pycache__", ".pytest_cache")


def _notebooks(root: Path) -> dict[str, dict]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    }


# What to try is read from the project at collection time; what to expect is read from the copy
# under test (chapters are added while the report is written).
NOTEBOOKS = _notebooks(ROOT)


def _declared_inputs(notebook: dict) -> set[str]:
    """The metadata inputs, a "{parameter}" entry standing for that parameter's default."""
    defaults = {name: default for name, (_, default) in _declared_parameters(notebook).items()}
    inputs = notebook.get("metadata", {}).get("mscfm", {}).get("inputs", [])
    return {defaults[item[1:-1]] if item.startswith("{") else item for item in inputs}


def _declared_parameters(notebook: dict) -> dict[str, tuple[str, Any]]:
    """name -> (type annotation, default) from the cell tagged ``parameters``."""
    for cell in notebook.get("cells", []):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            return {
                node.target.id: (ast.unparse(node.annotation), ast.literal_eval(node.value))
                for node in ast.parse(source).body
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
            }
    return {}


DATA_FILES = sorted(
    {p.relative_to(ROOT).as_posix() for p in (ROOT / "data").glob("*.csv")}
    | {item for nb in NOTEBOOKS.values() for item in _declared_inputs(nb)}
)
PARAMETERS = sorted({name for nb in NOTEBOOKS.values() for name in _declared_parameters(nb)})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the real project whose every chapter counts as executed and up to date."""
    root = tmp_path / "report"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(*NOT_COPIED))
    monkeypatch.setenv("MSCFM_ROOT", str(root))
    _mark_executed(root)
    return root


def _mark_executed(root: Path) -> None:
    mark_executed(root)


def _reruns(root: Path, assignments: list[str] | None = None) -> dict[str, str]:
    decisions = plan(root, BuildOptions(assignments=assignments or []))
    return {d.chapter.name: d.reason for d in decisions if d.rerun}


def _change_one_value(path: Path) -> None:
    """Change one digit of the first data row (or one character when the row has no digit)."""
    header, first, rest = path.read_text(encoding="utf-8").split("\n", 2)
    match = re.search(r"\d", first)
    if match:
        digit = str((int(match.group()) + 1) % 10)
        first = first[: match.start()] + digit + first[match.end() :]
    else:
        first += " "
    path.write_text("\n".join((header, first, rest)), encoding="utf-8")


def test_the_real_project_has_chapters() -> None:
    assert NOTEBOOKS, "no chapter notebooks found in notebooks/"


def test_nothing_re_runs_when_nothing_changed(project: Path) -> None:
    assert _reruns(project) == {}


@pytest.mark.parametrize("data_file", DATA_FILES)
def test_a_data_change_re_runs_exactly_the_chapters_declaring_that_file(
    project: Path, data_file: str
) -> None:
    notebooks = _notebooks(project)
    expected = {name for name, nb in notebooks.items() if data_file in _declared_inputs(nb)}
    _change_one_value(project / data_file)
    reruns = _reruns(project)
    assert set(reruns) == expected
    assert all(reason == f"data changed: {data_file}" for reason in reruns.values())


def _as_cli_text(type_name: str, value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value).lower() if type_name == "bool" else str(value)


def _another_value(type_name: str, default: Any) -> str:
    """Command-line text for a valid value of the declared type that differs from the default
    (another allowed value of a Literal; a smaller number, which stays inside a range)."""
    if type_name.startswith("Literal["):
        choices = ast.literal_eval(type_name.removeprefix("Literal"))
        return str(next(c for c in choices if c != default))
    if type_name.startswith("list[Literal["):
        return _as_cli_text(type_name, default[:-1])
    if type_name == "float" and default > 0:
        return str(default / 2)
    extra = {"list[str]": "x", "list[int]": 1, "list[float]": 1.5}
    if type_name in extra:
        return _as_cli_text(type_name, [*default, extra[type_name]])
    if type_name == "bool":
        return str(not default).lower()
    if type_name in ("int", "float"):
        return str(default + 1)
    return f"{default}-changed"


def _declaring(root: Path, name: str) -> dict[str, tuple[str, Any]]:
    return {
        chapter: _declared_parameters(nb)[name]
        for chapter, nb in _notebooks(root).items()
        if name in _declared_parameters(nb)
    }


@pytest.mark.parametrize("name", PARAMETERS)
def test_a_parameter_change_re_runs_exactly_the_chapters_declaring_it(
    project: Path, name: str
) -> None:
    declaring = _declaring(project, name)
    type_name, default = next(iter(declaring.values()))
    value = _another_value(type_name, default)
    names_an_input = isinstance(default, str) and default.startswith("data/")
    if names_an_input:  # a parameter that picks a data file: point it at another real file
        value = default.replace(".csv", "_2030-01-01.csv")
        shutil.copy(project / default, project / value)
    reruns = _reruns(project, [f"{name}={value}"])
    assert set(reruns) == set(declaring)
    if names_an_input:
        assert all("parameters changed" in reason and value in reason
                   for reason in reruns.values())
    else:
        assert set(reruns.values()) == {"parameters changed"}


@pytest.mark.parametrize("name", PARAMETERS)
def test_a_parameter_set_to_its_default_re_runs_nothing(project: Path, name: str) -> None:
    type_name, default = next(iter(_declaring(project, name).values()))
    assert _reruns(project, [f"{name}={_as_cli_text(type_name, default)}"]) == {}


@pytest.mark.parametrize("chapter", sorted(NOTEBOOKS))
def test_a_notebook_change_re_runs_that_chapter_only(project: Path, chapter: str) -> None:
    path = project / "notebooks" / f"{chapter}.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    markdown = next(c for c in notebook["cells"] if c["cell_type"] == "markdown")
    markdown["source"] = "".join(markdown["source"]) + "\n\nAn added sentence."
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    assert _reruns(project) == {chapter: "notebook changed"}


def _forget_package_files() -> None:
    """Drop the state module's cached view of the package source (whatever the cache is named)."""
    for value in vars(state_module).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def _imports_module(notebook: dict, module: str) -> bool:
    """Whether a notebook's code imports ``mscfm.<module>`` (read with a regex, independently of
    the pipeline's import reader)."""
    code = "\n".join(
        "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"
    )
    return bool(
        re.search(rf"^\s*from mscfm import [^\n]*\b{module}\b", code, re.M)
        or re.search(rf"^\s*(?:from|import) mscfm\.{module}\b", code, re.M)
    )


def _edit_module_and_plan(root: Path, monkeypatch: pytest.MonkeyPatch, module: str):
    # The fingerprint hashes the package that notebooks import: point it at the copy's source.
    monkeypatch.setattr(mscfm, "__file__", str(root / "src" / "mscfm" / "__init__.py"))
    _forget_package_files()
    try:
        _mark_executed(root)
        assert _reruns(root) == {}
        path = root / "src" / "mscfm" / f"{module}.py"
        path.write_text(path.read_text(encoding="utf-8") + "\n# a changed line\n", "utf-8")
        _forget_package_files()
        return _reruns(root)
    finally:
        monkeypatch.undo()
        _forget_package_files()


def test_a_module_edit_re_runs_only_the_chapters_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`power` is imported by one chapter and by no other module of the package."""
    root = tmp_path / "report"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(*NOT_COPIED))
    importers = [
        p for p in (root / "src" / "mscfm").rglob("*.py")
        if re.search(r"mscfm(?:\.| import [^\n]*\b)power\b", p.read_text(encoding="utf-8"))
        and p.name != "power.py"
    ]
    assert importers == []
    takers = {name for name, nb in _notebooks(root).items() if _imports_module(nb, "power")}
    assert len(takers) == 1
    reruns = _edit_module_and_plan(root, monkeypatch, "power")
    assert reruns == dict.fromkeys(takers, "package code changed: mscfm/power.py")


def test_a_module_every_chapter_imports_re_runs_every_chapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "report"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(*NOT_COPIED))
    assert all(_imports_module(nb, "report") for nb in _notebooks(root).values())
    reruns = _edit_module_and_plan(root, monkeypatch, "report")
    assert set(reruns) == set(_notebooks(root))
    assert set(reruns.values()) == {"package code changed: mscfm/report.py"}


def test_a_lock_file_change_re_runs_every_chapter(project: Path) -> None:
    lock = project / "constraints.txt"
    lock.write_text(lock.read_text(encoding="utf-8") + "\n# pinned again\n", encoding="utf-8")
    reruns = _reruns(project)
    assert set(reruns) == set(_notebooks(project))
    assert set(reruns.values()) == {"lock file changed"}


def test_state_saved_after_each_chapter_keeps_every_chapter(tmp_path: Path) -> None:
    """The build records and saves after each finished chapter (so an interrupted build keeps
    its work); every chapter recorded that way must be up to date on the next plan."""
    root = tmp_path / "report"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(*NOT_COPIED))
    mark_executed(root, save_each=True)
    assert _reruns(root) == {}
