"""Cell values: the Table Schema types we support, parsed from the text of a CSV cell.

A parser raises ValueError (or KeyError) when the text is not a value of its type; the strict
patterns reject what Python would accept but a spreadsheet would show differently ("1,5", " 2",
"nan", "1_000").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "year")
NUMERIC_TYPES = ("integer", "number")  # the types the provenance rule counts as "a number"
ORDERED_TYPES = ("integer", "number", "year", "date")

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
YEAR = re.compile(r"\d{4}")
_BOOLEANS = {"true": True, "false": False}


def _parse_integer(text: str) -> int:
    if not _INTEGER.fullmatch(text) or not -(2**63) <= (value := int(text)) < 2**63:
        raise ValueError(text)  # not an integer, or too large for the Int64 column load gives
    return value


def _parse_number(text: str) -> float:
    if not _NUMBER.fullmatch(text) or not math.isfinite(value := float(text)):
        raise ValueError(text)  # rejects nan, inf, 1e999, "1,5", " 2"
    return value


def _parse_boolean(text: str) -> bool:
    return _BOOLEANS[text]


def _parse_date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def _parse_year(text: str) -> int:
    if not YEAR.fullmatch(text):
        raise ValueError(text)
    return int(text)


# type -> (parser, what a valid value looks like)
PARSERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "string": (str, "text"),
    "integer": (_parse_integer, "an integer (e.g. 12)"),
    "number": (_parse_number, "a number (e.g. 3.5 or -0.2e3)"),
    "boolean": (_parse_boolean, "true or false"),
    "date": (_parse_date, "a date YYYY-MM-DD"),
    "year": (_parse_year, "a 4-digit year"),
}


class _Invalid:
    """Marks a cell whose text does not parse as its field's type (already reported)."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = _Invalid()
