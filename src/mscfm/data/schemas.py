"""Table Schema files (`data/schema/<table>.schema.json`): read into a `Schema` whose constraint
values are already cast to their field's type, collecting every problem instead of raising.

Two layers. The structure of a schema file (which properties, of which JSON types) is checked by
`jsonschema` against `tableschema.profile.json`, our profile of Frictionless Table Schema v2 (the
subset we support, plus `x-rules`); its ``x-message`` annotations word the problems. What a JSON
Schema cannot say is checked here: constraint values of the field's type, bounds only on ordered
types, valid regular expressions, and names that refer to fields or resources that exist.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import re
import sys
import types
from dataclasses import dataclass
from importlib import resources as package_files
from typing import TYPE_CHECKING, Any

from mscfm.data.descriptor import Resource
from mscfm.data.problems import Problem, read_json
from mscfm.data.values import ORDERED_TYPES, PARSERS

if TYPE_CHECKING:
    import jsonschema

PROFILE_FILE = "tableschema.profile.json"
BOUND_CONSTRAINTS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
                     "exclusiveMaximum": "<"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    constraints: dict[str, Any]  # values already cast to the field's type
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str
    ref_fields: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    rules: tuple[dict[str, Any], ...]
    raw: dict[str, Any]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def read_schema(resource: Resource, resource_names: set[str],
                problems: list[Problem]) -> Schema | None:
    """The schema of ``resource``, or None when it is missing or broken (problems say why)."""
    reader = SchemaReader(resource.schema_label, resource_names)
    raw = read_json(resource.schema_path, resource.schema_label, reader.problems,
                    f": expected the schema of table {resource.name!r}")
    schema = reader.read(raw) if raw is not None else None
    problems.extend(reader.problems)
    return schema


# --------------------------------------------------------------------------- structure


@functools.cache
def profile() -> dict[str, Any]:
    """Our JSON Schema profile of Table Schema (shipped inside the package)."""
    text = package_files.files(__package__).joinpath(PROFILE_FILE).read_text(encoding="utf-8")
    return json.loads(text)


# jsonschema registers its optional format checkers when it is imported; rfc3987-syntax, which
# jupyter-events pulls into the environment (`jsonschema[format-nongpl]`), compiles about 38
# grammars for the "iri" checker at import: 1-3.5 s in every chapter kernel. We never check
# formats, so that module stands in until something really calls it.
_DEFERRED = "rfc3987_syntax"


def _defer_format_grammars() -> None:
    """Put a stand-in for rfc3987-syntax in ``sys.modules`` that imports the real module on
    first use (an attribute read or a call), so importing jsonschema does not compile it."""
    if _DEFERRED in sys.modules or importlib.util.find_spec(_DEFERRED) is None:
        return
    stand_in = types.ModuleType(_DEFERRED, "imports rfc3987-syntax on first use")

    def real() -> types.ModuleType:
        if sys.modules.get(_DEFERRED) is stand_in:
            del sys.modules[_DEFERRED]
        return importlib.import_module(_DEFERRED)

    def is_valid_syntax(*args: Any, **kwargs: Any) -> Any:
        return real().is_valid_syntax(*args, **kwargs)

    def attribute(name: str) -> Any:  # anything else (PEP 562); the import system asks for
        if name.startswith("__"):  # __path__ and such, which must not load the real module
            raise AttributeError(name)
        return getattr(real(), name)

    stand_in.is_valid_syntax = is_valid_syntax  # what jsonschema imports from it
    stand_in.__getattr__ = attribute
    sys.modules[_DEFERRED] = stand_in


def _jsonschema() -> types.ModuleType:
    _defer_format_grammars()
    import jsonschema

    return jsonschema


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = profile()
    return _jsonschema().validators.validator_for(schema)(schema)


def structure_problems(raw: Any, label: str) -> list[Problem]:
    """Where ``raw`` breaks the profile, as Problems (column: the field concerned, if any)."""
    errors = sorted(_validator().iter_errors(raw), key=lambda e: [str(p) for p in e.path])
    found: list[Problem] = []
    for error in errors:
        problem = Problem(label, None, _field_name(raw, list(error.path)), _message(error))
        if problem not in found:
            found.append(problem)
    return found


def _field_name(raw: Any, path: list[Any]) -> str | None:
    if len(path) >= 2 and path[0] == "fields" and isinstance(raw, dict):
        item = raw["fields"][path[1]]
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            return item["name"]
    return None


def _message(error: jsonschema.ValidationError) -> str:
    """The profile's x-message for this kind of error, filled in; else jsonschema's own."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    names, expected = "", ""
    if error.validator == "additionalProperties":
        template = schema.get("x-message-additional")
        allowed = list(schema.get("properties", {}))  # in the profile's order
        unknown = [k for k in error.instance if k not in allowed and not k.startswith("x-")]
        names, expected = ", ".join(map(repr, unknown)), ", ".join(allowed)
    elif error.validator == "required":
        template = schema.get("x-message-required")
        if isinstance(template, dict):  # one message per missing property
            missing = [k for k in error.validator_value if k not in error.instance]
            template = template.get(missing[0]) if missing else None
    else:
        template = schema.get("x-message")
        if error.validator == "enum":
            expected = ", ".join(map(str, error.validator_value))
    if not template:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        return f"{where.lstrip('.') or 'schema'}: {error.message}"
    return template.format(value=repr(error.instance), names=names, expected=expected)


# --------------------------------------------------------------------------- meaning


class SchemaReader:
    """Turns a Table Schema JSON object into a Schema, collecting problems instead of raising."""

    def __init__(self, label: str, resource_names: set[str]) -> None:
        self.label = label
        self.resource_names = resource_names
        self.problems: list[Problem] = []

    def problem(self, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.label, None, column, message))

    def read(self, raw: Any) -> Schema | None:
        self.problems.extend(structure_problems(raw, self.label))
        if self.problems:
            return None  # the checks below rely on the structure
        fields = [self._field(item) for item in raw["fields"]]
        names = [f.name for f in fields]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problem(name, "field defined twice")
        primary_key = self._names(raw["primaryKey"], names, "primaryKey")
        foreign_keys = tuple(fk for fk in (self._foreign_key(item, names)
                                           for item in raw.get("foreignKeys", [])) if fk)
        rules = tuple(rule for rule in raw.get("x-rules", []) if self._rule_ok(rule, fields))
        if self.problems:
            return None
        return Schema(tuple(fields), primary_key, foreign_keys, rules, raw)

    def _names(self, value: str | list[str], known: list[str], where: str) -> tuple[str, ...]:
        listed = (value,) if isinstance(value, str) else tuple(value)
        for name in listed:
            if name not in known:
                self.problem(name, f"{where} names a field the schema does not define")
        return listed

    def _field(self, item: dict[str, Any]) -> Field:
        name, kind = item["name"], item.get("type", "string")
        constraints = item.get("constraints", {})
        cast = {key: self._constraint(name, kind, key, value)
                for key, value in constraints.items()}
        pattern = None
        if "pattern" in cast:
            try:
                pattern = re.compile(cast["pattern"])
            except re.error as exc:
                self.problem(name, f"pattern is not a valid regular expression: {exc}")
        return Field(name, kind, cast, pattern)

    def _constraint(self, name: str, kind: str, key: str, value: Any) -> Any:
        if key in ("minLength", "maxLength") and kind != "string":
            self.problem(name, f"{key} applies to string fields")
        elif key == "enum":
            return [self._typed(name, kind, key, v) for v in value]
        elif key in BOUND_CONSTRAINTS:
            if kind not in ORDERED_TYPES:
                self.problem(name, f"{key} applies to {', '.join(ORDERED_TYPES)} fields")
                return None
            return self._typed(name, kind, key, value)
        return value

    def _typed(self, name: str, kind: str, key: str, value: Any) -> Any:
        parser, expected = PARSERS[kind]
        text = "true" if value is True else "false" if value is False else str(value)
        try:
            return parser(text)
        except (ValueError, KeyError):
            self.problem(name, f"{key} value {value!r} is not {expected}")
            return None

    def _foreign_key(self, item: dict[str, Any], names: list[str]) -> ForeignKey | None:
        fields = self._names(item["fields"], names, "foreignKeys.fields")
        reference = item["reference"]
        resource, ref_fields = reference["resource"], reference["fields"]
        ref_fields = (ref_fields,) if isinstance(ref_fields, str) else tuple(ref_fields)
        if resource not in self.resource_names:
            self.problem(fields[0], f"foreign key refers to unknown resource {resource!r}")
            return None
        if len(ref_fields) != len(fields):
            self.problem(None, "foreignKeys fields and reference fields differ in number")
            return None
        return ForeignKey(fields, resource, ref_fields)

    def _rule_ok(self, rule: dict[str, Any], fields: list[Field]) -> bool:
        kinds = {f.name: f.type for f in fields}
        check = rule["check"]
        listed = [rule["field"], *rule["if_empty"]] if check == "required_if" else rule["fields"]
        if not all(n in kinds for n in listed):
            self.problem(None, f"x-rules {check}: every field must be defined in the schema; "
                               f"found {listed!r}")
            return False
        if check == "less_equal" and not {kinds[n] for n in listed} <= set(ORDERED_TYPES):
            self.problem(None, "x-rules less_equal needs two or more number, integer, "
                               "year or date fields")
            return False
        return True
