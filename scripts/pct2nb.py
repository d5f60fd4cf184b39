"""Write a chapter notebook from a percent-format script (an authoring aid, not a build step).

Cells start with `# %%` (code), `# %% [markdown]` (markdown; lines are un-commented) and may carry
tags: `# %% tags=["parameters"]`. Metadata for the build goes on the command line:

    python scripts/pct2nb.py draft.py notebooks/07_efficacy.ipynb \
        --inputs data/outcomes.csv data/studies.csv --timeout 300 --title "Efficacy"

The notebook written has no outputs and a python3 kernelspec.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import nbformat

_HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def _flush(cells: list, kind: str | None, tags: list[str], lines: list[str]) -> None:
    if kind is None:
        return
    text = "\n".join(lines).strip("\n")
    if kind == "markdown":
        text = "\n".join(
            ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in text.splitlines()
        )
        cell = nbformat.v4.new_markdown_cell(text)
    else:
        cell = nbformat.v4.new_code_cell(text)
    if tags:
        cell.metadata["tags"] = tags
    cells.append(cell)


def convert(script: str) -> list:
    cells: list = []
    kind, tags, lines = None, [], []
    for line in script.splitlines():
        match = _HEADER.match(line)
        if match:
            _flush(cells, kind, tags, lines)
            kind = "markdown" if match.group("md") else "code"
            tags = json.loads(match.group("tags")) if match.group("tags") else []
            lines = []
        else:
            lines.append(line)
    _flush(cells, kind, tags, lines)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", type=Path)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--inputs", nargs="*", default=[])
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    nb = nbformat.v4.new_notebook()
    nb.cells = convert(args.script.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.cells):
        cell.id = f"{args.notebook.stem[:20]}-{i:02d}"
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["mscfm"] = {"inputs": sorted(args.inputs), "timeout": args.timeout}
    nbformat.validate(nb)
    args.notebook.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, args.notebook)


if __name__ == "__main__":
    main()
