"""The whole build: validate data, execute what changed, build HTML and PDF, publish."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mscfm.errors import BuildError, DataError, ParameterError
from mscfm.paths import LOG_DIR
from mscfm.pipeline import book
from mscfm.pipeline.execute import Job, Outcome, publish_executed, raise_on_failures
from mscfm.pipeline.executors import executor_for
from mscfm.pipeline.lock import BuildLock
from mscfm.pipeline.notebooks import Chapter, discover_chapters, resolve_overrides
from mscfm.pipeline.state import BuildState, Decision, clean_leftovers
from mscfm.pipeline.toc import check_toc


@dataclass
class BuildOptions:
    jobs: int = 0  # 0 = one per core
    force: bool = False
    only: list[str] = field(default_factory=list)
    pdf: bool = True
    assignments: list[str] = field(default_factory=list)
    explain: bool = False
    scheduler: str | None = None  # a Dask scheduler address; None = the local pool


class Progress:
    """One line per finished chapter on a terminal; silent otherwise (logs stay clean)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        # sys.stderr as it is now, not as it was at import (a test may have swapped it since)
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self.active = self.stream.isatty()
        self.start = time.perf_counter()

    def step(self, outcome: Outcome) -> None:
        self.done += 1
        if self.active:
            state = "done" if outcome.ok else "FAILED"
            elapsed = time.perf_counter() - self.start
            self.stream.write(
                f"[{self.done:>2}/{self.total}] {outcome.name:<28} {state:<6} "
                f"{outcome.seconds:6.1f} s   (elapsed {elapsed:5.1f} s)\n"
            )
            self.stream.flush()

    def note(self, text: str) -> None:
        if self.active:
            self.stream.write(text + "\n")


def validate_data(root: Path) -> None:
    """Refuse to build on invalid data (every problem listed)."""
    from mscfm import data

    problems = data.validate(root)
    if problems:
        listing = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise DataError(f"the data in {root / 'data'} is invalid; not building:\n{listing}{more}")


def select_chapters(chapters: list[Chapter], only: list[str]) -> list[Chapter]:
    if not only:
        return chapters
    names = {c.name for c in chapters}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise BuildError(
            f"--only {', '.join(unknown)}: no such chapter; chapters: {', '.join(sorted(names))}"
        )
    return [c for c in chapters if c.name in only]


def plan(root: Path, options: BuildOptions) -> list[Decision]:
    """Which chapters re-run and why (also what ``--explain`` prints)."""
    chapters = discover_chapters(root)
    overrides = resolve_overrides(chapters, options.assignments)
    state = BuildState(root)
    decisions = []
    for chapter in select_chapters(chapters, options.only):
        params: dict[str, Any] = {**chapter.defaults(), **overrides[chapter.name]}
        for item in chapter.resolved_inputs(params):
            if not (root / item).is_file():
                raise ParameterError(
                    f"chapter {chapter.name} would read {item}, which does not exist"
                )
        decisions.append(state.decide(chapter, params, root, force=options.force))
    return decisions


def explain(decisions: list[Decision]) -> str:
    width = max((len(d.chapter.name) for d in decisions), default=10)
    return "\n".join(
        f"{d.chapter.name:<{width}}  {'re-run' if d.rerun else 'reuse '}  {d.reason}"
        for d in decisions
    )


def execute(
    root: Path, decisions: list[Decision], jobs: int, scheduler: str | None = None
) -> list[Outcome]:
    todo = [d for d in decisions if d.rerun]
    progress = Progress(len(todo))
    state = BuildState(root)
    by_name = {d.chapter.name: d for d in todo}

    outcomes: list[Outcome] = []

    def finished(outcome: Outcome) -> None:
        if outcome.ok:
            outcome = accept(root, state, by_name[outcome.name], outcome)
        progress.step(outcome)
        outcomes.append(outcome)

    executor = executor_for(scheduler=scheduler, jobs=jobs)
    executor.run([Job(d.chapter, d.parameters, root, publish=False) for d in todo], finished)
    outcomes.sort(key=lambda o: o.name)
    write_execution_report(root, outcomes)
    raise_on_failures(outcomes)
    return outcomes


def accept(root: Path, state: BuildState, decision: Decision, outcome: Outcome) -> Outcome:
    """In the main process: check a finished run, put it in the book, then record it (at once:
    an interrupted build keeps what it finished). A run that changed its own declared data
    fails instead. Publishing before recording means a build killed in between re-runs the
    chapter (the executed copy no longer matches the recorded one)."""
    from dataclasses import replace

    from mscfm.pipeline.execute import staged_path

    changed = state.changed_inputs(decision)
    if changed:
        staged_path(decision.chapter, root).unlink(missing_ok=True)
        return replace(outcome, ok=False, message=(
            f"chapter {decision.chapter.name} changed its declared input "
            f"{', '.join(changed)} while it ran; a chapter must not write into data/ "
            "(restore the file from git)"))
    publish_executed(Job(decision.chapter, decision.parameters, root))
    state.record(decision)
    state.save()
    return outcome


EXECUTION_REPORT = "execution.json"


def write_execution_report(root: Path, outcomes: list[Outcome]) -> None:
    """Per chapter executed: wall time, the cells' own time and the time until its kernel was
    ready (``_build/reports/execution.json``, read by the build benchmark)."""
    report = root / LOG_DIR / EXECUTION_REPORT
    report.parent.mkdir(parents=True, exist_ok=True)
    rows = {
        o.name: {
            "ok": o.ok,
            "seconds": round(o.seconds, 3),
            "cell_seconds": round(o.cell_seconds, 3),
            "ready_seconds": round(o.ready_seconds, 3),
        }
        for o in outcomes
    }
    report.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


BUNDLE_SOURCE = "_build/bundle/mscfm-data.zip"


def write_generated_pages(root: Path) -> None:
    """Files the book links to that are made at build time: the colophon and the data bundle."""
    from mscfm import bundle, colophon

    colophon.write_colophon(root)  # reads the parameters from the executed notebooks
    bundle.write_bundle(root, root / BUNDLE_SOURCE)  # refuses to write an invalid bundle


def run_build(root: Path, options: BuildOptions, out: TextIO | None = None) -> dict[str, Any]:
    """Build the report; returns timings and what ran. Raises MscfmError on any failure.

    One build at a time (the build lock); under the lock, leftovers of an interrupted build
    are cleaned first."""
    if options.explain:
        return _build(root, options, out)
    with BuildLock(root):
        chapters = discover_chapters(root)
        check_toc(root, [c.name for c in chapters])
        state = BuildState(root)
        for line in clean_leftovers(root, chapters, state):
            sys.stderr.write(f"mscfm build: {line}\n")
        state.save()
        return _build(root, options, out)


def _build(root: Path, options: BuildOptions, out: TextIO | None = None) -> dict[str, Any]:
    out = out or sys.stdout
    timings: dict[str, float] = {}
    latex_note = ""
    t0 = time.perf_counter()
    decisions = plan(root, options)
    if options.explain:
        out.write(explain(decisions) + "\n")
        return {"explained": True}
    if options.pdf:
        book.check_tex()
    fingerprint = book.source_fingerprint(root, options.pdf)
    # Nothing to execute and the published book was built from exactly these sources (data
    # included, validated then): a no-op build need not validate again.
    if any(d.rerun for d in decisions) or not book.is_published(root, fingerprint, options.pdf):
        validate_data(root)
    timings["validate"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    outcomes = execute(root, decisions, options.jobs, options.scheduler)
    timings["execute"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    if outcomes:  # executed copies are book sources
        fingerprint = book.source_fingerprint(root, options.pdf)
    pdf: Path | None = root / book.PDF_PATH if options.pdf else None
    if book.is_published(root, fingerprint, options.pdf):
        timings["book"] = 0.0  # nothing the book is made of changed: keep the published one
    else:
        toolchain = book.toolchain_fingerprint(root)
        book.reset_work_if_stale(root, toolchain)
        write_generated_pages(root)
        html = book.build_html(root)
        timings["html"] = time.perf_counter() - t2
        if options.pdf:
            t3 = time.perf_counter()
            pdf, latex_ran = book.build_pdf(root)
            timings["pdf"] = time.perf_counter() - t3
            latex_note = "LaTeX ran" if latex_ran else "LaTeX source unchanged: PDF kept"
        book.publish(root, html, pdf, extras=[root / BUNDLE_SOURCE])
        book.record_published(root, fingerprint, toolchain)
    timings["total"] = time.perf_counter() - t0
    ran = [o.name for o in outcomes]
    out.write(
        f"executed {len(ran)} of {len(decisions)} chapters"
        + (f": {', '.join(ran)}" if ran else " (all up to date)")
        + "\n"
    )
    out.write(f"HTML: {root / book.HTML_DIR / 'index.html'}\n")
    if pdf:
        note = f" ({latex_note})" if latex_note else ""
        out.write(f"PDF:  {root / book.PDF_PATH}{note}\n")
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if k != "total")
    out.write(f"built in {timings['total']:.1f} s ({steps})\n")
    return {"ran": ran, "timings": timings}
