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
                assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} cell {i} was run"


def test_each_chapter_notebook_is_in_the_toc_and_vice_versa(project_root: Path) -> None:
    toc_chapters = set(chapter_names(project_root))
    notebooks = {p.stem for p in (project_root / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert toc_chapters == notebooks


def test_every_hand_written_page_in_the_toc_exists(project_root: Path) -> None:
    for item in toc_files(project_root):
        if "_executed/" not in item:
            assert (project_root / f"{item}.md").is_file(), f"_toc.yml lists missing {item}.md"
