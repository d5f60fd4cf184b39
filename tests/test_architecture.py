"""ARCHITECTURE.md's module table is the contract: it lists every module of the package, and no
module imports one its row says it must not import."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mscfm"
TABLE_HEADER = "| module | owns | must not import |"
EVERYTHING_ELSE = "anything else in mscfm"
NOTHING = "—"


@dataclass(frozen=True)
class Row:
    modules: tuple[str, ...]  # top-level modules or packages of mscfm
    owns: str
    forbidden: tuple[str, ...] | None  # None: anything else in mscfm


def _ticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def parse_table(text: str) -> list[Row]:
    lines = text.splitlines()
    start = lines.index(TABLE_HEADER) + 2  # skip the header and the |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        first, owns, rule = (cell.strip() for cell in line.strip("|").split("|"))
        if rule == EVERYTHING_ELSE:
            forbidden = None
        elif rule == NOTHING:
            forbidden = ()
        else:
            names = rule.split(";")[0]  # after a ";": a note in words, not module names
            forbidden = tuple(name.strip().strip("`") for name in names.split(","))
        # "`meta` (package: `model`, ...)": names in brackets are submodules, like those in owns
        modules, _, submodules = first.partition("(")
        rows.append(Row(tuple(_ticked(modules)), f"{submodules} {owns}", forbidden))
    return rows


def top_level_modules(package: Path = PACKAGE) -> set[str]:
    names = {p.stem for p in package.glob("*.py") if p.name != "__init__.py"}
    return names | {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}


def files_of(module: str, package: Path) -> list[Path]:
    folder = package / module
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [package / f"{module}.py"]


def mscfm_imports(path: Path, package: Path) -> dict[str, int]:
    """Top-level mscfm modules imported anywhere in ``path`` (also inside functions) -> line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_parts = path.relative_to(package.parent).with_suffix("").parts
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = list(package_parts[:len(package_parts) - node.level])
                parts = base + (node.module.split(".") if node.module else [])
            else:
                parts = node.module.split(".") if node.module else []
            targets = [parts + [alias.name] if len(parts) == 1 else parts
                       for alias in node.names]
        else:
            continue
        for parts in targets:
            if parts[0] == "mscfm" and len(parts) > 1:
                found.setdefault(parts[1], node.lineno)
    return found


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return parse_table((ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8"))


def test_table_lists_every_module_once(rows: list[Row]) -> None:
    listed = [m for row in rows for m in row.modules]
    assert sorted(listed) == sorted(set(listed)), "a module is listed twice"
    assert set(listed) == top_level_modules()


def test_table_names_every_submodule_of_a_package(rows: list[Row]) -> None:
    for row in rows:
        for module in row.modules:
            if not (PACKAGE / module).is_dir():
                continue
            named = set(_ticked(row.owns))
            subs = {p.stem for p in (PACKAGE / module).glob("*.py")
                    if not p.name.startswith("_")}  # private helpers (_core) are internal
            assert subs <= named, f"{module}: the table does not name {sorted(subs - named)}"


def test_forbidden_names_are_modules(rows: list[Row]) -> None:
    known = top_level_modules()
    for row in rows:
        assert set(row.forbidden or ()) <= known, f"{row.modules}: unknown {row.forbidden}"


def violations(rows: list[Row], package: Path = PACKAGE) -> list[str]:
    every = top_level_modules(package)
    found = []
    for row in rows:
        forbidden = (every - set(row.modules)) if row.forbidden is None else set(row.forbidden)
        for module in row.modules:
            for path in files_of(module, package):
                for target, line in mscfm_imports(path, package).items():
                    if target in forbidden and target not in row.modules:
                        found.append(f"{path.relative_to(package.parent)}:{line} imports "
                                     f"mscfm.{target}, which the row of {module} forbids")
    return found


def test_no_module_imports_what_its_row_forbids(rows: list[Row]) -> None:
    assert violations(rows) == []


def test_a_forbidden_import_is_caught(tmp_path: Path) -> None:
    """The check sees imports inside functions, relative ones, and those of a package's
    submodules; "anything else in mscfm" forbids every other module."""
    fake = tmp_path / "mscfm"
    for folder in (fake / "data", fake / "pipeline"):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("", encoding="utf-8")
    (fake / "data" / "loading.py").write_text(
        "def f():\n    from mscfm.pipeline import build\n", encoding="utf-8")
    (fake / "data" / "checks.py").write_text("from ..pipeline import toc\n", encoding="utf-8")
    (fake / "paths.py").write_text("import mscfm.data.loading\n", encoding="utf-8")
    rows = [Row(("data",), "", ("pipeline",)), Row(("paths",), "", None)]
    assert violations(rows, fake) == [
        "mscfm/data/checks.py:1 imports mscfm.pipeline, which the row of data forbids",
        "mscfm/data/loading.py:2 imports mscfm.pipeline, which the row of data forbids",
        "mscfm/paths.py:1 imports mscfm.data, which the row of paths forbids"]
