"""Chapters: a chapter notebook, its typed parameters and its declared data inputs.

Everything the build needs to know about a chapter is read from the notebook itself, so it is
written once: the cell tagged ``parameters`` (annotated assignments with a comment each) and the
notebook metadata block ``"mscfm": {"inputs": [...], "timeout": 300}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mscfm.errors import BuildError, ParameterError, shorten
from mscfm.parameters import Parameter, parameters_source, parse_parameters_cell
from mscfm.paths import EXECUTED_DIR, NOTEBOOK_DIR

__all__ = ["Chapter", "Parameter", "convert_value", "discover_chapters", "find_chapter",
           "parse_parameters_cell", "read_chapter", "resolve_overrides", "split_assignment"]

DEFAULT_TIMEOUT_S = 300
PLACEHOLDER = re.compile(r"\{(\w+)\}")  # an input named by a parameter: "{registry_table}"


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


def _read_notebook(path: Path) -> dict:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"{path}: not a readable notebook ({exc})") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells", []), list):
        raise BuildError(f"{path}: not a notebook (expected a JSON object with a 'cells' list)")
    return notebook


def _metadata(path: Path, notebook: dict) -> dict:
    """The ``mscfm`` metadata block, its fields checked (each error names the field)."""
    metadata = notebook.get("metadata", {})
    if not isinstance(metadata, dict):
        raise BuildError(f"{path}: metadata must be a JSON object")
    meta = metadata.get("mscfm", {})
    if not isinstance(meta, dict):
        raise BuildError(f"{path}: metadata mscfm must be a JSON object, e.g. "
                         '{"inputs": ["data/x.csv"], "timeout": 300}')
    inputs = meta.get("inputs", [])
    if not isinstance(inputs, list):
        raise BuildError(f"{path}: metadata mscfm.inputs must be a list of paths, not "
                         f"{type(inputs).__name__} {shorten(inputs)}")
    timeout = meta.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise BuildError(f"{path}: metadata mscfm.timeout must be a positive whole number of "
                         f"seconds, not {shorten(timeout)}")
    return meta


def read_chapter(path: Path) -> Chapter:
    """Read a chapter notebook's parameters and declared inputs."""
    nb = _read_notebook(path)
    meta = _metadata(path, nb)
    source = parameters_source(nb, str(path))
    params = parse_parameters_cell(source, str(path)) if source is not None else {}
    inputs = tuple(meta.get("inputs", []))
    for item in inputs:
        _check_input(path, item, params)
    return Chapter(
        name=path.stem,
        source=path,
        inputs=inputs,
        timeout=meta.get("timeout", DEFAULT_TIMEOUT_S),
        parameters=params,
    )


def discover_chapters(root: Path) -> list[Chapter]:
    """All chapter notebooks, in file-name (= chapter) order."""
    return [read_chapter(p) for p in sorted((root / NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))]


def find_chapter(root: Path, name: str) -> Chapter:
    """A chapter by its name (``07_efficacy``) or its number prefix (``07``)."""
    chapters = discover_chapters(root)
    exact = [c for c in chapters if c.name == name]
    matches = exact or [c for c in chapters if c.name.split("_", 1)[0] == name]
    if len(matches) != 1:
        known = ", ".join(c.name for c in chapters) or "none"
        raise ParameterError(f"no chapter named {name!r}; chapters: {known}")
    return matches[0]


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
        raise ParameterError(f"parameter {shorten(text)}: expected NAME=VALUE")
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
            param = chapter.parameters[name]
            try:
                value = convert_value(raw, param.type)
            except ValueError as exc:
                raise ParameterError(
                    f"parameter {name!r} of chapter {chapter.name} must be {param.annotation}; "
                    f"got {shorten(raw)} ({shorten(exc, quote=False)})"
                ) from exc
            try:
                param.check(value)
            except ValueError as exc:
                raise ParameterError(
                    f"parameter {name!r} of chapter {chapter.name}: {exc}") from exc
            overrides[chapter.name][name] = value
    return overrides
