"""The checks: per row as a table is streamed (cell types and constraints, unique values,
`x-rules`), then across tables (foreign keys to other tables and to references.bib, and
claim_evidence's row references) on the little that each table's summary keeps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mscfm.data.csvfile import Record
from mscfm.data.descriptor import REFERENCES_RESOURCE, Resource
from mscfm.data.problems import Problem
from mscfm.data.schemas import BOUND_CONSTRAINTS, Field, ForeignKey, Schema
from mscfm.data.values import INVALID, NUMERIC_TYPES, PARSERS
from mscfm.paths import REFERENCES_FILE

# claim_evidence.row_id names a row of the table given in claim_evidence.table.
ROW_REFERENCE_RESOURCE = "claim_evidence"
Key = tuple[str, ...]


@dataclass
class TableSummary:
    """What validation keeps of a table once read: no rows, only what the checks across tables
    need (its keys, and the values of its own foreign keys and row references)."""

    resource: Resource
    schema: Schema
    header: list[str]
    n_rows: int = 0
    fully_read: bool = True  # False: some row could not be read at all
    keys: dict[Key, set[Key]] = field(default_factory=dict)  # fields -> values, all rows
    foreign_values: dict[ForeignKey, list[tuple[int, Key]]] = field(default_factory=dict)
    row_references: list[tuple[int, str, str]] = field(default_factory=list)  # row, table, id


class RowChecker:
    """Checks each record of one table as it is read and fills the table's summary."""

    def __init__(self, resource: Resource, schema: Schema, header: list[str],
                 key_fields: set[Key], problems: list[Problem]) -> None:
        present = set(header)
        self.label = resource.label
        self.problems = problems
        self.fields = [f for f in schema.fields if f.name in present]
        self.numeric = [f.name for f in self.fields if f.type in NUMERIC_TYPES]
        unique = [schema.primary_key] + [
            (f.name,) for f in schema.fields
            if f.constraints.get("unique") and (f.name,) != schema.primary_key]
        self.seen: dict[Key, dict[Key, int]] = {
            names: {} for names in unique if set(names) <= present}
        self.empty_key_allowed = not any(
            f.constraints.get("required") for f in schema.fields if f.name in schema.primary_key)
        self.primary_key = schema.primary_key
        self.rules = [rule for rule in schema.rules if set(_rule_fields(rule)) <= present]
        self.summary = TableSummary(resource, schema, header)
        self.summary.keys = {names: set() for names in key_fields | {schema.primary_key}
                             if set(names) <= present}
        self.summary.foreign_values = {fk: [] for fk in schema.foreign_keys
                                       if set(fk.fields) <= present}
        self.row_references = (resource.name == ROW_REFERENCE_RESOURCE
                               and {"table", "row_id"} <= present)

    def check(self, record: Record) -> dict[str, Any] | None:
        """The typed values of a complete record (None for a malformed one)."""
        if not record.complete:
            if record.cells is None:
                self.summary.fully_read = False
            else:
                self._collect_keys(record.cells)
            return None
        number, raw = record.number, record.cells
        assert raw is not None
        self.summary.n_rows += 1
        typed: dict[str, Any] = {}
        for fld in self.fields:
            message = _cell_problem(fld, raw[fld.name], typed)
            if message:
                self.problems.append(Problem(self.label, number, fld.name, message))
        self._check_unique(number, raw)
        for rule in self.rules:
            for column, message in _rule_problems(rule, raw, typed, self.numeric):
                self.problems.append(Problem(self.label, number, column, message))
        self._collect_keys(raw)
        for fk, values in self.summary.foreign_values.items():
            value = tuple(raw[n] for n in fk.fields)
            if "" not in value:
                values.append((number, value))
        if self.row_references and raw["table"] and raw["row_id"]:
            self.summary.row_references.append((number, raw["table"], raw["row_id"]))
        return typed

    def _check_unique(self, number: int, raw: dict[str, str]) -> None:
        for names, first_row in self.seen.items():
            value = tuple(raw[n] for n in names)
            is_key = names == self.primary_key
            if "" in value:
                if is_key and self.empty_key_allowed:
                    self.problems.append(Problem(self.label, number, names[0],
                                                 "primary key value is empty"))
                continue
            if value in first_row:
                kind = "primary key" if is_key else "value in a unique column"
                self.problems.append(Problem(self.label, number, names[0],
                                             f"duplicate {kind} {', '.join(value)!r}, first at "
                                             f"row {first_row[value]}"))
            else:
                first_row[value] = number

    def _collect_keys(self, cells: dict[str, str]) -> None:
        for names, values in self.summary.keys.items():
            values.add(tuple(cells.get(n, "") for n in names))


def _rule_fields(rule: dict[str, Any]) -> list[str]:
    if rule["check"] == "required_if":
        return [rule["field"], *rule["if_empty"]]
    return list(rule["fields"])


def _cell_problem(fld: Field, text: str, typed: dict[str, Any]) -> str | None:
    constraints = fld.constraints
    if text == "":
        typed[fld.name] = None
        return "required value is empty" if constraints.get("required") else None
    parser, expected = PARSERS[fld.type]
    try:
        value = parser(text)
    except (ValueError, KeyError):
        typed[fld.name] = INVALID
        return f"expected {expected}, found {text!r}"
    typed[fld.name] = value
    enum = constraints.get("enum")
    if enum is not None and value not in enum:
        return f"must be one of {', '.join(map(str, enum))}; found {text!r}"
    for key, sign in BOUND_CONSTRAINTS.items():
        bound = constraints.get(key)
        if bound is not None and not _compare(value, sign, bound):
            return f"must be {sign} {_show(bound)}, found {text}"
    if fld.pattern is not None and not fld.pattern.fullmatch(text):
        return f"must match the pattern {fld.pattern.pattern}, found {text!r}"
    if len(text) < constraints.get("minLength", 0):
        return f"must have at least {constraints['minLength']} characters, found {text!r}"
    if "maxLength" in constraints and len(text) > constraints["maxLength"]:
        return f"must have at most {constraints['maxLength']} characters, found {len(text)}"
    return None


def _show(value: Any) -> str:
    """A bound as a person would write it: 0 rather than 0.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(value: Any, sign: str, bound: Any) -> bool:
    return {">=": value >= bound, "<=": value <= bound, ">": value > bound,
            "<": value < bound}[sign]


def _rule_problems(rule: dict[str, Any], raw: dict[str, str], typed: dict[str, Any],
                   numeric: list[str]) -> Iterator[tuple[str, str]]:
    check = rule["check"]
    if check == "less_equal":
        names = rule["fields"]
        for i, low in enumerate(names):
            for high in names[i + 1:]:
                a, b = typed.get(low), typed.get(high)
                if a is None or b is None or a is INVALID or b is INVALID:
                    continue
                if a > b:
                    yield low, f"{low} ({raw[low]}) must be <= {high} ({raw[high]})"
    elif check == "provenance":
        filled = [n for n in numeric if raw[n] != ""]
        if filled:
            for name in rule["fields"]:
                if raw[name] == "":
                    yield name, (f"{name} is empty but the row holds numbers "
                                 f"({', '.join(filled)}); every number needs a source and "
                                 "locator")
    elif check == "required_if":
        name, if_empty = rule["field"], rule["if_empty"]
        if raw[name] == "" and all(raw[n] == "" for n in if_empty):
            yield name, (f"{name} is empty although {', '.join(if_empty)} is empty; "
                         "say why the value is missing")


def check_foreign_keys(table: TableSummary, tables: dict[str, TableSummary],
                       problems: list[Problem]) -> None:
    label = table.resource.label
    for fk, values in table.foreign_values.items():
        target = tables.get(fk.resource)
        if target is None or not target.fully_read or fk.ref_fields not in target.keys:
            continue  # the target table is missing or unreadable: reported already
        known = target.keys[fk.ref_fields]
        where = f"no row of {target.resource.label} has it as {', '.join(fk.ref_fields)}"
        if fk.resource == REFERENCES_RESOURCE:
            where = f"not an entry key in {REFERENCES_FILE} ({where})"
        for number, value in values:
            if value not in known:
                problems.append(Problem(label, number, fk.fields[0],
                                        f"unknown key {', '.join(value)!r}: {where}"))


def check_row_references(table: TableSummary, tables: dict[str, TableSummary],
                         resources: dict[str, Resource], problems: list[Problem]) -> None:
    """claim_evidence: when `table` and `row_id` are set, row_id is a key of that table."""
    label = table.resource.label
    for number, given, row_id in table.row_references:
        name = given.removesuffix(".csv")
        if not name:
            continue
        if name not in resources:
            problems.append(Problem(label, number, "table",
                                    f"unknown table {given!r}; expected one of "
                                    f"{', '.join(sorted(resources))}"))
            continue
        target = tables.get(name)
        if target is None or not target.fully_read:
            continue
        key = target.schema.primary_key
        if len(key) == 1 and key in target.keys and (row_id,) not in target.keys[key]:
            problems.append(Problem(label, number, "row_id",
                                    f"unknown row {row_id!r}: no row of {target.resource.label} "
                                    f"has it as {key[0]}"))
