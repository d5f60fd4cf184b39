"""`validate`: every problem of the data package in one pass, sorted by file and row, and cached
while no data file's content changes (a notebook loads many tables; each validates them all)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mscfm.data import checks
from mscfm.data.bib import BibEntry, read_bib, render_references
from mscfm.data.checks import Key, RowChecker, TableSummary
from mscfm.data.csvfile import open_csv
from mscfm.data.descriptor import (
    DESCRIPTOR_LABEL,
    REFERENCES_RESOURCE,
    Resource,
    data_path,
    read_resources,
    references_path,
)
from mscfm.data.problems import Problem
from mscfm.data.schemas import Schema, read_schema
from mscfm.paths import DESCRIPTOR, REFERENCES_FILE


@dataclass
class ValidationReport:
    problems: list[Problem]
    tables: dict[str, TableSummary]
    resources: dict[str, Resource]
    references: dict[str, BibEntry]
    descriptor_label: str
    references_label: str

    @property
    def n_rows(self) -> int:
        return sum(t.n_rows for t in self.tables.values())


RowSink = Callable[[dict[str, Any]], None]


def scan_table(resource: Resource, schema: Schema, problems: list[Problem],
               key_fields: set[Key] | None = None,
               on_row: RowSink | None = None) -> TableSummary | None:
    """Stream one table through the checks that need only that table; ``on_row`` receives the
    typed values of every complete row. None when the file is missing or unreadable."""
    if not resource.path.is_file():
        problems.append(Problem(resource.label, None, None,
                                f"missing file: expected table {resource.name!r}"))
        return None
    with open_csv(resource, schema, problems) as rows:
        if rows is None:
            return None
        checker = RowChecker(resource, schema, rows.header, key_fields or set(), problems)
        for record in rows.records:
            typed = checker.check(record)
            if typed is not None and on_row is not None:
                on_row(typed)
    return checker.summary


def _referenced_keys(schemas: dict[str, Schema]) -> dict[str, set[Key]]:
    """Per table, the field tuples other tables' foreign keys point at."""
    wanted: dict[str, set[Key]] = {name: set() for name in schemas}
    for schema in schemas.values():
        for fk in schema.foreign_keys:
            wanted.setdefault(fk.resource, set()).add(fk.ref_fields)
    return wanted


def run_validation(root: Path | None) -> ValidationReport:
    """Validate the data package under ``root`` (uncached)."""
    problems: list[Problem] = []
    resources = read_resources(root, problems)
    references, bib_problems = read_bib(references_path(root), REFERENCES_FILE)
    problems.extend(bib_problems)
    schemas: dict[str, Schema] = {}
    for resource in resources.values():
        schema = read_schema(resource, set(resources), problems)
        if schema is not None:
            schemas[resource.name] = schema
        elif not resource.path.is_file():
            problems.append(Problem(resource.label, None, None,
                                    f"missing file: expected table {resource.name!r}"))
    wanted = _referenced_keys(schemas)
    tables: dict[str, TableSummary] = {}
    for name, schema in schemas.items():
        table = scan_table(resources[name], schema, problems, wanted[name])
        if table is not None:
            tables[name] = table
    for table in tables.values():
        checks.check_foreign_keys(table, tables, problems)
        checks.check_row_references(table, tables, resources, problems)
    register = tables.get(REFERENCES_RESOURCE)
    if register is not None and not bib_problems:  # a broken register: fix that first
        problems.extend(_stale_references(register, references))
    order = {label: i for i, label in enumerate(_file_order(resources))}
    problems.sort(key=lambda p: (order.get(p.file, len(order)), p.file, p.row or 0))
    return ValidationReport(problems, tables, resources, references, DESCRIPTOR_LABEL,
                            REFERENCES_FILE)


def _stale_references(register: TableSummary, entries: dict[str, BibEntry]) -> list[Problem]:
    """data/references.csv must be what `mscfm references` writes from references.bib."""
    resource = register.resource
    if resource.path.read_text(encoding="utf-8") == render_references(entries):
        return []
    listed = {key for (key,) in register.keys.get(("key",), set())}
    missing, extra = sorted(set(entries) - listed), sorted(listed - set(entries))
    details = [f"{what}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
               for what, keys in (("entries not in it", missing),
                                  ("rows not in references.bib", extra)) if keys]
    return [Problem(resource.label, None, None,
                    f"out of date with {REFERENCES_FILE} ("
                    f"{'; '.join(details) or 'some rows differ'}); "
                    f"run `mscfm references` to regenerate it")]


def _file_order(resources: dict[str, Resource]) -> list[str]:
    labels = [DESCRIPTOR_LABEL, REFERENCES_FILE]
    for resource in resources.values():
        labels += [resource.schema_label, resource.label]
    return labels


_CACHE: dict[tuple[str, str], ValidationReport] = {}


def _content_hash(root: Path | None) -> str:
    """A hash of every file validation reads: the descriptor, the register, and each table and
    schema (those declared, and those lying in the usual places), read in chunks."""
    data_dir = data_path(root)
    declared = read_resources(root, [])
    files = {data_dir / DESCRIPTOR, references_path(root), *data_dir.glob("*.csv"),
             *data_dir.glob("schema/*.json"),
             *(p for r in declared.values() for p in (r.path, r.schema_path))}
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(data_dir.parent)).encode() + b"\0")
        if path.is_file():
            with path.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
        else:
            digest.update(b"\0missing")
    return digest.hexdigest()


def validation_report(root: Path | None = None) -> ValidationReport:
    """Validate the data package, reusing the result while no data file's content changed."""
    key = (str(data_path(root).resolve()), _content_hash(root))
    if key not in _CACHE:
        _CACHE.clear()  # one package state per process is enough
        _CACHE[key] = run_validation(root)
    return _CACHE[key]


def validate(root: Path | None = None) -> list[Problem]:
    """Every problem in the data package under `root/data` (default: the project root)."""
    return list(validation_report(root).problems)
