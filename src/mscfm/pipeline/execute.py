"""Executing one chapter notebook with papermill, in a worker process of an executor.

Each worker imports papermill once and then runs many notebooks; spawning the papermill CLI per
notebook would pay that import every time. Each notebook runs in a fresh kernel that the worker
started ahead, while its previous chapter ran (`mscfm.pipeline.kernels`).

The executed copy is a pure function of the inputs: papermill's injected cell gets a fixed id,
timestamps and durations are dropped, and a copy identical to the one on disk is not rewritten
(so Sphinx, which compares modification times, re-reads only the chapters that changed).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mscfm.errors import BuildError, plain
from mscfm.paths import LOG_DIR
from mscfm.pipeline import kernels
from mscfm.pipeline.notebooks import Chapter

PARAMS_MARKER = "mscfm-parameters-used"
INJECTED = "injected-parameters"  # papermill's tag, and the id we give that cell


@dataclass(frozen=True)
class Job:
    """One chapter execution: everything a worker needs, picklable."""

    chapter: Chapter
    parameters: dict[str, Any]
    root: Path
    publish: bool = True  # False: leave the run at staged_path(); the main process publishes


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    seconds: float
    message: str = ""
    report: str = ""
    cell_seconds: float = 0.0  # the chapter's own work: the sum of its cells' durations
    ready_seconds: float = 0.0  # from the job's start until its kernel was ready, imports done


_SPARE = kernels.Spare()  # this worker's kernel for its next job
_QUEUED = None  # a shared count of the pool's jobs not yet started (multiprocessing.Value)


def staged_path(chapter: Chapter, root: Path) -> Path:
    """Where a worker leaves a chapter's run (the main process moves it into the book)."""
    return chapter.executed_path(root).with_suffix(".running.ipynb")


def publish_executed(job: Job) -> bool:
    """Move a finished run into the book (main process only, see ``Job.publish``); an
    identical executed copy is kept as it is, with its modification time. True when the
    executed copy changed."""
    return replace_if_changed(staged_path(job.chapter, job.root),
                              job.chapter.executed_path(job.root))


def _start_worker(queued=None, root: Path | None = None) -> None:
    """A local pool's worker: first it makes sure it ends with the build that started it (the
    guard comes before anything slow), then it warms up (`warm_worker`)."""
    from mscfm.pipeline.lock import die_with_parent

    die_with_parent()
    warm_worker(queued, root)


def warm_worker(queued=None, root: Path | None = None) -> None:
    """Pay the heavy imports once per worker process. In a local pool (``queued`` given), start
    the first kernel meanwhile and never leave a spare kernel behind."""
    global _QUEUED
    import logging
    from multiprocessing import util

    if queued is not None and _QUEUED is None:
        _QUEUED = queued
        _SPARE.start(root)  # starts now, imports while papermill is imported below
        util.Finalize(_SPARE, _SPARE.discard, exitpriority=10)  # run when the worker exits
    import papermill  # noqa: F401

    # papermill's own parameter parser does not read annotated parameters (`x: int = 1`) and
    # warns about them; ours has already checked names and types.
    logging.getLogger("papermill").setLevel(logging.ERROR)


def _more_jobs_queued() -> bool:
    """Take this job off the pool's count; True if some job is still waiting for a worker (this
    one may get it: start its kernel now). Outside a local pool: False."""
    if _QUEUED is None:
        return False
    with _QUEUED.get_lock():
        _QUEUED.value -= 1
        return _QUEUED.value > 0


def _literal(value: Any) -> str:
    """A value as a markdown code span: shown verbatim, never interpreted as markup."""
    from mscfm.parameters import md_literal

    return md_literal(value)


def _plain(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def parameters_table(chapter: Chapter, used: dict[str, Any]) -> str:
    """A small markdown table of the parameters a chapter ran with."""
    lines = [":::{admonition} Parameters used", ":class: note", ""]
    if not chapter.parameters:
        lines.append("This chapter has no parameters.")
    else:
        lines += ["| parameter | value | default | meaning |", "|---|---|---|---|"]
    for name, param in chapter.parameters.items():
        value = used.get(name, param.default)
        lines.append(
            f"| `{name}` | {_literal(value)} | {_literal(param.default)} | {_plain(param.doc)} |"
        )
    lines.append(":::")
    return "\n".join(lines)


def download_note(chapter: Chapter, page_dir: Path) -> str:
    """A link to the chapter's source notebook (defaults, no outputs) and how to open it."""
    rel = Path(os.path.relpath(chapter.source, page_dir)).as_posix()
    return (
        f"The code of this chapter is in its notebook, {{download}}`{chapter.name}.ipynb <{rel}>` "
        f"(default parameters, no outputs); open it with "
        f"`.venv/bin/jupyter lab notebooks/{chapter.name}.ipynb`."
    )


def _add_tag(tags: list[str], tag: str) -> None:
    if tag not in tags:
        tags.append(tag)


def _tidy_executed(path: Path, chapter: Chapter, used: dict[str, Any]) -> None:
    """Hide the parameter cells and insert a 'Parameters used' table after the title cell (at
    the end when the notebook's metadata says ``"mscfm": {"parameters_box": "end"}``)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if INJECTED in tags:
            cell.id = INJECTED  # papermill gives it a random id
        if {"parameters", INJECTED} & set(tags):
            _add_tag(tags, "remove-cell")
        elif cell.cell_type == "code" and "show-input" not in tags:
            # Readers see outputs; the code is one click away (the notebook download).
            _add_tag(tags, "remove-input")
    box = parameters_table(chapter, used) + "\n\n" + download_note(chapter, path.parent)
    table = nbformat.v4.new_markdown_cell(box)
    table.metadata["tags"] = [PARAMS_MARKER]
    table.id = PARAMS_MARKER
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    # A page that opens with its findings (the book's root) asks for the box at its end.
    at_end = nb.metadata.get("mscfm", {}).get("parameters_box") == "end"
    nb.cells.insert(len(nb.cells) if at_end else first_md + 1, table)
    # Timestamps and durations would make every executed copy differ; they are not content.
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def cell_seconds(path: Path) -> float:
    """The sum of the cells' durations papermill recorded in an executed notebook."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0 for c in cells)


def replace_if_changed(new: Path, target: Path) -> bool:
    """Move ``new`` onto ``target`` unless they are identical (then ``target`` keeps its
    modification time); True when ``target`` changed."""
    if target.exists() and target.read_bytes() == new.read_bytes():
        new.unlink()
        return False
    os.replace(new, target)
    return True


def _last_started_cell(kept: Path) -> int | None:
    """The last cell papermill started before the run stopped (timeout, dead kernel)."""
    try:
        cells = json.loads(kept.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return None
    started = [
        index
        for index, cell in enumerate(cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    return started[-1] if started else None


def one_line(text: str, limit: int = 2000) -> str:
    """A multi-line error (a data problem: file, row, column on its second line) on one line,
    colour codes removed, so the first line of a failure says all of it."""
    parts = [line.strip() for line in plain(text).splitlines() if line.strip()]
    joined = " | ".join(parts)
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def _failure_message(chapter: Chapter, exc: BaseException, kept: Path) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        where = f"cell {exc.exec_count or exc.cell_index}"
        what = f"{exc.ename}: {exc.evalue}".strip()
    else:
        index = _last_started_cell(kept)
        where = "execution" if index is None else f"cell {index}"
        what = f"{type(exc).__name__}: {exc}".strip()
    what = one_line(what) or type(exc).__name__
    if "Timeout" in type(exc).__name__ or "timed out" in str(exc).lower():
        what = f"a cell exceeded the timeout of {chapter.timeout} s ({what})"
    return (
        f"chapter {chapter.name} failed in {where}: {what}; notebook kept at {kept}"
    )


def execute_job(job: Job) -> Outcome:
    """Run one chapter with papermill (in a worker); never raises, returns an Outcome."""
    import time

    import papermill as pm

    warm_worker()
    chapter, root = job.chapter, job.root
    out = chapter.executed_path(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = staged_path(chapter, root)
    declared = json.dumps(list(chapter.resolved_inputs(job.parameters)))
    start = time.perf_counter()
    km = None
    try:
        km = _SPARE.take(root)
        if _more_jobs_queued():
            _SPARE.start(root)  # imports in its own process while this chapter runs
        kernels.prepare(km, {"MSCFM_ROOT": str(root), "MSCFM_DECLARED_INPUTS": declared})
        ready = time.perf_counter() - start
        pm.execute_notebook(
            str(chapter.source),
            str(tmp),
            parameters=job.parameters,
            cwd=str(root),
            km=km,
            kernel_name=kernels.KERNEL_NAME,
            execution_timeout=chapter.timeout,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,  # a stopped run still leaves its notebook
        )
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a report
        kept = root / LOG_DIR / f"{chapter.name}.ipynb"
        kept.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.move(tmp, kept)
        return Outcome(
            chapter.name,
            False,
            time.perf_counter() - start,
            _failure_message(chapter, exc, kept),
            str(kept),
        )
    finally:
        if km is not None:
            kernels.shutdown(km)
    cells = cell_seconds(tmp)
    _tidy_executed(tmp, chapter, job.parameters)
    if job.publish:
        replace_if_changed(tmp, out)
    return Outcome(chapter.name, True, time.perf_counter() - start, cell_seconds=cells,
                   ready_seconds=ready)


def raise_on_failures(outcomes: list[Outcome]) -> None:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise BuildError("; ".join(o.message for o in failed))
