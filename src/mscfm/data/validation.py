"""`validate`: every problem of the data package in one pass, sorted by file and row, and cached
while no data file's content changes (a notebook loads many tables; each validates them all)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from mscfm.data import checks
from mscfm.data.bib import BibEntry, read_bib
from mscfm.data.csvfile import Table, read_csv
from mscfm.data.descriptor import (
    DESCRIPTOR_LABEL,
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
    tables: dict[str, Table]
    resources: dict[str, Resource]
    references: dict[str, BibEntry]
    descriptor_label: str
    references_label: str

    @property
    def n_rows(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())


def table_problems(resource: Resource, schema: Schema, problems: list[Problem]) -> Table | None:
    """Read one table and run the checks that need only that table."""
    if not resource.path.is_file():
        problems.append(Problem(resource.label, None, None,
                                f"missing file: expected table {resource.name!r}"))
        return None
    table = read_csv(resource, schema, problems)
    if table is not None:
        checks.check_cells(table, problems)
        checks.check_unique(table, problems)
        checks.check_rules(table, problems)
    return table


def run_validation(root: Path | None) -> ValidationReport:
    """Validate the data package under ``root`` (uncached)."""
    problems: list[Problem] = []
    resources = read_resources(root, problems)
    references, broken_keys, bib_problems = read_bib(references_path(root), REFERENCES_FILE)
    problems.extend(bib_problems)
    tables: dict[str, Table] = {}
    for resource in resources.values():
        schema = read_schema(resource, set(resources), problems)
        if schema is not None:
            table = table_problems(resource, schema, problems)
            if table is not None:
                tables[resource.name] = table
        elif not resource.path.is_file():
            problems.append(Problem(resource.label, None, None,
                                    f"missing file: expected table {resource.name!r}"))
    for table in tables.values():
        checks.check_foreign_keys(table, tables, set(references) | broken_keys, REFERENCES_FILE,
                                  problems)
        if table.resource.name == checks.ROW_REFERENCE_RESOURCE:
            checks.check_row_references(table, tables, resources, problems)
    order = {label: i for i, label in enumerate(_file_order(resources))}
    problems.sort(key=lambda p: (order.get(p.file, len(order)), p.file, p.row or 0))
    return ValidationReport(problems, tables, resources, references, DESCRIPTOR_LABEL,
                            REFERENCES_FILE)


def _file_order(resources: dict[str, Resource]) -> list[str]:
    labels = [DESCRIPTOR_LABEL, REFERENCES_FILE]
    for resource in resources.values():
        labels += [resource.schema_label, resource.label]
    return labels


_CACHE: dict[tuple[str, str], ValidationReport] = {}


def _content_hash(data_dir: Path, references: Path) -> str:
    digest = hashlib.sha256()
    files = [data_dir / DESCRIPTOR, *data_dir.glob("*.csv"), *data_dir.glob("schema/*.json")]
    for path in [references, *sorted(set(files))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"\0missing")
    return digest.hexdigest()


def validation_report(root: Path | None = None) -> ValidationReport:
    """Validate the data package, reusing the result while no data file's content changed."""
    data_dir = data_path(root)
    key = (str(data_dir.resolve()), _content_hash(data_dir, references_path(root)))
    if key not in _CACHE:
        _CACHE.clear()  # one package state per process is enough
        _CACHE[key] = run_validation(root)
    return _CACHE[key]


def validate(root: Path | None = None) -> list[Problem]:
    """Every problem in the data package under `root/data` (default: the project root)."""
    return list(validation_report(root).problems)
