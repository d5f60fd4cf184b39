"""The checks on a parsed table: cell types and constraints, unique values, `x-rules`, foreign keys
(to other tables and to references.bib) and claim_evidence's row references."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mscfm.data.csvfile import Table
from mscfm.data.descriptor import REFERENCES_RESOURCE, Resource
from mscfm.data.problems import Problem
from mscfm.data.schemas import BOUND_CONSTRAINTS, Field
from mscfm.data.values import INVALID, NUMERIC_TYPES, PARSERS

# claim_evidence.row_id names a row of the table given in claim_evidence.table.
ROW_REFERENCE_RESOURCE = "claim_evidence"


def check_cells(table: Table, problems: list[Problem]) -> None:
    """Types and per-cell constraints; fills the typed values of each row."""
    label = table.resource.label
    fields = [f for f in table.schema.fields if f.name in table.header]
    for number, raw, typed in table.rows:
        for fld in fields:
            text = raw[fld.name]
            message = _cell_problem(fld, text, typed)
            if message:
                problems.append(Problem(label, number, fld.name, message))


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


def check_unique(table: Table, problems: list[Problem]) -> None:
    schema, label = table.schema, table.resource.label
    groups = [schema.primary_key] + [
        (f.name,) for f in schema.fields
        if f.constraints.get("unique") and (f.name,) != schema.primary_key]
    for names in groups:
        if not all(n in table.header for n in names):
            continue
        is_key = names == schema.primary_key
        first_row: dict[tuple[str, ...], int] = {}
        for number, raw, _ in table.rows:
            value = tuple(raw[n] for n in names)
            if is_key and "" in value:
                if not any(table.schema.field(n).constraints.get("required") for n in names):
                    problems.append(Problem(label, number, names[0],
                                            "primary key value is empty"))
                continue
            if "" in value:
                continue
            if value in first_row:
                kind = "primary key" if is_key else "value in a unique column"
                shown = ", ".join(value)
                problems.append(Problem(label, number, names[0],
                                        f"duplicate {kind} {shown!r}, first at row "
                                        f"{first_row[value]}"))
            else:
                first_row[value] = number


def check_rules(table: Table, problems: list[Problem]) -> None:
    label = table.resource.label
    numeric = [f.name for f in table.schema.fields
               if f.type in NUMERIC_TYPES and f.name in table.header]
    for rule in table.schema.rules:
        check = rule["check"]
        involved = [rule["field"], *rule["if_empty"]] if check == "required_if" else rule["fields"]
        if not all(n in table.header for n in involved):
            continue  # the missing column is reported already
        for number, raw, typed in table.rows:
            for column, message in _rule_problems(rule, raw, typed, numeric):
                problems.append(Problem(label, number, column, message))


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


def check_foreign_keys(table: Table, tables: dict[str, Table], bib_keys: set[str],
                        references_label: str, problems: list[Problem]) -> None:
    label = table.resource.label
    for fk in table.schema.foreign_keys:
        if not all(n in table.header for n in fk.fields):
            continue
        if fk.resource == REFERENCES_RESOURCE:
            known = {(k,) for k in bib_keys}
            where = f"not an entry key in {references_label}"
        elif fk.resource in tables:
            target = tables[fk.resource]
            if not target.fully_read or not all(n in target.header for n in fk.ref_fields):
                continue
            known = target.keys(fk.ref_fields)
            where = f"no row of {target.resource.label} has it as {', '.join(fk.ref_fields)}"
        else:
            continue  # the target table is missing or unreadable: reported already
        for number, raw, _ in table.rows:
            value = tuple(raw[n] for n in fk.fields)
            if "" not in value and value not in known:
                shown = ", ".join(value)
                problems.append(Problem(label, number, fk.fields[0],
                                        f"unknown key {shown!r}: {where}"))


def check_row_references(table: Table, tables: dict[str, Table],
                          resources: dict[str, Resource], problems: list[Problem]) -> None:
    """claim_evidence: when `table` and `row_id` are set, row_id is a key of that table."""
    if not {"table", "row_id"} <= set(table.header):
        return
    label = table.resource.label
    for number, raw, _ in table.rows:
        name, row_id = raw["table"].removesuffix(".csv"), raw["row_id"]
        if not name or not row_id:
            continue
        if name not in resources:
            problems.append(Problem(label, number, "table",
                                    f"unknown table {raw['table']!r}; expected one of "
                                    f"{', '.join(sorted(resources))}"))
            continue
        target = tables.get(name)
        if target is None or not target.fully_read:
            continue
        key = target.schema.primary_key
        if len(key) == 1 and key[0] in target.header and (row_id,) not in target.keys(key):
            problems.append(Problem(label, number, "row_id",
                                    f"unknown row {row_id!r}: no row of {target.resource.label} "
                                    f"has it as {key[0]}"))
