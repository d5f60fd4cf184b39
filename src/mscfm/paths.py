"""Where things live. The project root is found from the environment or by walking up."""

from __future__ import annotations

import os
from pathlib import Path

_MARKER = "_toc.yml"


def project_root() -> Path:
    """The report's root folder: $MSCFM_ROOT, else the nearest parent holding `_toc.yml`."""
    env = os.environ.get("MSCFM_ROOT")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / _MARKER).is_file() and (folder / "data").is_dir():
                return folder
    raise FileNotFoundError(
        f"cannot find the report root (a folder with {_MARKER} and data/); set MSCFM_ROOT"
    )


def data_dir() -> Path:
    return project_root() / "data"
