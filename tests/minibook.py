"""The mini project plus the book-checks chapter (a table of markup-laden data text, a figure,
cross-references), built once per test session, and helpers to read a built book.

The browser, PDF and escaping tests look at a built book. The escaping test always uses this one;
the browser and PDF tests use it until the shared ``built_book`` fixture (the real report) exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import yaml
from conftest import FIXTURES, make_mini_project

from mscfm.pipeline import book
from mscfm.pipeline.build import BuildOptions, run_build
from mscfm.pipeline.toc import toc_files

CHECKS = FIXTURES / "book_checks"
CHAPTER = "05_book_checks"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# The data row whose text is full of characters that mean something in HTML, LaTeX or MyST.
TRICKY_TEXTS = (
    "<b>bold</b> & 50% of n_1 at $x$",
    r"\textbf{x} ~ #3 ^2",
    "{glue:text}`total:.1f` and {ref}`fig-demo-line`",
)

_BUILT: dict[str, Path | BaseException] = {}


def _add_checks_chapter(root: Path) -> None:
    shutil.copy(CHECKS / "notebooks" / f"{CHAPTER}.ipynb", root / "notebooks")
    shutil.copy(CHECKS / "data" / "trials.csv", root / "data")
    shutil.copy(CHECKS / "data" / "schema" / "trials.schema.json", root / "data" / "schema")
    package = root / "data" / "datapackage.json"
    descriptor = json.loads(package.read_text(encoding="utf-8"))
    descriptor["resources"].append({"name": "trials", "path": "trials.csv",
                                    "schema": "schema/trials.schema.json", "format": "csv",
                                    "encoding": "utf-8"})
    package.write_text(json.dumps(descriptor, indent=1), encoding="utf-8")
    toc_path = root / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    toc["chapters"].append({"file": f"book/_executed/{CHAPTER}"})
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    intro = root / "book" / "intro.md"
    intro.write_text(intro.read_text(encoding="utf-8")
                     + f"\nSee {{numref}}`fig-demo-line` in {{doc}}`_executed/{CHAPTER}` and "
                       "{ref}`sec-after-figure`.\n", encoding="utf-8")


def build_mini_book(base: Path) -> Path:
    """Build (once per session) the mini project with the checks chapter, HTML and PDF."""
    if "mini" not in _BUILT:
        _BUILT["mini"] = _build(base)
    built = _BUILT["mini"]
    if isinstance(built, BaseException):  # failed once: say so again, do not rebuild per test
        raise built
    return built


def _build(base: Path) -> Path | BaseException:
    root = make_mini_project(base / "mini_book")
    _add_checks_chapter(root)
    saved = os.environ.get("MSCFM_ROOT")
    os.environ["MSCFM_ROOT"] = str(root)
    try:
        run_build(root, BuildOptions(pdf=True, jobs=2))
    except Exception as exc:  # noqa: BLE001 - re-raised by every test that needs the book
        return exc
    finally:
        if saved is None:
            os.environ.pop("MSCFM_ROOT", None)
        else:
            os.environ["MSCFM_ROOT"] = saved
    return root


# --------------------------------------------------------------------------- reading a built book


def toc_pages(root: Path) -> list[str]:
    """Every page of the book as a docname (``book/intro``), in _toc.yml order."""
    return toc_files(root)


def html_dir(root: Path) -> Path:
    return root / book.HTML_DIR


def pdf_path(root: Path) -> Path:
    return root / book.PDF_PATH


def latex_log(root: Path) -> Path:
    return root / book.WORK_DIR / "_build" / "latex" / "book.log"


def page_source(root: Path, docname: str) -> Path:
    """The file a page was built from (.md or executed .ipynb)."""
    for suffix in (".md", ".ipynb"):
        if (root / f"{docname}{suffix}").exists():
            return root / f"{docname}{suffix}"
    raise FileNotFoundError(f"no source for page {docname} under {root}")


_HEADING = re.compile(r"^# +(.+?)\s*$", re.MULTILINE)


def page_title(root: Path, docname: str) -> str:
    """The first '# ' heading of a page (markdown file or the notebook's markdown cells)."""
    source = page_source(root, docname)
    if source.suffix == ".ipynb":
        cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = re.sub(r"^```.*?^```", "", source.read_text(encoding="utf-8"),
                      flags=re.MULTILINE | re.DOTALL)
    match = _HEADING.search(text)
    if not match:
        raise AssertionError(f"{source}: no '# ' title heading")
    return match.group(1)


def glue_figure_count(root: Path, docnames: list[str]) -> int:
    """How many ``{glue:figure}`` directives the pages hold."""
    count = 0
    for docname in docnames:
        text = page_source(root, docname).read_text(encoding="utf-8")
        count += len(re.findall(r"```\{glue:figure\}|:::\{glue:figure\}", text))
    return count


_GLUE_FIGURE = re.compile(r"^(?:```|:::)\{glue:figure\}\s+(\S+)", re.MULTILINE)


def glue_figure_names(notebook: Path) -> list[str]:
    """The glued figures a chapter notebook's prose pastes, in order (its figures)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return _GLUE_FIGURE.findall(text)
