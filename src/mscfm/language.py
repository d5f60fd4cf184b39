"""The report's public language: what a reader must never see, and number agreement in prose.

The book, the data notes and the bibliography speak to the public. They name sources as what they
are (a journal page, a registry record, a third-party copy) and never refer to how the work was
organised: internal notes, the tools through which sources were found, files a reader cannot open.
:data:`FORBIDDEN` is the one list of such phrases; the tests scan the built HTML, the PDF text, the
data notes and ``references.bib`` with :func:`internal_language`.

:func:`plural` and :func:`count` make generated prose agree with its numbers ("1 trial is", "2
trials are"); every sentence built from a computed number uses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Each entry: a pattern (case-insensitive) and why a public reader cannot follow it.
FORBIDDEN: tuple[tuple[str, str], ...] = (
    # "Brief Title" and "brief summary" are ClinicalTrials.gov field names, a reader can see them.
    (r"\bbrief\b(?![- ](?:title|summary|summaries)\b)", "refers to the project's internal brief"),
    (r"\bsearch tool\b", "names the tool through which sources were found"),
    (r"\bcorpus\b|\bcorpora\b", "names the tool through which sources were found"),
    (r"\bverification (?:note|log)s?\b|\bVERIFICATION\b", "refers to internal working notes"),
    (r"\bVERIFICATION(?:_LOG)?[\w.]*\.md\b|\bOUTCOMES\.md\b|\bSNAPSHOT\.md\b",
     "names an internal file a reader cannot open"),
    (r"/work/|\bshared/evidence\b", "a path on the machine that built the report"),
    (r"\bdata/registry_\.csv\b|\bdata/registry_<date>\.csv\b|\bregistry_\.csv\b",
     "a raw file path instead of a description"),
    (r"\bthis session\b", "refers to how the work was organised"),
    (r"\bper brief\b|\bthe project's (?:search|notes?)\b", "refers to internal working notes"),
)
_COMPILED = tuple((re.compile(pattern, re.IGNORECASE), why) for pattern, why in FORBIDDEN)


@dataclass(frozen=True)
class Hit:
    """One occurrence of internal language: what matched, why it is barred, and its context."""

    where: str
    phrase: str
    why: str
    context: str

    def __str__(self) -> str:
        return f"{self.where}: {self.phrase!r} ({self.why}) in '...{self.context}...'"


def internal_language(text: str, where: str = "text", width: int = 40) -> list[Hit]:
    """Every occurrence of a :data:`FORBIDDEN` phrase in `text`, with some context around it."""
    flat = " ".join(text.split())
    hits = []
    for pattern, why in _COMPILED:
        for match in pattern.finditer(flat):
            start, end = max(0, match.start() - width), match.end() + width
            hits.append(Hit(where, match.group(0), why, flat[start:end]))
    return hits


# --------------------------------------------------------------------------- number agreement

_IRREGULAR = {"is": "are", "was": "were", "has": "have", "does": "do", "this": "these",
              "study": "studies", "analysis": "analyses", "criterion": "criteria",
              "person": "people", "its": "their"}


def plural(n: float, singular: str, plural_form: str | None = None) -> str:
    """`singular` when n is exactly 1, otherwise its plural ('trial' -> 'trials',
    'is' -> 'are', 'study' -> 'studies'); give `plural_form` for any other irregular word."""
    if n == 1:
        return singular
    if plural_form is not None:
        return plural_form
    if singular in _IRREGULAR:
        return _IRREGULAR[singular]
    if re.search(r"(?:s|x|z|ch|sh)$", singular):
        return singular + "es"
    if re.search(r"[^aeiou]y$", singular):
        return singular[:-1] + "ies"
    return singular + "s"


def count(n: float, singular: str, plural_form: str | None = None) -> str:
    """'1 trial', '3 trials', '0 trials': the number and the noun in agreement."""
    number = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{number} {plural(n, singular, plural_form)}"
