"""Where things live: the project root, and the names of the layout's folders and files.

Every module takes these names from here, so the layout is written down once.
"""

from __future__ import annotations

import os
from pathlib import Path

TOC_FILE = "_toc.yml"  # marks the project root
DATA_DIR = "data"
DESCRIPTOR = "datapackage.json"  # inside DATA_DIR
SCHEMA_DIR = "schema"  # inside DATA_DIR
RAW_DIR = "raw"  # inside DATA_DIR: data as received
REFERENCES_FILE = "references.bib"  # at the root: the book's bibliography uses it too
DATA_LICENCE_FILE = "LICENSE-DATA.md"
ROOT_ENV = "MSCFM_ROOT"


def project_root() -> Path:
    """The report's root folder: $MSCFM_ROOT, else the nearest parent holding `_toc.yml`."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / TOC_FILE).is_file() and (folder / DATA_DIR).is_dir():
                return folder
    raise FileNotFoundError(
        f"cannot find the report root (a folder with {TOC_FILE} and {DATA_DIR}/); "
        f"set {ROOT_ENV}"
    )


def data_dir() -> Path:
    return project_root() / DATA_DIR
