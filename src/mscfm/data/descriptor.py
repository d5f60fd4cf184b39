"""`data/datapackage.json`, the data package descriptor: the one reader of it.

Validation reads it leniently (every problem collected); the bundle, the colophon and the
chapters read it strictly (`read_descriptor` raises DataError). Besides the resources it holds
metadata: the curation date (``created``) and the dated raw snapshots a table was derived from.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mscfm.data.problems import Problem, read_json
from mscfm.errors import DataError
from mscfm.paths import DATA_DIR, DESCRIPTOR, REFERENCES_FILE, project_root

LABEL_PREFIX = f"{DATA_DIR}/"  # problems name files relative to the project root
DESCRIPTOR_LABEL = f"{LABEL_PREFIX}{DESCRIPTOR}"
REFERENCES_RESOURCE = "references"  # data/references.csv, generated from references.bib
# A snapshot is named by its date in the file name, e.g. raw/ctgov_msc_2022-10.json.gz.
SNAPSHOT_DATE = re.compile(r"(\d{4}-\d{2}(?:-\d{2})?)")


@dataclass(frozen=True)
class Resource:
    name: str
    path: Path
    schema_path: Path
    label: str  # as reported, relative to the project root: "data/outcomes.csv"
    schema_label: str


@dataclass(frozen=True)
class Snapshot:
    """A dated source a table was derived from (e.g. a registry download)."""

    resource: str
    title: str
    path: str
    date: str


@dataclass(frozen=True)
class PackageDates:
    """When the data were curated and which dated snapshots they rest on."""

    curated: str | None
    snapshots: tuple[Snapshot, ...]


def package_root(root: Path | None) -> Path:
    """``root``, or the report root; a missing root is a DataError (the CLI shows one line)."""
    if root is not None:
        return Path(root)
    try:
        return project_root()
    except FileNotFoundError as exc:
        raise DataError(str(exc)) from exc


def data_path(root: Path | None) -> Path:
    return package_root(root) / DATA_DIR


def references_path(root: Path | None) -> Path:
    return package_root(root) / REFERENCES_FILE


def load_descriptor(root: Path | None, problems: list[Problem]) -> dict[str, Any] | None:
    """The descriptor as a JSON object with a ``resources`` list, or None and a Problem."""
    descriptor = read_json(data_path(root) / DESCRIPTOR, DESCRIPTOR_LABEL, problems,
                           ": expected the data package descriptor listing every table")
    if descriptor is None:
        return None
    listed = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(listed, list):
        problems.append(Problem(DESCRIPTOR_LABEL, None, "resources",
                                "expected a list of resources"))
        return None
    return descriptor


def read_resources(root: Path | None, problems: list[Problem]) -> dict[str, Resource]:
    """The declared resources by name; a malformed entry is a Problem and left out."""
    descriptor = load_descriptor(root, problems)
    if descriptor is None:
        return {}
    data_dir = data_path(root)
    resources: dict[str, Resource] = {}
    for index, item in enumerate(descriptor["resources"]):
        where = f"resources[{index}]"
        if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) and item.get(k) for k in ("name", "path", "schema")):
            problems.append(Problem(DESCRIPTOR_LABEL, None, where,
                                    "each resource needs string name, path and schema"))
            continue
        name, path, schema_path = item["name"], item["path"], item["schema"]
        if name in resources:
            problems.append(Problem(DESCRIPTOR_LABEL, None, where,
                                    f"resource name {name!r} is taken"))
            continue
        outside = [(key, value) for key, value in (("path", path), ("schema", schema_path))
                   if not _stays_inside(value)]
        for key, value in outside:
            problems.append(Problem(DESCRIPTOR_LABEL, None, where,
                                    f"{key} {value!r} must stay inside data/"))
        if outside:
            continue
        path, schema_path = posixpath.normpath(path), posixpath.normpath(schema_path)
        resources[name] = Resource(name, data_dir / path, data_dir / schema_path,
                                   f"{LABEL_PREFIX}{path}", f"{LABEL_PREFIX}{schema_path}")
    return resources


def _stays_inside(path: str) -> bool:
    """A relative path without "..": it cannot name a file outside the data folder (symlinks
    aside; the bundle checks those)."""
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise DataError("\n".join(str(p) for p in problems))


def read_descriptor(root: Path | None = None) -> dict[str, Any]:
    """The descriptor of the project at ``root``; DataError if it cannot be read."""
    problems: list[Problem] = []
    descriptor = load_descriptor(root, problems)
    _raise(problems)
    assert descriptor is not None
    return descriptor


def resources(root: Path | None = None) -> dict[str, Resource]:
    """The declared resources by name; DataError if the descriptor has any problem."""
    problems: list[Problem] = []
    found = read_resources(root, problems)
    _raise(problems)
    return found


def package_dates(descriptor: dict[str, Any]) -> PackageDates:
    """The curation date (``created``) and the dated raw snapshots named in resource sources."""
    created = descriptor.get("created")
    curated = created[:10] if isinstance(created, str) and created else None
    snapshots = []
    for resource in descriptor["resources"]:
        for source in resource.get("sources", []) or []:
            path = source.get("path", "") if isinstance(source, dict) else ""
            match = SNAPSHOT_DATE.search(Path(path).name)
            if match:
                snapshots.append(Snapshot(resource.get("name", "?"), source.get("title", path),
                                          path, match.group(1)))
    return PackageDates(curated, tuple(snapshots))
