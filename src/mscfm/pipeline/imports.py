"""Which package files a chapter depends on: the `mscfm` modules it imports, transitively.

Read statically (``ast``) from the notebook's code cells and from each module's import
statements; every import statement counts, at module level or inside a function (a lazy import
is still a dependency). Importing ``mscfm.plots.forest`` runs ``mscfm/__init__.py`` and
``mscfm/plots/__init__.py`` too, so those count. A package's data files (``*.json`` beside its
modules) count for every module of that package. Other packages are pinned by the lock files,
which every chapter depends on anyway.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import mscfm

PACKAGE = "mscfm"


def package_dir() -> Path:
    return _resolved_parent(mscfm.__file__)  # read each time: tests point it at a copy


@cache
def _resolved_parent(file: str) -> Path:
    return Path(file).resolve().parent


def module_file(name: str) -> Path | None:
    """The source file of module ``name`` (``mscfm.plots`` -> .../plots/__init__.py)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir().joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    relative = path.relative_to(package_dir().parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(tree: ast.AST, current: str = "", is_package: bool = False) -> set[str]:
    """Every module name an ``import`` or ``from ... import`` in ``tree`` may load (a name
    imported from a package may be a submodule: both are returned, unknown ones are dropped
    later)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the current package
                package = current.split(".") if is_package else current.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _module_imports(path: Path) -> frozenset[str]:
    stat = path.stat()
    return _parsed_imports(path, stat.st_mtime_ns, stat.st_size)


# An import statement, at any indentation; a parenthesised name list may span lines. Parsing
# only these (not the whole module) keeps planning fast; one that is not code (in a docstring)
# can only add a dependency, never lose one.
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import[ \t]*(?:\([^)]*\)|[^\n]*)"
                     r"|import[ \t]+[^\n]*)", re.M)


def import_statements(source: str) -> ast.Module:
    """The import statements of ``source``, as one parsed module."""
    body: list[ast.stmt] = []
    for match in _IMPORT.finditer(source):
        try:
            body += ast.parse(match.group(0).strip()).body
        except SyntaxError:
            continue
    return ast.Module(body=body, type_ignores=[])


@cache
def _parsed_imports(path: Path, _mtime_ns: int, _size: int) -> frozenset[str]:
    """Keyed by modification time and size too: an edited module is read again."""
    tree = import_statements(path.read_text(encoding="utf-8"))
    return frozenset(imported_names(tree, _module_name(path), path.name == "__init__.py"))


def closure(names: set[str]) -> set[Path]:
    """The package's source files that importing ``names`` executes, transitively."""
    files: set[Path] = set()
    visited: set[str] = set()
    todo = [parent for name in names for parent in _with_parents(name)]
    while todo:
        name = todo.pop()
        if name in visited or not name.startswith(PACKAGE):
            continue
        visited.add(name)
        path = module_file(name)
        if path is None or path in files:
            continue
        files.add(path)
        todo += [parent for found in _module_imports(path) for parent in _with_parents(found)]
    return files


def data_files(modules: set[Path]) -> set[Path]:
    """The data files shipped beside the modules (e.g. ``data/tableschema.profile.json``)."""
    return {p for folder in {m.parent for m in modules} for p in folder.glob("*.json")}


def notebook_imports(notebook: Path) -> set[str]:
    """Module names imported by the code cells of ``notebook`` (IPython magics skipped)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    names: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue  # the execution will say so; nothing to learn here
        names |= imported_names(tree)
    return names


def chapter_package_files(notebook: Path) -> tuple[str, ...]:
    """The package files a chapter notebook depends on (absolute paths, sorted)."""
    modules = closure(notebook_imports(notebook))
    return tuple(sorted(str(p) for p in modules | data_files(modules)))


def module_package_files(*names: str) -> tuple[str, ...]:
    """The package files that importing the modules ``names`` executes (absolute, sorted)."""
    modules = closure(set(names))
    return tuple(sorted(str(p) for p in modules | data_files(modules)))
