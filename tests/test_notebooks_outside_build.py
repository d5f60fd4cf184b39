"""Every chapter run as `jupyter nbconvert --execute` or VS Code would run it: with nbclient,
from notebooks/, outside the build (no MSCFM_ROOT, no declared-inputs guard, the notebook's own
parameters). What it shows must be what the book shows: each figure the prose pastes as an
ordinary image/png output, and every glued number the prose names in a key-numbers output.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import nbformat
import pytest
from minibook import glue_figure_names
from nbclient import NotebookClient

from mscfm.book_view import METADATA_KEY, is_notebook_only

pytestmark = pytest.mark.slow

CONCURRENT_KERNELS = 2  # the machine has two cores
TIMEOUT_S = 600
_ROLE = re.compile(r"\{glue(?::text|:md|:any)?\}`([^`:]+)")  # {glue:text}`name:.1f` -> name


def _chapters(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


async def _run_all(paths: list[Path]) -> dict[str, nbformat.NotebookNode]:
    gate = asyncio.Semaphore(CONCURRENT_KERNELS)

    async def run(path: Path) -> nbformat.NotebookNode:
        async with gate:
            nb = nbformat.read(path, as_version=4)
            client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                                    resources={"metadata": {"path": str(path.parent)}})
            await client.async_execute()
            return nb

    done = await asyncio.gather(*(run(p) for p in paths))
    return {path.stem: nb for path, nb in zip(paths, done, strict=True)}


@pytest.fixture(scope="module")
def executed(project_root: Path) -> dict[str, nbformat.NotebookNode]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MSCFM_ROOT", raising=False)  # found from notebooks/, as in JupyterLab
        env.delenv("MSCFM_DECLARED_INPUTS", raising=False)
        env.delenv("MPLBACKEND", raising=False)  # the kernel's own default
        return asyncio.run(_run_all(_chapters(project_root)))


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _markdown(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_every_chapter_ran(project_root: Path, executed: dict) -> None:
    assert set(executed) == {p.stem for p in _chapters(project_root)} and executed
    errors = {name: [o.get("ename") for o in _outputs(nb) if o.get("output_type") == "error"]
              for name, nb in executed.items()}
    assert not any(errors.values()), errors


def test_each_figure_of_a_chapter_is_an_image_output(project_root: Path, executed: dict) -> None:
    wrong = {}
    for name, nb in executed.items():
        figures = glue_figure_names(project_root / "notebooks" / f"{name}.ipynb")
        images = [o for o in _outputs(nb) if "image/png" in o.get("data", {})]
        if len(images) != len(figures):
            wrong[name] = f"{len(images)} image/png outputs for figures {figures}"
    assert sum(len(glue_figure_names(p)) for p in _chapters(project_root)) >= 1
    assert not wrong, wrong


def test_every_number_the_prose_names_is_listed(project_root: Path, executed: dict) -> None:
    missing = {}
    for name, nb in executed.items():
        named = set(_ROLE.findall(_markdown(project_root / "notebooks" / f"{name}.ipynb")))
        listed = {key for o in _outputs(nb) if is_notebook_only(o)
                  for key in o["metadata"][METADATA_KEY].get("names", [])}
        if named - listed:
            missing[name] = sorted(named - listed)
    assert not missing, f"glued numbers the prose names but no key-numbers output lists: {missing}"
