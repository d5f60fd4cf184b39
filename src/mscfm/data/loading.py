"""Typed access for the chapters: `load(name)` returns a validated table as a DataFrame.

pandas and numpy are imported only when a frame is built: validating, bundling and reading the
descriptor do not need them, and they cost a second to import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mscfm.data.bib import IDENTIFIER_FIELDS, plain
from mscfm.data.descriptor import (
    REFERENCES_RESOURCE,
    Resource,
    package_root,
    references_path,
    resources,
)
from mscfm.data.guard import check_declared
from mscfm.data.problems import Problem, read_json
from mscfm.data.schemas import Field, Schema, read_schema
from mscfm.data.validation import ValidationReport, scan_table, validation_report
from mscfm.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

SHOWN_PROBLEMS = 20  # an error message lists at most this many problems


def table_names(root: Path | None = None) -> list[str]:
    """The resource names listed in data/datapackage.json, in their order."""
    return list(resources(root))


def table_path(name: str, root: Path | None = None) -> Path:
    """Where the CSV of table `name` lives."""
    return _resource(name, root).path


def schema(name: str, root: Path | None = None) -> list[dict[str, Any]]:
    """The field definitions of table `name` as written in its schema (for the docs pages)."""
    resource = _resource(name, root)
    problems: list[Problem] = []
    raw = read_json(resource.schema_path, resource.schema_label, problems)
    if problems or not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
        raise DataError(f"{resource.schema_label}: cannot read the schema of {name!r}")
    return raw["fields"]


def _resource(name: str, root: Path | None) -> Resource:
    declared = resources(root)
    if name not in declared:
        raise DataError(f"unknown table {name!r}; expected one of {', '.join(declared)}")
    return declared[name]


def _listing(problems: list[Problem]) -> str:
    shown = "\n".join(f"  {p}" for p in problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return shown + (f"\n  ... and {more} more" if more > 0 else "")


def _raise_if_invalid(name: str, report: ValidationReport) -> None:
    resource = report.resources[name]
    files = {report.descriptor_label, resource.label, resource.schema_label}
    table = report.tables.get(name)
    for fk in table.schema.foreign_keys if table else ():
        target = report.resources.get(fk.resource)
        files |= {target.label, target.schema_label} if target else set()
        if fk.resource == REFERENCES_RESOURCE:  # the register it is generated from
            files.add(report.references_label)
    relevant = [p for p in report.problems if p.file in files]
    if relevant or table is None:
        raise DataError(f"table {name!r} is invalid ({len(relevant)} problems; run "
                        f"`mscfm validate`):\n{_listing(relevant)}")


def load(name: str, root: Path | None = None) -> pd.DataFrame:
    """Table `name`, validated and typed, sorted by its primary key."""
    base = package_root(root)
    resource = _resource(name, base)
    check_declared(resource.path, base)
    report = validation_report(base)
    _raise_if_invalid(name, report)
    schema_ = report.tables[name].schema
    problems: list[Problem] = []
    frame = _typed_frame(resource, schema_, problems)
    if problems or frame is None:  # the file changed since it was validated
        raise DataError(f"table {name!r} is invalid:\n{_listing(problems)}")
    return frame


def load_file(path: str | Path, like: str, root: Path | None = None) -> pd.DataFrame:
    """A CSV outside the data package, validated and typed with the schema of table `like`.

    For derived tables written next to the curated ones, e.g. a refreshed registry
    (`mscfm refresh-registry` writes data/registry_<date>.csv). Foreign keys are not checked.
    """
    base = package_root(root)
    resource = _resource(like, base)
    target = Path(path) if Path(path).is_absolute() else base / path
    check_declared(target, base)
    problems: list[Problem] = []
    schema_ = read_schema(resource, set(resources(base)), problems)
    label = os.path.relpath(target, base)
    variant = Resource(like, target, resource.schema_path, label, resource.schema_label)
    frame = _typed_frame(variant, schema_, problems) if schema_ is not None else None
    if problems or frame is None:
        raise DataError(f"{label} is not a valid {like!r} table:\n{_listing(problems)}")
    return frame


def _typed_frame(resource: Resource, schema_: Schema,
                 problems: list[Problem]) -> pd.DataFrame | None:
    """Read and check one table, collecting its typed values by column into a frame."""
    import pandas as pd

    values: dict[str, list[Any]] = {f.name: [] for f in schema_.fields}

    def keep(typed: dict[str, Any]) -> None:
        for name, column in values.items():
            column.append(typed.get(name))

    if scan_table(resource, schema_, problems, on_row=keep) is None:
        return None
    frame = pd.DataFrame({f.name: _column(f, values[f.name]) for f in schema_.fields})
    return frame.sort_values(list(schema_.primary_key), kind="stable", ignore_index=True)


def _column(fld: Field, values: list[Any]) -> pd.Series:
    import numpy as np
    import pandas as pd

    if fld.type in ("integer", "year"):
        return pd.Series(values, dtype="Int64")
    if fld.type == "number":
        return pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
    if fld.type == "boolean":
        return pd.Series(values, dtype="boolean")
    if fld.type == "date":
        # seconds, not nanoseconds: any year 0001-9999 fits
        return pd.Series([pd.NaT if v is None else np.datetime64(v, "s") for v in values],
                         dtype="datetime64[s]")
    return pd.Series(values, dtype="str")


def load_references(root: Path | None = None) -> pd.DataFrame:
    """The entries of references.bib: key, sourcetype, year, doi, pmid, nct, url, title."""
    import pandas as pd

    base = package_root(root)
    check_declared(references_path(base), base)
    report = validation_report(base)
    relevant = [p for p in report.problems if p.file == report.references_label]
    if relevant:
        raise DataError(f"{report.references_label} is invalid:\n"
                        + "\n".join(f"  {p}" for p in relevant))
    columns = ("sourcetype", "year", *IDENTIFIER_FIELDS, "title")
    rows = [{"key": e.key, **{c: plain(e.fields.get(c)) for c in columns}}
            for e in report.references.values()]
    frame = pd.DataFrame(rows, columns=["key", *columns], dtype="str")
    frame["year"] = pd.Series([int(y) for y in frame["year"]], dtype="Int64")
    return frame.sort_values("key", ignore_index=True)

