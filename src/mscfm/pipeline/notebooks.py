"""Chapters: a chapter notebook, its typed parameters and its declared data inputs.

Everything the build needs to know about a chapter is read from the notebook itself, so it is
written once: the cell tagged ``parameters`` (annotated assignments with a comment each) and the
notebook metadata block ``"mscfm": {"inputs": [...], "timeout": 300}``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mscfm.errors import BuildError, ParameterError
from mscfm.paths import EXECUTED_DIR, NOTEBOOK_DIR

DEFAULT_TIMEOUT_S = 300
PLACEHOLDER = re.compile(r"\{(\w+)\}")  # an input named by a parameter: "{registry_table}"
SUPPORTED_TYPES = ("int", "float", "str", "bool", "list[str]", "list[int]", "list[float]")


@dataclass(frozen=True)
class Parameter:
    """One declared notebook parameter."""

    name: str
    type: str
    default: Any
    doc: str


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook and what the build needs to know about it."""

    name: str
    source: Path
    inputs: tuple[str, ...]
    timeout: int
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def executed_path(self, root: Path) -> Path:
        return root / EXECUTED_DIR / f"{self.name}.ipynb"

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters.values()}

    def resolved_inputs(self, parameters: dict[str, Any]) -> tuple[str, ...]:
        """Declared inputs with ``{parameter}`` placeholders filled in (e.g. which registry
        table to read); a filled-in path must be an existing file under data/."""
        resolved = []
        for item in self.inputs:
            match = PLACEHOLDER.fullmatch(item)
            if match is None:
                resolved.append(item)
                continue
            name = match.group(1)
            value = str(parameters.get(name, self.parameters[name].default))
            if not value.startswith("data/") or ".." in value.split("/"):
                raise ParameterError(
                    f"parameter {name!r} of chapter {self.name} names {value!r}; "
                    "expected a file under data/"
                )
            resolved.append(value)
        return tuple(resolved)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"{path}: not a readable notebook ({exc})") from exc


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _annotation_text(node: ast.expr) -> str:
    return ast.unparse(node).replace(" ", "")


def _comments_by_line(source: str) -> dict[int, str]:
    comments = {}
    for lineno, line in enumerate(source.splitlines(), start=1):
        if "#" in line:
            comments[lineno] = line.split("#", 1)[1].strip()
    return comments


def parse_parameters_cell(source: str, where: str) -> dict[str, Parameter]:
    """Parse ``name: type = literal  # doc`` lines of a parameters cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise BuildError(f"{where}: parameters cell is not valid Python ({exc.msg})") from exc
    comments = _comments_by_line(source)
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            raise BuildError(
                f"{where}: parameters cell line {node.lineno}: expected `name: type = value  # doc`"
            )
        type_text = _annotation_text(node.annotation)
        if type_text not in SUPPORTED_TYPES:
            raise BuildError(
                f"{where}: parameter {node.target.id!r} has type {type_text!r}; "
                f"supported: {', '.join(SUPPORTED_TYPES)}"
            )
        try:
            default = ast.literal_eval(node.value) if node.value is not None else None
        except ValueError as exc:
            raise BuildError(
                f"{where}: parameter {node.target.id!r} default must be a literal"
            ) from exc
        default = _normalise_default(default, type_text)
        doc = comments.get(node.lineno, "")
        params[node.target.id] = Parameter(node.target.id, type_text, default, doc)
    return params


def _normalise_default(default: Any, type_text: str) -> Any:
    """`x: float = 6` means 6.0: the same value given on the command line must hash the same."""
    if type_text == "float" and type(default) is int:
        return float(default)
    if type_text == "list[float]" and isinstance(default, list):
        return [float(v) if type(v) is int else v for v in default]
    return default


def _check_input(path: Path, item: Any, params: dict[str, Parameter]) -> None:
    placeholder = PLACEHOLDER.fullmatch(item) if isinstance(item, str) else None
    if placeholder:
        name = placeholder.group(1)
        if name not in params or params[name].type != "str":
            raise BuildError(
                f"{path}: metadata mscfm.inputs entry {item!r} must name a str parameter "
                "declared in the parameters cell"
            )
    elif not isinstance(item, str) or not (item.startswith("data/") or item == "references.bib"):
        raise BuildError(
            f"{path}: metadata mscfm.inputs entry {item!r} must be a data/ path, "
            "references.bib or a {parameter} placeholder"
        )


def read_chapter(path: Path) -> Chapter:
    """Read a chapter notebook's parameters and declared inputs."""
    nb = _read_json(path)
    meta = nb.get("metadata", {}).get("mscfm", {})
    cells = [
        c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(cells) > 1:
        raise BuildError(f"{path}: more than one cell is tagged 'parameters'")
    params = parse_parameters_cell(_cell_source(cells[0]), str(path)) if cells else {}
    inputs = tuple(meta.get("inputs", []))
    for item in inputs:
        _check_input(path, item, params)
    return Chapter(
        name=path.stem,
        source=path,
        inputs=inputs,
        timeout=int(meta.get("timeout", DEFAULT_TIMEOUT_S)),
        parameters=params,
    )


def discover_chapters(root: Path) -> list[Chapter]:
    """All chapter notebooks, in file-name (= chapter) order."""
    return [read_chapter(p) for p in sorted((root / NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))]


# --- parameter overrides from the command line ------------------------------------------------

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _convert_scalar(text: str, type_name: str) -> Any:
    if type_name == "str":
        return text
    if type_name == "bool":
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError("expected true or false")
    return {"int": int, "float": float}[type_name](text.strip())


def convert_value(text: str, type_name: str) -> Any:
    """Convert command-line text to a parameter's declared type (lists are comma-separated)."""
    if type_name.startswith("list["):
        inner = type_name[5:-1]
        items = [part.strip() for part in text.split(",")] if text.strip() else []
        return [_convert_scalar(item, inner) for item in items]
    return _convert_scalar(text, type_name)


def split_assignment(text: str) -> tuple[str | None, str, str]:
    """Split ``[chapter.]name=value`` into its parts (the value may contain '=')."""
    if "=" not in text:
        raise ParameterError(f"parameter {text!r}: expected NAME=VALUE")
    key, value = text.split("=", 1)
    chapter, _, name = key.strip().rpartition(".")
    return (chapter or None), name, value


def resolve_overrides(chapters: list[Chapter], assignments: list[str]) -> dict[str, dict]:
    """Map ``-p`` assignments to typed per-chapter overrides, checking names and types.

    ``name=value`` applies to every chapter that declares ``name``; ``chapter.name=value`` to one.
    """
    by_name = {c.name: c for c in chapters}
    overrides: dict[str, dict] = {c.name: {} for c in chapters}
    for text in assignments:
        target, name, raw = split_assignment(text)
        if target is not None and target not in by_name:
            raise ParameterError(
                f"parameter {text!r}: no chapter named {target!r}; chapters: {', '.join(by_name)}"
            )
        scope = [by_name[target]] if target else chapters
        takers = [c for c in scope if name in c.parameters]
        if not takers:
            known = sorted({p for c in scope for p in c.parameters})
            raise ParameterError(
                f"unknown parameter {name!r}"
                + (f" for chapter {target}" if target else "")
                + f"; known parameters: {', '.join(known) or 'none'}"
            )
        for chapter in takers:
            declared = chapter.parameters[name].type
            try:
                overrides[chapter.name][name] = convert_value(raw, declared)
            except ValueError as exc:
                raise ParameterError(
                    f"parameter {name!r} of chapter {chapter.name} must be {declared}; "
                    f"got {raw!r} ({exc})"
                ) from exc
    return overrides
