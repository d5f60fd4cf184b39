"""Merge the records of all services into one list: the same PubMed ID, then the same DOI, then
the same normalised title count as one record (its sources, strategies and identifiers are
united; a missing PMID, DOI or year is filled from the other copy)."""

from __future__ import annotations

from collections.abc import Iterable

from mscfm.literature.records import Record, normalise_doi, normalise_title


def record_key(record: Record) -> str:
    """The stable key of a merged record: ``pmid:``, else ``doi:``, else ``title:``."""
    if record.pmid:
        return f"pmid:{record.pmid}"
    if record.doi:
        return f"doi:{normalise_doi(record.doi)}"
    return f"title:{normalise_title(record.title)}"


def _merge_into(kept: Record, other: Record) -> None:
    for name in ("pmid", "doi", "year", "journal", "first_author", "title"):
        if not getattr(kept, name) and getattr(other, name):
            setattr(kept, name, getattr(other, name))
    kept.preprint = kept.preprint and other.preprint  # a journal copy wins over a preprint
    kept.sources |= other.sources
    kept.strategies |= other.strategies
    kept.europepmc_ids |= other.europepmc_ids


def deduplicate(records: Iterable[Record]) -> list[Record]:
    """One record per work, in the order first seen."""
    merged: list[Record] = []
    by: dict[str, dict[str, int]] = {"pmid": {}, "doi": {}, "title": {}}
    for record in records:
        keys = {"pmid": record.pmid, "doi": normalise_doi(record.doi),
                "title": normalise_title(record.title)}
        index = next((by[k][v] for k, v in keys.items() if v and v in by[k]), None)
        if index is None:
            merged.append(Record(record.title, record.pmid, record.doi, record.year,
                                 record.journal, record.first_author, record.preprint,
                                 set(record.sources), set(record.strategies),
                                 set(record.europepmc_ids)))
            index = len(merged) - 1
        else:
            _merge_into(merged[index], record)
        kept = merged[index]
        for k, v in {"pmid": kept.pmid, "doi": normalise_doi(kept.doi),
                     "title": normalise_title(kept.title)}.items():
            if v:
                by[k].setdefault(v, index)
    return merged
