"""`references.bib`, the register of sources: its entries with line numbers, and our checks on
them (a sourcetype from our list, a 4-digit year, at least one identifier, key style)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from mscfm.data.problems import Problem, decode
from mscfm.data.values import YEAR

SOURCETYPES = (
    "RCT", "nonrandomized trial", "case report", "meta-analysis", "systematic review", "review",
    "observational", "animal study", "registry record", "registry snapshot", "regulator", "press",
    "company", "clinic web page", "guideline", "book", "web page",
)
IDENTIFIER_FIELDS = ("doi", "pmid", "nct", "url")
BIB_KEY_PATTERN = re.compile(r"[a-z][a-z0-9-]*\d{4}[a-z0-9-]*")


@dataclass(frozen=True)
class BibEntry:
    key: str
    entry_type: str
    line: int
    fields: dict[str, str]


_BIB_AT = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_BIB_KEY = re.compile(r"\s*([^\s,{}()\"#%'=]+)\s*,")
_BIB_FIELD_NAME = re.compile(r"\s*([A-Za-z][\w:.+/-]*)\s*=\s*")
_BIB_BARE = re.compile(r"[\w:.+/-]+")


class _BibSyntaxError(Exception):
    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position


class _BibParser:
    """A small BibTeX reader that keeps line numbers and reports every syntax error."""

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self.label = label
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.macros: dict[str, str] = {}
        self.entries: list[BibEntry] = []
        self.broken_keys: set[str] = set()  # entries with a syntax error after their key
        self.problems: list[Problem] = []

    def line(self, position: int) -> int:
        return bisect.bisect_right(self.line_starts, position)

    def parse(self) -> None:
        position = 0
        while (at := self.text.find("@", position)) >= 0:
            try:
                position = self._entry(at)
            except _BibSyntaxError as exc:
                self.problems.append(Problem(self.label, self.line(exc.position), None,
                                             f"BibTeX syntax error: {exc}"))
                following = self.text.find("\n@", exc.position)
                position = len(self.text) if following < 0 else following + 1

    def _entry(self, at: int) -> int:
        match = _BIB_AT.match(self.text, at)
        if not match:
            raise _BibSyntaxError(at, "'@' must be followed by an entry type and '{'")
        kind, opener = match.group(1).lower(), match.group(2)
        closer = "}" if opener == "{" else ")"
        if kind in ("comment", "preamble"):
            return self._skip_group(match.end() - 1)
        if kind == "string":
            fields, end = self._fields(match.end(), closer, at)
            self.macros.update(fields)
            return end
        key_match = _BIB_KEY.match(self.text, match.end())
        if not key_match:
            raise _BibSyntaxError(match.end(), "expected an entry key followed by ','")
        try:
            fields, end = self._fields(key_match.end(), closer, at)
        except _BibSyntaxError:
            self.broken_keys.add(key_match.group(1))
            raise
        self.entries.append(BibEntry(key_match.group(1), kind, self.line(at), fields))
        return end

    def _fields(self, position: int, closer: str, start: int) -> tuple[dict[str, str], int]:
        fields: dict[str, str] = {}
        text = self.text
        while True:
            position = self._skip_space(position)
            if position >= len(text):
                raise _BibSyntaxError(start, f"entry never closed with '{closer}'")
            if text[position] == closer:
                return fields, position + 1
            name = _BIB_FIELD_NAME.match(text, position)
            if not name:
                raise _BibSyntaxError(position, "expected 'field = value'")
            value, position = self._value(name.end())
            field_name = name.group(1).lower()
            if field_name in fields:
                raise _BibSyntaxError(name.start(), f"field '{field_name}' given twice")
            fields[field_name] = " ".join(value.split())
            position = self._skip_space(position)
            if position < len(text) and text[position] == ",":
                position += 1
            elif position < len(text) and text[position] != closer:
                raise _BibSyntaxError(position, f"expected ',' or '{closer}' after a field")

    def _value(self, position: int) -> tuple[str, int]:
        parts = []
        while True:
            position = self._skip_space(position)
            char = self.text[position] if position < len(self.text) else ""
            if char == "{":
                end = self._skip_group(position)
                parts.append(self.text[position + 1:end - 1])
            elif char == '"':
                end = self._quoted(position)
                parts.append(self.text[position + 1:end - 1])
            elif bare := _BIB_BARE.match(self.text, position):
                end = bare.end()
                word = bare.group(0)
                parts.append(word if word.isdigit() else self.macros.get(word.lower(), word))
            else:
                raise _BibSyntaxError(position,
                                      "expected a value in {braces}, \"quotes\" or a number")
            position = self._skip_space(end)
            if position < len(self.text) and self.text[position] == "#":
                position += 1
                continue
            return "".join(parts), position

    def _skip_space(self, position: int) -> int:
        while position < len(self.text) and self.text[position].isspace():
            position += 1
        return position

    def _skip_group(self, position: int) -> int:
        """Position just past the bracket matching the one at `position`."""
        opener = self.text[position]
        closer = "}" if opener == "{" else ")"
        depth = 0
        for index in range(position, len(self.text)):
            char = self.text[index]
            if char == opener or (opener == "(" and char == "{"):
                depth += 1
            elif char == closer or (opener == "(" and char == "}"):
                depth -= 1
                if depth == 0:
                    return index + 1
        raise _BibSyntaxError(position, f"'{opener}' is never closed")

    def _quoted(self, position: int) -> int:
        depth = 0
        for index in range(position + 1, len(self.text)):
            char = self.text[index]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif char == '"' and depth == 0:
                return index + 1
        raise _BibSyntaxError(position, "'\"' is never closed")


def _check_bib_entries(entries: list[BibEntry], label: str) -> list[Problem]:
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    allowed = ", ".join(SOURCETYPES)
    for entry in entries:
        def report(message: str, entry: BibEntry = entry) -> None:
            problems.append(Problem(label, entry.line, entry.key, message))

        folded = entry.key.lower()
        if folded in first_line:
            report(f"duplicate key {entry.key!r}, first defined at line {first_line[folded]}")
        else:
            first_line[folded] = entry.line
        if not BIB_KEY_PATTERN.fullmatch(entry.key):
            report(f"key {entry.key!r} must be firstauthorYEARword in lower case "
                   "(e.g. vega2015allogeneic)")
        sourcetype = entry.fields.get("sourcetype", "")
        if not sourcetype:
            report(f"entry has no sourcetype field; expected one of: {allowed}")
        elif sourcetype not in SOURCETYPES:
            report(f"sourcetype must be one of: {allowed}; found {sourcetype!r}")
        year = entry.fields.get("year", "")
        if not YEAR.fullmatch(year):
            report(f"year must be a 4-digit year, found {year!r}" if year
                   else "entry has no year field")
        if not any(entry.fields.get(name) for name in IDENTIFIER_FIELDS):
            report("entry has none of doi, pmid, nct, url; at least one is required")
    return problems


def read_bib(path: Path, label: str) -> tuple[dict[str, BibEntry], set[str], list[Problem]]:
    """Entries by key, keys of entries with syntax errors, and the problems found."""
    if not path.is_file():
        return {}, set(), [Problem(label, None, None, "missing file: expected the BibTeX "
                                   "register of sources (every source key resolves to it)")]
    text, problems = decode(path.read_bytes(), label)
    parser = _BibParser(text, label)
    parser.parse()
    problems = [*problems, *parser.problems, *_check_bib_entries(parser.entries, label)]
    entries: dict[str, BibEntry] = {}
    for entry in parser.entries:
        entries.setdefault(entry.key, entry)
    return entries, parser.broken_keys, problems


def read_bib_keys(path: Path) -> tuple[set[str], list[Problem]]:
    """The entry keys of a BibTeX file and the problems found in it (syntax, required fields)."""
    entries, _, problems = read_bib(Path(path), Path(path).name)
    return set(entries), problems
