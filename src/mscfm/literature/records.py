"""A bibliographic record as the search keeps it, whichever service returned it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass
class Record:
    """One record of one service, or (after :mod:`.dedupe`) one merged record."""

    title: str
    pmid: str = ""
    doi: str = ""
    year: str = ""
    journal: str = ""
    first_author: str = ""
    preprint: bool = False
    sources: set[str] = field(default_factory=set)  # "PubMed", "Europe PMC"
    strategies: set[str] = field(default_factory=set)  # strategy ids, e.g. "L01"
    europepmc_ids: set[str] = field(default_factory=set)  # "MED:123", "PPR:PPR456"


def normalise_doi(doi: str) -> str:
    """Lower case, without a resolver prefix or surrounding spaces ('' when absent)."""
    doi = doi.strip().lower()
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi)
    return doi


def normalise_title(title: str) -> str:
    """Accents folded, markup and punctuation dropped, lower case, single spaces."""
    text = re.sub(r"<[^>]+>", " ", title)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^0-9a-z]+", " ", text.lower())
    return " ".join(text.split())
