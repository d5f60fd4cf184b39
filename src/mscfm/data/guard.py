"""The declared-inputs guard: during a build, a notebook may read only the data files its
metadata (``mscfm.inputs``) declares; the pipeline passes that list in the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from mscfm.errors import DataError

DECLARED_INPUTS_ENV = "MSCFM_DECLARED_INPUTS"


def check_declared(path: Path, root: Path) -> None:
    """Raise DataError when a build is running and ``path`` is not among its declared inputs."""
    declared = os.environ.get(DECLARED_INPUTS_ENV)
    if declared is None:
        return
    try:
        listed = json.loads(declared)
        if not isinstance(listed, list):
            raise ValueError
        allowed = {PurePosixPath(os.path.normpath(str(p))).as_posix() for p in listed}
    except ValueError as exc:
        raise DataError(f"{DECLARED_INPUTS_ENV} must be a JSON list of paths, "
                        f"found {declared!r}") from exc
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    if relative not in allowed:
        raise DataError(f"notebook reads {relative} but does not declare it in its metadata "
                        "mscfm.inputs")
