"""Parameter sweeps: one chapter executed over a grid of parameter sets, results in one table.

``mscfm sweep CHAPTER -p NAME=V1,V2 -p OTHER=A,B`` runs the cartesian product of the values as
separate papermill executions (on the local worker pool, or on a Dask distributed cluster), then
collects each run's key results - the numbers the chapter glued into its prose with
``myst_nb.glue`` - into a CSV table, a markdown table and a figure.

Values are separated by ``,``; a list-typed parameter takes its values separated by ``;`` (each
value is itself a comma-separated list): ``-p estimators=REML,DL;PM`` sweeps ``["REML", "DL"]``
and ``["PM"]``. Every value is checked against the notebook's declaration before anything runs.

A sweep never touches the book: its executed copies go to ``_build/sweeps/<chapter>/`` (or
``--out``), and the build state (``.mscfm/state.json``) is left alone.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mscfm.errors import BuildError, ParameterError
from mscfm.paths import SWEEP_DIR
from mscfm.pipeline.execute import Job, Outcome, execute_job, raise_on_failures, run_jobs
from mscfm.pipeline.notebooks import Chapter, find_chapter, resolve_overrides, split_assignment

MAX_PANELS = 12  # one panel per key result; beyond this the figure stops being readable
# numpy 2 reprs scalars as ``np.float64(1.5)``; the glued text/plain is that repr.
_NUMPY_SCALAR = re.compile(r"^(?:np|numpy)\.\w+\((.*)\)$")


# --- the grid ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridPoint:
    """One parameter set of the grid; ``point_id`` names its executed copy (``p001``)."""

    point_id: str
    values: dict[str, Any]


def _split_values(raw: str, type_name: str) -> list[str]:
    separator = ";" if type_name.startswith("list[") else ","
    return [part.strip() for part in raw.split(separator)]


def parse_grid(chapter: Chapter, specs: list[str]) -> dict[str, list[Any]]:
    """``NAME=V1,V2`` specs -> typed values per parameter, in the order given.

    Names and every value are checked against the chapter's parameters cell (same rules and
    messages as ``mscfm build -p``); nothing is executed.
    """
    if not specs:
        raise ParameterError("a sweep needs at least one -p NAME=V1,V2,... ")
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        target, name, raw = split_assignment(spec)
        if target is not None:
            raise ParameterError(
                f"sweep parameter {spec!r}: give NAME=VALUES (the chapter is {chapter.name})"
            )
        if name in grid:
            raise ParameterError(
                f"sweep parameter {name!r} is given twice; list all its values "
                "in one -p NAME=V1,V2,..."
            )
        declared = chapter.parameters.get(name)
        pieces = _split_values(raw, declared.type if declared else "str")
        values = [_typed_value(chapter, name, piece) for piece in pieces]
        grid[name] = _unique(values)
    return grid


def _typed_value(chapter: Chapter, name: str, text: str) -> Any:
    overrides = resolve_overrides([chapter], [f"{name}={text}"])
    return overrides[chapter.name][name]


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def grid_points(grid: dict[str, list[Any]]) -> list[GridPoint]:
    """The cartesian product of the grid, the first parameter varying slowest."""
    names = list(grid)
    combos = itertools.product(*(grid[n] for n in names))
    return [
        GridPoint(f"p{index:03d}", dict(zip(names, combo, strict=True)))
        for index, combo in enumerate(combos, start=1)
    ]


# --- executing the grid -----------------------------------------------------------------------


@dataclass(frozen=True)
class SweepChapter(Chapter):
    """A chapter whose executed copy goes to ``output`` instead of ``book/_executed``.

    ``name`` is ``<chapter>.<point>`` so that outcomes and kept failing notebooks of different
    grid points never collide.
    """

    output: Path = field(default=Path("."))

    def executed_path(self, root: Path) -> Path:
        return self.output


@dataclass(frozen=True)
class SweepPlan:
    chapter: Chapter
    grid: dict[str, list[Any]]
    points: list[GridPoint]
    out_dir: Path
    jobs: list[Job]


def plan_sweep(root: Path, chapter_name: str, specs: list[str], out: Path | None) -> SweepPlan:
    """Check everything and lay out one Job per grid point; runs nothing."""
    chapter = find_chapter(root, chapter_name)
    grid = parse_grid(chapter, specs)
    points = grid_points(grid)
    out_dir = (out or root / SWEEP_DIR / chapter.name).resolve()
    jobs = []
    for point in points:
        point_chapter = SweepChapter(
            **{f: getattr(chapter, f) for f in ("source", "inputs", "timeout", "parameters")},
            name=f"{chapter.name}.{point.point_id}",
            output=out_dir / f"{point.point_id}.ipynb",
        )
        jobs.append(Job(point_chapter, {**chapter.defaults(), **point.values}, root))
    return SweepPlan(chapter, grid, points, out_dir, jobs)


def run_local(jobs: list[Job], n_workers: int, on_done=None) -> list[Outcome]:
    """The grid on the local worker pool (each worker imports papermill once)."""
    return run_jobs(jobs, n_workers, on_done)


def execute_remote(job: Job) -> tuple[Outcome, str]:
    """Run one grid point on a Dask worker; returns the executed notebook's text as well, so the
    client gets the results even when its output folder is not on the worker's file system."""
    outcome = execute_job(job)
    path = job.chapter.executed_path(job.root)
    text = path.read_text(encoding="utf-8") if outcome.ok and path.exists() else ""
    return outcome, text


def run_dask(jobs: list[Job], address: str, on_done=None) -> list[Outcome]:
    """The grid on a Dask distributed cluster.

    The workers need this package installed and the project at the same path (a shared file
    system): they read the notebook and the data from ``job.root``.
    """
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # Dask is the optional extra "cluster"
        raise BuildError(
            "--scheduler needs Dask, the optional extra 'cluster': "
            "pip install -e '.[cluster]' -c constraints.txt"
        ) from exc
    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise BuildError(
            f"--scheduler {address}: cannot connect to a Dask scheduler ({exc})"
        ) from exc
    outcomes: list[Outcome] = []
    with client:
        futures = client.map(execute_remote, jobs, pure=False, key=_task_keys(jobs))
        by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        for future in as_completed(futures):
            job = by_key[future.key]
            try:
                outcome, text = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker becomes a failed point
                outcome, text = (
                    Outcome(
                        job.chapter.name,
                        False,
                        0.0,
                        f"chapter {job.chapter.name}: Dask task failed ({exc})",
                    ),
                    "",
                )
            if text:
                _write_if_changed(job.chapter.executed_path(job.root), text)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    return sorted(outcomes, key=lambda o: o.name)


def _task_keys(jobs: list[Job]) -> list[str]:
    """Unique per sweep: a scheduler would hand back an earlier sweep's result for a reused key."""
    run = uuid.uuid4().hex[:12]
    return [f"mscfm-sweep-{job.chapter.name}-{run}" for job in jobs]


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return  # the worker shares our file system and already wrote it
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- key results ------------------------------------------------------------------------------


def parse_number(text: str) -> float | None:
    """A glued value's ``text/plain`` as a number, or None when it is not a plain number."""
    text = text.strip()
    match = _NUMPY_SCALAR.match(text)
    if match:
        text = match.group(1).strip()
    if text in ("True", "False"):
        return None  # a flag, not a result
    try:
        return float(text)
    except ValueError:
        return None


def glued_numbers(notebook: dict) -> dict[str, float]:
    """Every glued scalar of an executed notebook, name -> value, in the order glued."""
    found: dict[str, float] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            scrap = output.get("metadata", {}).get("scrapbook")
            if not isinstance(scrap, dict) or "name" not in scrap:
                continue
            text = output.get("data", {}).get(scrap.get("mime_prefix", "") + "text/plain")
            if text is None:
                continue
            number = parse_number("".join(text) if isinstance(text, list) else text)
            if number is not None:
                found[scrap["name"]] = number
    return found


@dataclass
class SweepResult:
    """The table of a finished sweep: one row per grid point."""

    chapter: str
    parameters: list[str]
    keys: list[str]
    rows: list[dict[str, Any]]
    outcomes: list[Outcome]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return ["point", *self.parameters, *self.keys]


def collect(plan: SweepPlan, outcomes: list[Outcome], keys: list[str] | None) -> SweepResult:
    """Read the glued numbers of each executed grid point into one table."""
    ok = {o.name for o in outcomes if o.ok}
    per_point: list[dict[str, float]] = []
    for job in plan.jobs:
        path = job.chapter.executed_path(job.root)
        if job.chapter.name in ok and path.exists():
            per_point.append(glued_numbers(json.loads(path.read_text(encoding="utf-8"))))
        else:
            per_point.append({})
    available = _unique([k for numbers in per_point for k in numbers])
    chosen = _choose_keys(available, keys, plan.chapter.name) if ok else list(keys or [])
    rows = []
    for point, numbers in zip(plan.points, per_point, strict=True):
        row: dict[str, Any] = {"point": point.point_id, **point.values}
        row.update({k: numbers.get(k) for k in chosen})
        rows.append(row)
    return SweepResult(plan.chapter.name, list(plan.grid), chosen, rows, outcomes)


def _choose_keys(available: list[str], wanted: list[str] | None, chapter: str) -> list[str]:
    if not wanted:
        return available
    missing = [k for k in wanted if k not in available]
    if missing:
        raise ParameterError(
            f"--keys {', '.join(missing)}: chapter {chapter} glued no number with that name; "
            f"numbers glued: {', '.join(available) or 'none'}"
        )
    return list(wanted)


# --- table and figure -------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def to_csv(result: SweepResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_cell_text(row.get(c)) for c in result.columns])
    return buffer.getvalue()


def to_markdown(result: SweepResult) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(esc(c) for c in result.columns) + " |",
        "|" + "|".join("---" for _ in result.columns) + "|",
    ]
    for row in result.rows:
        lines.append("| " + " | ".join(esc(_cell_text(row.get(c))) for c in result.columns) + " |")
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def sweep_figure(result: SweepResult):
    """One panel per key result; x = the first swept parameter, one line per combination of the
    others (e.g. pooled effect by timepoint, one line per estimator)."""
    from mscfm.plots.style import FULL_WIDTH_IN, new_figure, set_alt_text

    keys = (result.keys or ["(no glued numbers)"])[:MAX_PANELS]
    x_name, *series_names = result.parameters
    fig, axes = new_figure(
        height=max(2.4, 2.0 * len(keys)),
        nrows=len(keys),
        sharex=True,
        width=FULL_WIDTH_IN,
        squeeze=False,
    )
    x_values = _unique([row[x_name] for row in result.rows])
    numeric_x = all(_is_number(v) for v in x_values)
    position = {_cell_text(v): (v if numeric_x else i) for i, v in enumerate(x_values)}
    markers = "osD^vP*X"
    for ax, key in zip(axes[:, 0], keys, strict=True):
        groups = _unique([tuple(_cell_text(row[n]) for n in series_names) for row in result.rows])
        for index, group in enumerate(groups):
            rows = [
                r for r in result.rows if tuple(_cell_text(r[n]) for n in series_names) == group
            ]
            xs = [position[_cell_text(r[x_name])] for r in rows]
            ys = [r.get(key) if r.get(key) is not None else math.nan for r in rows]
            label = ", ".join(f"{n}={v}" for n, v in zip(series_names, group, strict=True))
            ax.plot(xs, ys, marker=markers[index % len(markers)], label=label or None)
        ax.set_ylabel(key)
        if len(groups) > 1:
            ax.legend(loc="best", frameon=False)
    bottom = axes[-1, 0]
    bottom.set_xlabel(x_name)
    if not numeric_x:
        bottom.set_xticks(range(len(x_values)), [_cell_text(v) for v in x_values])
    more = len(result.keys) - len(keys)
    fig.suptitle(
        f"Sweep of {result.chapter}"
        + (
            f" (first {len(keys)} of {len(result.keys)} results; choose with --keys)"
            if more > 0
            else ""
        )
    )
    set_alt_text(
        fig,
        f"Key results of chapter {result.chapter} ({', '.join(keys)}) against "
        f"{x_name}" + (f", one line per {', '.join(series_names)}" if series_names else ""),
    )
    return fig


def write_outputs(result: SweepResult, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out_dir / "results.csv",
        "markdown": out_dir / "results.md",
        "figure": out_dir / "results.png",
    }
    files["csv"].write_text(to_csv(result), encoding="utf-8")
    files["markdown"].write_text(to_markdown(result) + "\n", encoding="utf-8")
    # No timestamp in the PNG metadata: the same sweep gives the same file.
    sweep_figure(result).savefig(files["figure"], metadata={"Software": None})
    result.files = files
    return files


# --- the whole sweep --------------------------------------------------------------------------


@dataclass
class SweepOptions:
    chapter: str
    specs: list[str]
    jobs: int = 0  # 0 = one per core
    scheduler: str | None = None
    out: Path | None = None
    keys: list[str] | None = None


def run_sweep(root: Path, options: SweepOptions, on_done=None) -> SweepResult:
    """Check the grid, execute every point, write the table and figure; raise if a point failed
    (after writing what the other points produced)."""
    import os

    plan = plan_sweep(root, options.chapter, options.specs, options.out)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    if options.scheduler:
        outcomes = run_dask(plan.jobs, options.scheduler, on_done)
    else:
        outcomes = run_local(plan.jobs, options.jobs or os.cpu_count() or 1, on_done)
    result = collect(plan, outcomes, options.keys)
    write_outputs(result, plan.out_dir)
    raise_on_failures(outcomes)
    return result
