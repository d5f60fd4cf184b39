"""Table Schema files (`data/schema/<table>.schema.json`): read into a `Schema` whose constraint
values are already cast to their field's type, collecting every problem instead of raising.

The subset we support is listed in ARCHITECTURE.md ("Table Schema subset we use").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mscfm.data.descriptor import Resource
from mscfm.data.problems import Problem, read_json
from mscfm.data.values import FIELD_TYPES, ORDERED_TYPES, PARSERS

SCHEMA_KEYS = ("fields", "primaryKey", "foreignKeys", "x-rules", "missingValues",
               "title", "description", "$schema")
FIELD_KEYS = ("name", "type", "description", "unit", "constraints", "title", "format", "example")
BOUND_CONSTRAINTS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
                     "exclusiveMaximum": "<"}
CONSTRAINT_NAMES = ("required", "unique", "enum", "pattern", "minLength", "maxLength",
                    *BOUND_CONSTRAINTS)
RULE_CHECKS = ("less_equal", "provenance", "required_if")


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


class SchemaReader:
    """Turns a Table Schema JSON object into a Schema, collecting problems instead of raising."""

    def __init__(self, label: str, resource_names: set[str]) -> None:
        self.label = label
        self.resource_names = resource_names
        self.problems: list[Problem] = []

    def problem(self, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.label, None, column, message))

    def read(self, raw: Any) -> Schema | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
            self.problem(None, "a schema must be a JSON object with a list of fields")
            return None
        for key in raw:
            if key not in SCHEMA_KEYS and not key.startswith("x-"):
                self.problem(None, f"unknown schema property {key!r}; "
                                   f"expected one of {', '.join(SCHEMA_KEYS)}")
        if raw.get("missingValues", [""]) != [""]:
            self.problem(None, 'missingValues must be [""]: only an empty cell is missing')
        fields = [f for f in (self._field(item) for item in raw["fields"]) if f]
        names = [f.name for f in fields]
        for name in {n for n in names if names.count(n) > 1}:
            self.problem(name, "field defined twice")
        primary_key = self._names(raw.get("primaryKey", []), names, "primaryKey")
        if not primary_key:
            self.problem(None, "primaryKey is missing; every curated table has one (usually id)")
        foreign_keys = tuple(fk for fk in (self._foreign_key(item, names)
                                           for item in raw.get("foreignKeys", [])) if fk)
        rules = tuple(rule for rule in raw.get("x-rules", []) if self._rule_ok(rule, fields))
        if self.problems:
            return None
        return Schema(tuple(fields), primary_key, foreign_keys, rules, raw)

    def _names(self, value: Any, known: list[str], where: str) -> tuple[str, ...]:
        listed = [value] if isinstance(value, str) else value
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            self.problem(None, f"{where} must be a field name or a list of field names")
            return ()
        for name in listed:
            if name not in known:
                self.problem(name, f"{where} names a field the schema does not define")
        return tuple(listed)

    def _field(self, item: Any) -> Field | None:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            self.problem(None, f"each field needs a name; found {item!r}")
            return None
        name, kind = item["name"], item.get("type", "string")
        for key in item:
            if key not in FIELD_KEYS and not key.startswith("x-"):
                self.problem(name, f"unknown field property {key!r}; "
                                   f"expected one of {', '.join(FIELD_KEYS)}")
        if item.get("format", "default") != "default":
            self.problem(name, "only the default format is supported (dates are YYYY-MM-DD)")
        if kind not in FIELD_TYPES:
            self.problem(name, f"unknown type {kind!r}; expected one of {', '.join(FIELD_TYPES)}")
            return None
        constraints = item.get("constraints", {})
        if not isinstance(constraints, dict):
            self.problem(name, "constraints must be an object")
            return None
        cast = {key: self._constraint(name, kind, key, value)
                for key, value in constraints.items()}
        pattern = None
        if isinstance(cast.get("pattern"), str):
            try:
                pattern = re.compile(cast["pattern"])
            except re.error as exc:
                self.problem(name, f"pattern is not a valid regular expression: {exc}")
        return Field(name, kind, cast, pattern)

    def _constraint(self, name: str, kind: str, key: str, value: Any) -> Any:
        if key not in CONSTRAINT_NAMES:
            self.problem(name, f"unknown constraint {key!r}; "
                               f"expected one of {', '.join(CONSTRAINT_NAMES)}")
        elif key in ("required", "unique") and not isinstance(value, bool):
            self.problem(name, f"{key} must be true or false")
        elif key in ("minLength", "maxLength") and (kind != "string" or type(value) is not int):
            self.problem(name, f"{key} must be an integer and applies to string fields")
        elif key == "pattern" and not isinstance(value, str):
            self.problem(name, "pattern must be a string")
        elif key == "enum":
            if not isinstance(value, list) or not value:
                self.problem(name, "enum must be a non-empty list")
                return None
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

    def _foreign_key(self, item: Any, names: list[str]) -> ForeignKey | None:
        reference = item.get("reference") if isinstance(item, dict) else None
        if not isinstance(reference, dict) or "fields" not in item:
            self.problem(None, "each foreignKey needs fields and a reference "
                               "{resource, fields}")
            return None
        fields = self._names(item["fields"], names, "foreignKeys.fields")
        resource = reference.get("resource", "")
        ref_fields = reference.get("fields")
        ref_fields = (ref_fields,) if isinstance(ref_fields, str) else tuple(ref_fields or ())
        if resource not in self.resource_names:
            self.problem(fields[0] if fields else None,
                         f"foreign key refers to unknown resource {resource!r}")
            return None
        if len(ref_fields) != len(fields):
            self.problem(None, "foreignKeys fields and reference fields differ in number")
            return None
        return ForeignKey(fields, resource, ref_fields)

    def _rule_ok(self, rule: Any, fields: list[Field]) -> bool:
        names = [f.name for f in fields]
        check = rule.get("check") if isinstance(rule, dict) else None
        if check not in RULE_CHECKS:
            self.problem(None, f"unknown x-rules check {check!r}; "
                               f"expected one of {', '.join(RULE_CHECKS)}")
            return False
        listed = [rule.get("field")] if check == "required_if" else rule.get("fields")
        if check == "required_if":
            listed = [*listed, *(rule.get("if_empty") or [])]
            if not rule.get("if_empty"):
                self.problem(rule.get("field"), "required_if needs a non-empty if_empty list")
                return False
        if not isinstance(listed, list) or not listed or not all(n in names for n in listed):
            self.problem(None, f"x-rules {check}: every field must be defined in the schema; "
                               f"found {listed!r}")
            return False
        if check == "less_equal":
            kinds = {next(f.type for f in fields if f.name == n) for n in listed}
            if len(listed) < 2 or not kinds <= set(ORDERED_TYPES):
                self.problem(None, "x-rules less_equal needs two or more number, integer, "
                                   "year or date fields")
                return False
        return True
