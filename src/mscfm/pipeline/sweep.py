"""Parameter sweeps: one chapter executed over a grid of parameter sets, results in one table.

``mscfm sweep CHAPTER -p NAME=V1,V2 -p OTHER=A,B`` runs the cartesian product of the values as
separate papermill executions (on an executor of `mscfm.pipeline.executors`: the local worker
pool, or a Dask distributed cluster), then collects each run's key results - the numbers the
chapter glued into its prose with ``myst_nb.glue`` - into a CSV table, a markdown table and a
figure (drawn by `mscfm.plots.sweep`).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mscfm.errors import ParameterError
from mscfm.paths import SWEEP_DIR
from mscfm.pipeline.execute import Job, Outcome, raise_on_failures
from mscfm.pipeline.executors import executor_for
from mscfm.pipeline.notebooks import Chapter, find_chapter, resolve_overrides, split_assignment

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


def write_outputs(result: SweepResult, out_dir: Path) -> dict[str, Path]:
    """The table as CSV and markdown, and its figure (drawn by `mscfm.plots.sweep`)."""
    from mscfm.plots.sweep import sweep_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out_dir / "results.csv",
        "markdown": out_dir / "results.md",
        "figure": out_dir / "results.png",
    }
    files["csv"].write_text(to_csv(result), encoding="utf-8")
    files["markdown"].write_text(to_markdown(result) + "\n", encoding="utf-8")
    figure = sweep_figure(result.chapter, result.parameters, result.keys, result.rows)
    # No timestamp in the PNG metadata: the same sweep gives the same file.
    figure.savefig(files["figure"], metadata={"Software": None})
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
    plan = plan_sweep(root, options.chapter, options.specs, options.out)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    executor = executor_for(scheduler=options.scheduler, jobs=options.jobs)
    outcomes = executor.run(plan.jobs, on_done)
    result = collect(plan, outcomes, options.keys)
    write_outputs(result, plan.out_dir)
    raise_on_failures(outcomes)
    return result
