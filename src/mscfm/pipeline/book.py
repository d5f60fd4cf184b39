"""Building the Jupyter Book (HTML, then PDF) in a work folder and publishing it atomically.

Sphinx writes into ``_build/.work``; only when every step succeeded are the HTML folder and the
PDF swapped into ``_build/html`` and ``_build/latex/book.pdf``. A failed or interrupted build
leaves the last good book where it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mscfm.errors import BuildError, plain
from mscfm.paths import COLOPHON_PAGE, HTML_DIR, LOG_DIR, PDF_PATH, PUBLISHED_STAMP, WORK_DIR

TEX_PACKAGES = (
    "texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended tex-gyre latexmk"
)


def _jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


def check_tex() -> None:
    """Fail early, with the command to fix it, when the PDF toolchain is missing."""
    missing = [tool for tool in ("pdflatex", "latexmk") if shutil.which(tool) is None]
    if missing:
        raise BuildError(
            f"{' and '.join(missing)} not found, so the PDF cannot be built. Install TeX Live with "
            f"`sudo apt-get install -y --no-install-recommends {TEX_PACKAGES}` (or run "
            "`make tex`), or build the HTML only with `mscfm build --no-pdf`."
        )


def _run_sphinx(root: Path, builder: str, log_name: str) -> None:
    work = root / WORK_DIR
    log = root / LOG_DIR / log_name
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        _jupyter_book(),
        "build",
        str(root),
        "--path-output",
        str(work),
        "--builder",
        builder,
        "--warningiserror",
        "--keep-going",
    ]
    env = {**os.environ, "MSCFM_ROOT": str(root), "PYTHONWARNINGS": "ignore", "NO_COLOR": "1"}
    work.mkdir(parents=True, exist_ok=True)
    marker = work / IN_PROGRESS
    marker.write_text(builder, encoding="utf-8")  # removed only when Sphinx succeeded
    from mscfm.pipeline.lock import kill_me_with_parent

    result = subprocess.run(  # a killed build takes its Sphinx run with it
        cmd, cwd=root, env=env, capture_output=True, text=True, errors="replace",
        preexec_fn=kill_me_with_parent,
    )
    log.write_text(plain(result.stdout + "\n--- stderr ---\n" + result.stderr), encoding="utf-8")
    if result.returncode == 0:
        marker.unlink()
    else:
        raise BuildError(
            f"jupyter-book ({builder}) failed:\n{_summarise_log(result.stdout + result.stderr)}\n"
            f"full log: {log}"
        )


def _summarise_log(text: str, limit: int = 15) -> str:
    text = plain(text)
    keys = ("WARNING", "ERROR", "Error", "error:", "! ")
    lines = [ln.strip() for ln in text.splitlines() if any(k in ln for k in keys)]
    return (
        "\n".join(lines[:limit]) or text.strip().splitlines()[-1] if text.strip() else "no output"
    )


def build_html(root: Path) -> Path:
    _run_sphinx(root, "html", "sphinx-html.log")
    return root / WORK_DIR / "_build" / "html"


LATEX_STAMP = ".mscfm-latex-source"  # beside book.tex: the hash of the source of book.pdf
LATEX_TARGET = "book"  # _config.yml: latex_documents.targetname book.tex


def latex_source_hash(latex_dir: Path) -> str:
    """A hash of what LaTeX reads: every file Sphinx wrote to ``latex_dir`` (book.tex, style
    files, images), none that LaTeX itself writes (book.aux, book.log, book.pdf ...)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in latex_dir.rglob("*") if p.is_file()):
        made_by_latex = path.stem == LATEX_TARGET and path.suffix != ".tex"
        if made_by_latex or path.name == LATEX_STAMP:
            continue
        digest.update(path.relative_to(latex_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_pdf(root: Path) -> tuple[Path, bool]:
    """Write the LaTeX source with Sphinx, then run LaTeX only if that source changed since the
    PDF beside it was made. Returns the PDF and whether LaTeX ran."""
    check_tex()
    _run_sphinx(root, "latex", "sphinx-latex.log")
    latex = root / WORK_DIR / "_build" / "latex"
    pdf, stamp = latex / f"{LATEX_TARGET}.pdf", latex / LATEX_STAMP
    source = latex_source_hash(latex)
    if pdf.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == source:
        return pdf, False
    stamp.unlink(missing_ok=True)
    log = root / LOG_DIR / "latex.log"
    marker = root / WORK_DIR / IN_PROGRESS
    marker.write_text("latex", encoding="utf-8")  # removed only when LaTeX succeeded
    from mscfm.pipeline.lock import kill_me_with_parent

    result = subprocess.run(  # a killed build takes its LaTeX run with it
        [os.environ.get("MAKE", "make"), "all-pdf"],
        cwd=latex,
        capture_output=True,
        text=True,
        errors="replace",
        preexec_fn=kill_me_with_parent,
    )
    log.write_text(plain(result.stdout + "\n--- stderr ---\n" + result.stderr), encoding="utf-8")
    if result.returncode != 0:
        raise BuildError(
            f"LaTeX failed:\n{_summarise_log(result.stdout + result.stderr)}\nfull log: {log}"
        )
    marker.unlink()
    if not pdf.exists():
        raise BuildError(f"the LaTeX build reported success but wrote no {pdf}")
    stamp.write_text(source, encoding="utf-8")
    return pdf, True


# What the book is made of, besides the package: a change to any of these rebuilds it.
BOOK_SOURCES = (
    "_config.yml",
    "_toc.yml",
    "references.bib",
    "book/**/*.md",
    "book/**/*.ipynb",
    "book/_vendor/**/*",
    "data/*.csv",
    "data/datapackage.json",
    "data/schema/*.json",
    "notebooks/*.ipynb",
)
GENERATED_PAGES = (COLOPHON_PAGE,)  # rewritten by every build; not an input


# The package modules the book step itself runs: the Sphinx extension, the generated pages.
# Chapter modules reach the book through the executed notebooks, which are hashed as sources.
BOOK_MODULES = ("mscfm.sphinx_ext", "mscfm.colophon", "mscfm.bundle")


def source_fingerprint(root: Path, with_pdf: bool) -> str:
    """A content hash of everything the book is built from (and of the package code the book
    step runs)."""
    from mscfm.pipeline.imports import module_package_files

    digest = hashlib.sha256(f"pdf={with_pdf}".encode())
    files = {p for pattern in BOOK_SOURCES for p in root.glob(pattern) if p.is_file()}
    files -= {root / name for name in GENERATED_PAGES}
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name in module_package_files(*BOOK_MODULES):
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


def toolchain_fingerprint(root: Path) -> str:
    """What Sphinx's own incremental build cannot see: our extension and the modules it imports,
    the configuration and the lock file. When it changes, the work folder starts afresh."""
    from mscfm.pipeline.imports import module_package_files
    from mscfm.pipeline.state import LOCK_FILES

    extension = module_package_files("mscfm.sphinx_ext")
    digest = hashlib.sha256()
    # _toc.yml too: a page removed from it must disappear, and Sphinx keeps the old output.
    configs = ("_config.yml", "_toc.yml", *LOCK_FILES)
    for path in [*extension, *(root / name for name in configs)]:
        if Path(path).exists():
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _stamp(root: Path) -> dict:
    try:
        return json.loads((root / PUBLISHED_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


IN_PROGRESS = ".sphinx-in-progress"  # in WORK_DIR while Sphinx or LaTeX runs


def reset_work_if_stale(root: Path, toolchain: str) -> None:
    """Start Sphinx from scratch when the toolchain changed (never serve stale pages), or when
    the last Sphinx or LaTeX run did not finish (killed, failed: its caches are suspect)."""
    work = root / WORK_DIR
    if _stamp(root).get("toolchain") != toolchain or (work / IN_PROGRESS).exists():
        shutil.rmtree(work, ignore_errors=True)


def is_published(root: Path, fingerprint: str, with_pdf: bool) -> bool:
    """True when the published book was built from exactly these sources."""
    stamp = _stamp(root)
    outputs_there = (root / HTML_DIR / "index.html").exists() and (
        not with_pdf or (root / PDF_PATH).exists()
    )
    return (outputs_there and stamp.get("fingerprint") == fingerprint
            and stamp.get("html") == html_manifest(root))


def html_manifest(root: Path) -> str:
    """A hash of the published HTML folder's file names and sizes: a partly deleted (or
    otherwise altered) folder no longer matches the stamp, and the book is rebuilt."""
    html = root / HTML_DIR
    digest = hashlib.sha256()
    for path in sorted(html.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(html).as_posix()}\0{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def record_published(root: Path, fingerprint: str, toolchain: str) -> None:
    stamp = root / PUBLISHED_STAMP
    stamp.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"fingerprint": fingerprint, "toolchain": toolchain,
                       "html": html_manifest(root)})
    tmp = stamp.with_suffix(".json.incoming")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, stamp)


def _swap_dir(new: Path, target: Path) -> None:
    """Replace ``target`` by a copy of ``new`` with two renames (no half-written state)."""
    staging = target.with_name(target.name + ".incoming")
    old = target.with_name(target.name + ".previous")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(new, staging)
    except BaseException:  # disk full, read-only, interrupted: no half-written folder stays
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def publish(root: Path, html: Path, pdf: Path | None, extras: list[Path] = ()) -> None:
    """Make the new book the published one; the PDF and ``extras`` are also served from the
    HTML folder (``book.pdf``, the data bundle) so a static host has them at fixed addresses."""
    served = [(pdf, "book.pdf")] if pdf is not None else []
    served += [(path, path.name) for path in extras if path.exists()]
    for source, name in served:
        shutil.copyfile(source, html / name)
    _swap_dir(html, root / HTML_DIR)
    if pdf is not None:
        target = root / PDF_PATH
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".pdf.incoming")
        try:
            shutil.copyfile(pdf, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, target)
