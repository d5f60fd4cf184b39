"""A chapter's parameters cell: the one parser, for the build, ``sweep``, the colophon and
``mscfm params``.

The cell tagged ``parameters`` holds one annotated assignment per parameter, each with a comment
that documents it::

    from typing import Literal

    method: Literal["EE", "DL", "REML", "PM"] = "REML"  # tau^2 estimator
    alpha: float = 0.05  # two-sided significance level, in (0, 0.5]

Types: ``int``, ``float``, ``str``, ``bool``, ``list[str]``, ``list[int]``, ``list[float]``,
``Literal[...]`` (allowed values, strings or integers) and ``list[Literal[...]]``. A range is
written in the comment as ``in [lo, hi]`` (brackets include the bound, parentheses exclude it;
``inf`` for no bound); it applies to a number or to each number of a list. Defaults are checked
against their own declaration. A value given on the command line is converted to the declared
type and checked against the allowed values and the range before anything runs.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from mscfm.errors import BuildError, shorten

BASE_TYPES = ("int", "float", "str", "bool", "list[str]", "list[int]", "list[float]")
SUPPORTED = (*BASE_TYPES, "Literal[...]", "list[Literal[...]]")
_NUMBER = r"[-+]?(?:inf|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
RANGE = re.compile(rf"\bin\s*([\[(])\s*({_NUMBER})\s*,\s*({_NUMBER})\s*([\])])")


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True

    def __contains__(self, value: float) -> bool:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below

    def __str__(self) -> str:
        def fmt(x: float) -> str:
            return "inf" if math.isinf(x) else (f"{x:g}")

        return (f"{'[' if self.low_closed else '('}{fmt(self.low)}, {fmt(self.high)}"
                f"{']' if self.high_closed else ')'}")


@dataclass(frozen=True)
class Parameter:
    """One declared notebook parameter."""

    name: str
    type: str  # the base type: one of BASE_TYPES (a Literal of strings is "str")
    default: Any
    doc: str
    choices: tuple[Any, ...] | None = None  # allowed values (of each item, for a list)
    range: Range | None = None  # allowed numbers (of each item, for a list)

    @property
    def annotation(self) -> str:
        """The type as a reader writes it (``Literal['EE', 'DL']``, ``float``)."""
        if self.choices is None:
            return self.type
        literal = f"Literal[{', '.join(repr(c) for c in self.choices)}]"
        return f"list[{literal}]" if self.type.startswith("list[") else literal

    def allowed(self) -> str:
        """The allowed values in words ("" when any value of the type is allowed)."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.range is not None:
            return f"in {self.range}"
        return ""

    def check(self, value: Any) -> None:
        """Raise ValueError when ``value`` (of the base type) is not allowed."""
        items = value if self.type.startswith("list[") else [value]
        for item in items:
            if self.choices is not None and item not in self.choices:
                raise ValueError(f"{shorten(item)} is not allowed; expected {self.allowed()}")
            if self.range is not None and isinstance(item, int | float) and item not in self.range:
                raise ValueError(f"{shorten(item)} is out of range; expected {self.allowed()}")


# --------------------------------------------------------------------------- parsing


def _comments_by_line(source: str) -> dict[int, str]:
    comments = {}
    for lineno, line in enumerate(source.splitlines(), start=1):
        if "#" in line:
            comments[lineno] = line.split("#", 1)[1].strip()
    return comments


def _literal_choices(node: ast.expr, where: str, name: str) -> tuple[Any, ...] | None:
    """``Literal["a", "b"]`` -> ("a", "b"); None when ``node`` is not a Literal."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == "Literal"):
        return None
    elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    try:
        choices = tuple(ast.literal_eval(e) for e in elements)
    except ValueError as exc:
        raise BuildError(f"{where}: parameter {name!r}: Literal[...] takes literal values "
                         "only") from exc
    kinds = {type(c) for c in choices}
    if not choices or len(kinds) != 1 or kinds - {str, int}:
        raise BuildError(f"{where}: parameter {name!r}: Literal[...] takes strings or integers "
                         "(all of one kind)")
    return choices


def _annotation(node: ast.expr, where: str, name: str) -> tuple[str, tuple[Any, ...] | None]:
    """The base type and the allowed values of an annotation."""
    choices = _literal_choices(node, where, name)
    if choices is not None:
        return ("str" if isinstance(choices[0], str) else "int"), choices
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == "list"):
        inner = _literal_choices(node.slice, where, name)
        if inner is not None:
            return ("list[str]" if isinstance(inner[0], str) else "list[int]"), inner
    text = ast.unparse(node).replace(" ", "")
    if text not in BASE_TYPES:
        raise BuildError(f"{where}: parameter {name!r} has type {text!r}; "
                         f"supported: {', '.join(SUPPORTED)}")
    return text, None


def _range(doc: str, type_name: str, where: str, name: str) -> Range | None:
    match = RANGE.search(doc)
    if match is None:
        return None
    if type_name not in ("int", "float", "list[int]", "list[float]"):
        raise BuildError(f"{where}: parameter {name!r} is a {type_name}; a range "
                         f"({match.group(0)}) needs a number type")
    low, high = float(match.group(2)), float(match.group(3))
    if low > high:
        raise BuildError(f"{where}: parameter {name!r}: empty range {match.group(0)}")
    return Range(low, high, match.group(1) == "[", match.group(4) == "]")


def _is_of_type(value: Any, type_name: str) -> bool:
    if type_name.startswith("list["):
        return isinstance(value, list) and all(_is_of_type(v, type_name[5:-1]) for v in value)
    if type_name == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, {"str": str, "bool": bool}[type_name])


def _normalise(default: Any, type_name: str) -> Any:
    """`x: float = 6` means 6.0: the same value given on the command line must hash the same."""
    if type_name == "float" and type(default) is int:
        return float(default)
    if type_name == "list[float]" and isinstance(default, list):
        return [float(v) if type(v) is int else v for v in default]
    return default


def _is_typing_import(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "typing" and all(
        alias.name == "Literal" and alias.asname is None for alias in node.names)


def parse_parameters_cell(source: str, where: str) -> dict[str, Parameter]:
    """Parse the ``name: type = literal  # doc`` lines of a parameters cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise BuildError(f"{where}: parameters cell is not valid Python ({exc.msg})") from exc
    comments = _comments_by_line(source)
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if _is_typing_import(node):
            continue
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            raise BuildError(
                f"{where}: parameters cell line {node.lineno}: expected `name: type = value  # doc`"
                " (or `from typing import Literal`)"
            )
        name = node.target.id
        type_name, choices = _annotation(node.annotation, where, name)
        try:
            default = ast.literal_eval(node.value) if node.value is not None else None
        except ValueError as exc:
            raise BuildError(f"{where}: parameter {name!r} default must be a literal") from exc
        doc = comments.get(node.lineno, "")
        if not _is_of_type(default, type_name):
            raise BuildError(f"{where}: parameter {name!r} default {shorten(default)} is not "
                             f"of its declared type {ast.unparse(node.annotation)}")
        param = Parameter(name, type_name, _normalise(default, type_name), doc, choices,
                          _range(doc, type_name, where, name))
        try:
            param.check(param.default)
        except ValueError as exc:
            raise BuildError(f"{where}: parameter {name!r} default: {exc}") from exc
        params[name] = param
    return params


def parameters_source(notebook: dict, where: str) -> str | None:
    """The source of the cell tagged ``parameters`` (None when there is none)."""
    cells = notebook.get("cells", [])
    if not isinstance(cells, list):
        raise BuildError(f"{where}: 'cells' must be a list, not {type(cells).__name__}")
    tagged = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise BuildError(f"{where}: cell {index} is not a JSON object")
        metadata = cell.get("metadata", {})
        tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
        if not isinstance(tags, list):
            raise BuildError(f"{where}: cell {index}: metadata.tags must be a list")
        if "parameters" in tags:
            tagged.append(cell)
    if len(tagged) > 1:
        raise BuildError(f"{where}: more than one cell is tagged 'parameters'")
    if not tagged:
        return None
    source = tagged[0].get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise BuildError(f"{where}: the parameters cell's source must be text")


def injected_values(source: str) -> dict[str, Any]:
    """The ``name = literal`` lines papermill injects after the parameters cell (the values a
    run used); a value that is not a literal (``float('nan')``) is kept as its source text."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            target, value = node.target.id, node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            target, value = node.targets[0].id, node.value
        else:
            continue
        try:
            values[target] = ast.literal_eval(value)
        except ValueError:
            values[target] = ast.unparse(value)
    return values


def md_literal(value: Any) -> str:
    """A parameter value as a Markdown code span, for a page (the "Parameters used" box, the
    colophon): shown verbatim, never read as HTML (``<img onerror=...>``), math (``$x$``), a
    role or a table border, in the HTML and in the PDF alike."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def describe(chapter: str, params: dict[str, Parameter]) -> str:
    """``mscfm params CHAPTER``: name, type, default, allowed values and doc of each."""
    if not params:
        return f"{chapter}: no parameters"
    rows = [("name", "type", "default", "allowed", "meaning")]
    for p in params.values():
        default = p.default if isinstance(p.default, str) else json.dumps(p.default)
        rows.append((p.name, p.annotation if p.choices is None else p.type, str(default),
                     p.allowed() or "any " + p.type, p.doc))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{chapter}: parameters (set with mscfm build -p {chapter}.NAME=VALUE)", ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
                     + "  " + row[4])
    return "\n".join(line.rstrip() for line in lines)
