"""What of an executed chapter notebook the book shows, as opposed to JupyterLab.

A chapter run in JupyterLab, VS Code or ``jupyter nbconvert --execute`` shows only its outputs:
glue roles and directives in the prose stay unresolved there. So `mscfm.report` makes every
glued figure an ordinary output where the code makes it, and lists the numbers a cell glues in a
"key numbers" output under it. The book must show each figure once, where its ``{glue:figure}``
pastes it (with caption, label and alt text), and must not show the key numbers at all (the
prose has them). :func:`book_view` turns the first form into the second; `mscfm.sphinx_ext`
applies it to every notebook Sphinx reads.

Why here and not with cell tags: myst-nb (1.4) reads glued values from every output of every
code cell before it renders anything, whatever the cell's tags, so a ``remove-output`` tag would
also hide the figures; but it removes a whole cell's outputs, tables included, and has to be
added to each cell by hand. One rule on the outputs themselves covers every chapter.
"""

from __future__ import annotations

import json
from typing import Any

GLUE_PREFIX = "application/papermill.record/"  # myst_nb.ext.glue.GLUE_PREFIX (display=False)
METADATA_KEY = "mscfm"  # our key in an output's metadata
NOTEBOOK_ONLY = "notebook_only"  # {"mscfm": {"notebook_only": "key numbers"}}: not in the book


def is_notebook_only(output: dict[str, Any]) -> bool:
    meta = output.get("metadata", {}).get(METADATA_KEY, {})
    return isinstance(meta, dict) and bool(meta.get(NOTEBOOK_ONLY))


def _hide_displayed_glue(output: dict[str, Any]) -> bool:
    """A glued output that was also displayed becomes what ``glue(display=False)`` writes:
    myst-nb then keeps it for the glue directives and roles and shows it nowhere else."""
    scrap = output.get("metadata", {}).get("scrapbook")
    if not isinstance(scrap, dict) or scrap.get("mime_prefix") or "data" not in output:
        return False
    output["data"] = {GLUE_PREFIX + mime: value for mime, value in output["data"].items()}
    scrap["mime_prefix"] = GLUE_PREFIX
    return True


def book_view(notebook: dict[str, Any]) -> bool:
    """Rewrite a notebook (nbformat 4, as a dict) in place for the book; True if anything
    changed."""
    changed = False
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if is_notebook_only(output):
                changed = True
                continue
            changed |= _hide_displayed_glue(output)
            kept.append(output)
        cell["outputs"] = kept
    return changed


def book_view_source(text: str) -> str:
    """:func:`book_view` on notebook JSON text (unchanged text when nothing changes)."""
    notebook = json.loads(text)
    return json.dumps(notebook, ensure_ascii=False) if book_view(notebook) else text
