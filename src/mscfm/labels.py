"""Study names for figures and tables: 'Heidari 2017', never the bibliography key behind it.

One place turns a key of ``references.bib`` (``heidari2017prevalence``) or a registry record
(``nct02412735``) into the name a reader sees. Figures and tables call :func:`source_label`;
the chapters' citation links (``report.table(..., cite=...)``) show the same name.
"""

from __future__ import annotations

import re

# Display names for the first part of a key when capitalising it is not enough: hyphens, accents
# and apostrophes the key had to drop, acronyms, and organisations.
AUTHOR_DISPLAY: dict[str, str] = {
    "andresrodriguez": "Andrés-Rodríguez",
    "cabomeseguer": "Cabo-Meseguer",
    "omahony": "O'Mahony",
    "uceyler": "Üçeyler",
    "juareznunez": "Juárez-Núñez",
    "jasbinia": "Jasbi-nia",
    "lamoespinosa": "Lamo-Espinosa",
    "hauser": "Häuser",
    "robles": "Robles-Rivera",
    "ctgov": "ClinicalTrials.gov",
    "fda": "FDA",
    "ema": "EMA",
    "cdc": "CDC",
    "famhp": "FAMHP",
    "mhra": "MHRA",
    "aabb": "AABB",
    "ap": "AP",
    "cphi": "CPHI",
    "eular": "EULAR",
    "washingtonpost": "Washington Post",
    "sfchronicle": "San Francisco Chronicle",
    "pharmacytimes": "Pharmacy Times",
    "healthday": "HealthDay",
    "oreoclick": "Oreoclick",
    "bonejointres": "Bone Joint Res",
    "stemcellsint": "Stem Cells Int",
    "mondaq": "Mondaq",
    "cmba": "CMBA",
    "hansard": "Hansard",
    "medscape": "Medscape",
}
# Keys whose first part names no author (the source gives none, or gave none when it was
# recorded): the label is what the reference list shows to identify it.
KEY_DISPLAY: dict[str, str] = {
    "anon2012bmscopioid": "Stem Cells 2011 (rat study)",
    "anon2017adipose": "Toyserkani 2017",
    "anon2020mscperipheral": "Stem Cells Dev 2020 (review)",
    "anon2015bottlenecks": "Stem Cells Int 2015 (review)",
    "anon2024pharmacokinetic": "Signal Transduct Target Ther 2024 (review)",
    "anon2023current": "Pharmaceuticals 2023 (review)",
}
_NCT = re.compile(r"nct\d{8}")
_KEY_PARTS = re.compile(r"([a-z-]+?)(\d{4})")


def source_label(key: str) -> str:
    """'heidari2017prevalence' -> 'Heidari 2017'; 'nct02412735' -> 'NCT02412735'."""
    if key in KEY_DISPLAY:
        return KEY_DISPLAY[key]
    if _NCT.fullmatch(key):
        return key.upper()
    match = _KEY_PARTS.match(key)
    if not match:
        return key
    author, year = match.groups()
    return f"{AUTHOR_DISPLAY.get(author, author.capitalize())} {year}"


def study_label(source: str, product: str | None = None) -> str:
    """A clinical study's name: 'Vega 2015' for a publication; for a registry record, the
    product's name and the NCT number ('JointStem, NCT02674399'), as the record names no author."""
    label = source_label(source)
    if _NCT.fullmatch(source) and product and isinstance(product, str):
        name = product.split(" (")[0].split(",")[0].strip()
        if name and len(name) <= 30:
            return f"{name}, {label}"
    return label
