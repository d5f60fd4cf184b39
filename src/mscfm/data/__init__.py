"""Curated tables: read them, validate them against `data/datapackage.json`, load them typed.

The contract is in ARCHITECTURE.md ("Data contract") and data/schema/README.md. `validate()`
reports every problem in one pass; `load(name)` returns a typed DataFrame and refuses invalid data.

Modules, lowest first: `problems` (Problem; reading bytes and JSON), `values` (cell types),
`descriptor` (the one reader of datapackage.json), `bib` (references.bib), `schemas` (Table
Schema files), `csvfile` (CSV with spreadsheet row numbers), `checks`, `validation` (with its
cache), `guard` (declared inputs during a build) and `loading` (typed frames).
"""

from __future__ import annotations

from mscfm.data.bib import read_bib_keys
from mscfm.data.guard import DECLARED_INPUTS_ENV
from mscfm.data.loading import load, load_file, load_references, schema, table_names, table_path
from mscfm.data.problems import Problem
from mscfm.data.validation import ValidationReport, validate, validation_report

__all__ = [
    "DECLARED_INPUTS_ENV",
    "Problem",
    "ValidationReport",
    "load",
    "load_file",
    "load_references",
    "read_bib_keys",
    "schema",
    "table_names",
    "table_path",
    "validate",
    "validation_report",
]
