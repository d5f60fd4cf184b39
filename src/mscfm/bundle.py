"""The data bundle: one deterministic zip of the curated tables, their schemas and a README.

The zip holds, under one top-level folder, the layout `mscfm.data.validate` expects: the
descriptor ``data/datapackage.json``, the tables and schemas it declares (nothing else of data/),
``references.bib``, a generated ``README.md`` (what each table is, sources, licences, dates) and
the data licence. No member may lead out of the project through a symlink.
Same inputs give the same bytes: entries are sorted, timestamps and permissions are fixed.
A bundle is written only after its extracted copy validates, so an invalid one is never published.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from mscfm.data import validate, validation_report
from mscfm.data.descriptor import PackageDates, package_dates, read_descriptor, resources
from mscfm.errors import DataError
from mscfm.paths import DATA_DIR, DATA_LICENCE_FILE, DESCRIPTOR, REFERENCES_FILE

BUNDLE_NAME = "mscfm-data.zip"
TOP_FOLDER = "mscfm-data"
CODE_LICENCE = "MIT"
DATA_LICENCE = "CC-BY-4.0"
DATA_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/legalcode"
# Zip cannot store dates before 1980; used when the package records no creation date.
FALLBACK_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644


# --------------------------------------------------------------------------- the README


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _tables_section(root: Path, descriptor: dict[str, Any]) -> list[str]:
    lines = ["## The tables", "",
             "| file | rows | what one row is |", "|---|---|---|"]
    tables = validation_report(root).tables  # read by the validator: one CSV reader
    for resource in descriptor["resources"]:
        path = resource.get("path", "")
        table = tables.get(resource.get("name", ""))
        lines.append(f"| `data/{path}` | {'' if table is None else table.n_rows} "
                     f"| {_cell(resource.get('description', ''))} |")
    lines += ["", "Each table's columns (type, unit, constraints, meaning) are described in "
              "`data/schema/<table>.schema.json` (Frictionless Table Schema); "
              "`data/datapackage.json` (Frictionless Data Package) lists the tables and links "
              "them to their schemas.", ""]
    return lines


def _external_sources(descriptor: dict[str, Any]) -> list[str]:
    seen: dict[str, str] = {}
    for resource in descriptor["resources"]:
        for source in resource.get("sources", []) or []:
            if isinstance(source, dict) and source.get("url"):
                seen.setdefault(source["url"], source.get("title", source["url"]))
    return [f"- {title}: <{url}>" for url, title in sorted(seen.items())]


def _sources_section(descriptor: dict[str, Any]) -> list[str]:
    lines = ["## Sources", "",
             "Every row names its source in the column `source`, a key of `references.bib` "
             "(BibTeX; each entry has a DOI, PMID, NCT number or URL), and says where in that "
             "source the value was read in the column `locator`. A value nobody read in a "
             "source is left empty, and the row's `note` says why.", ""]
    external = _external_sources(descriptor)
    if external:
        lines += ["Sources named by the data package itself:", "", *external, ""]
    return lines


def _dates_section(dates: PackageDates) -> list[str]:
    lines = ["## Dates", ""]
    lines.append(f"- Data package created (curation date): {dates.curated or 'not recorded'}")
    for snap in dates.snapshots:
        lines.append(f"- Table `{snap.resource}` is derived from a snapshot dated {snap.date}: "
                     f"{snap.title} (`data/{snap.path}` in the report's repository; not "
                     "included in this bundle)")
    return [*lines, ""]


def _licence_section() -> list[str]:
    return ["## Licence", "",
            f"The data (everything under `data/`) are released under {DATA_LICENCE} "
            f"(Creative Commons Attribution 4.0 International, <{DATA_LICENCE_URL}>): you may "
            "share and adapt them for any purpose if you credit the report, link the licence "
            f"and say what you changed (see `{DATA_LICENCE_FILE}`). The code that checks and "
            f"uses them is released under the {CODE_LICENCE} licence in the report's "
            "repository.", "",
            "## Checking the bundle", "",
            "The folder is a Frictionless Data Package (v2): `frictionless validate "
            "data/datapackage.json` checks it with the standard's own tool. From a clone of the "
            "report's repository, `mscfm validate --root <this folder>` also checks the "
            "project's own rules and prints each problem as file:row:column.", ""]


def render_readme(root: Path, descriptor: dict[str, Any]) -> str:
    """The bundle's README.md, from the package descriptor (no timestamps: deterministic)."""
    title = descriptor.get("title") or descriptor.get("name") or "Curated data"
    lines = [f"# {title}", ""]
    if descriptor.get("description"):
        lines += [descriptor["description"], ""]
    lines += _tables_section(root, descriptor)
    lines += _sources_section(descriptor)
    lines += _dates_section(package_dates(descriptor))
    lines += _licence_section()
    return "\n".join(lines)


# --------------------------------------------------------------------------- the zip


def bundle_members(root: Path) -> dict[str, Path]:
    """Archive name (inside the top folder) -> file on disk, for every file that is bundled:
    the descriptor, each declared resource and its schema, the register and the data licence.
    Nothing else in data/ is packed (drafts, refreshed tables not declared yet)."""
    members = {f"{DATA_DIR}/{DESCRIPTOR}": root / DATA_DIR / DESCRIPTOR,
               REFERENCES_FILE: root / REFERENCES_FILE}
    for resource in resources(root).values():
        members[resource.label] = resource.path
        members[resource.schema_label] = resource.schema_path
    if (root / DATA_LICENCE_FILE).is_file():
        members[DATA_LICENCE_FILE] = root / DATA_LICENCE_FILE
    missing = [name for name in (f"{DATA_DIR}/{DESCRIPTOR}", REFERENCES_FILE)
               if not members[name].is_file()]
    if missing:
        raise DataError(f"cannot bundle the data of {root}: missing {', '.join(missing)}")
    _refuse_links_out(root, members)
    return members


def _refuse_links_out(root: Path, members: dict[str, Path]) -> None:
    """A member reached through a symlink must still be a file of the project."""
    inside = root.resolve()
    for name, path in members.items():
        target = path.resolve()
        if not target.is_relative_to(inside):
            raise DataError(f"{name} leads outside the project (a symlink to {target}); "
                            "not bundled")


def _timestamp(dates: PackageDates) -> tuple[int, int, int, int, int, int]:
    if dates.curated and re.fullmatch(r"\d{4}-\d{2}-\d{2}", dates.curated):
        year, month, day = (int(part) for part in dates.curated.split("-"))
        if year >= 1980:
            return (year, month, day, 0, 0, 0)
    return FALLBACK_TIMESTAMP


def _zip_bytes(entries: dict[str, bytes], timestamp: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(f"{TOP_FOLDER}/{name}", date_time=timestamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions below mean the same everywhere
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def build_bundle(root: Path) -> bytes:
    """The bundle of the project at ``root``, as bytes (not yet validated)."""
    descriptor = read_descriptor(root)
    entries = {name: path.read_bytes() for name, path in bundle_members(root).items()
               if path.is_file()}  # a missing table: the extracted copy fails validation
    entries["README.md"] = render_readme(root, descriptor).encode("utf-8")
    return _zip_bytes(entries, _timestamp(package_dates(descriptor)))


def validate_bundle(payload: bytes) -> list:
    """Extract a bundle into a temporary folder and validate it like the project's data."""
    with tempfile.TemporaryDirectory(prefix="mscfm-bundle-") as tmp:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            archive.extractall(tmp)
        return validate(Path(tmp) / TOP_FOLDER)


def write_bundle(root: Path, out: Path) -> Path:
    """Write the validated bundle of ``root`` to ``out`` atomically; raise DataError if invalid,
    if ``out`` is a folder, or if the file cannot be written (nothing half-written is left)."""
    if out.is_dir():
        raise DataError(f"{out} is a folder; give the path of the zip to write, "
                        f"e.g. {out / BUNDLE_NAME}")
    payload = build_bundle(root)
    problems = validate_bundle(payload)
    if problems:
        listing = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataError(f"the bundled data do not validate; {out} not written:\n{listing}{more}")
    tmp = out.with_name(out.name + ".incoming")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(payload)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return out
