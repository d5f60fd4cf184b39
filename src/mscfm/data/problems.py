"""What validation reports: a `Problem` (file, row, column, what was expected), and the readers
of raw bytes and JSON files that turn an unreadable file into Problems instead of raising."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data: where (file, row, column) and what was expected."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        place = self.file
        if self.row is not None:
            place += f":{self.row}"
        if self.column:
            place += f":{self.column}"
        return f"{place}: {self.message}"


def decode(data: bytes, label: str) -> tuple[str, list[Problem]]:
    """UTF-8 text (a byte-order mark is tolerated); invalid bytes become U+FFFD and a Problem."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = Problem(label, None, None,
                          f"not valid UTF-8: byte 0x{data[exc.start]:02X} at byte offset "
                          f"{exc.start} (line {line}); save the file as UTF-8")
        return data.decode("utf-8", errors="replace"), [problem]


def read_json(path: Path, label: str, problems: list[Problem], what: str = "") -> Any:
    """The JSON value in ``path``, or None with a Problem (missing, not UTF-8, not JSON)."""
    if not path.is_file():
        problems.append(Problem(label, None, None, f"missing file{what}"))
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, None, None, f"not valid UTF-8 ({exc.reason})"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(label, exc.lineno, None,
                                f"not valid JSON: {exc.msg} (column {exc.colno})"))
    return None
