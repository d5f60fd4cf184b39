"""Chapter notebooks: stored without outputs, one per table-of-contents entry."""

from __future__ import annotations

import json
from pathlib import Path

from mscfm.pipeline.toc import chapter_names, toc_files


def test_notebooks_in_git_carry_no_outputs(project_root: Path) -> None:
    notebooks = sorted((project_root / "notebooks").rglob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], (
                    f"{path.name} cell {i} has outputs (run `make strip-outputs`)")
                assert cell.get("execution_count") is None, (
                    f"{path.name} cell {i} was run (run `make strip-outputs`)")


def test_each_chapter_notebook_is_in_the_toc_and_vice_versa(project_root: Path) -> None:
    toc_chapters = set(chapter_names(project_root))
    notebooks = {p.stem for p in (project_root / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert toc_chapters == notebooks


def test_every_hand_written_page_in_the_toc_exists(project_root: Path) -> None:
    """The colophon is written by each build: it need not exist (no test depends on a build
    having run), but its path must be the one the build writes."""
    from mscfm.paths import COLOPHON_PAGE

    for item in toc_files(project_root):
        if f"{item}.md" == COLOPHON_PAGE:
            continue
        if "_executed/" not in item:
            assert (project_root / f"{item}.md").is_file(), f"_toc.yml lists missing {item}.md"


def test_make_strip_outputs_removes_outputs(project_root: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    import nbformat

    (tmp_path / "notebooks").mkdir()
    path = tmp_path / "notebooks" / "01_article.ipynb"
    shutil.copy(project_root / "notebooks" / "01_article.ipynb", path)
    nb = nbformat.read(path, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="saved from JupyterLab\n")]
    code.execution_count = 3
    nbformat.write(nb, path)
    bin_dir = Path(sys.executable).parent
    subprocess.run(["make", "-s", "-C", str(tmp_path), "-f", str(project_root / "Makefile"),
                    "strip-outputs", f"BIN={bin_dir}", "STAMP="], check=True, timeout=120)
    cleaned = json.loads(path.read_text(encoding="utf-8"))
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in cleaned["cells"] if c["cell_type"] == "code")
