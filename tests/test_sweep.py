"""Parameter sweeps on the mini project: the grid, checks before running, local and Dask runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import make_mini_project

from mscfm.cli import main
from mscfm.errors import ParameterError
from mscfm.pipeline.notebooks import Chapter, Parameter
from mscfm.pipeline.sweep import (
    SweepOptions,
    collect,
    glued_numbers,
    grid_points,
    parse_grid,
    plan_sweep,
    run_sweep,
    to_csv,
)

SCALES = (1.0, 2.0, 3.0)


def _values_total(root: Path) -> float:
    """The sum the mini chapter glues (at scale 1), read from its data file independently."""
    with (root / "data" / "values.csv").open(encoding="utf-8") as handle:
        return sum(float(row["value"]) for row in csv.DictReader(handle))


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory):
    """One local sweep of scale=1,2,3 (three executions), shared by the tests below."""
    root = make_mini_project(tmp_path_factory.mktemp("sweep") / "mini")
    options = SweepOptions(chapter="01_good", specs=["scale=1,2,3"], jobs=2)
    done: list[str] = []
    result = run_sweep(root, options, on_done=lambda outcome: done.append(outcome.name))
    return root, options, result, done


def test_local_sweep_runs_each_grid_point_and_tabulates_the_glued_total(swept) -> None:
    root, _, result, done = swept
    out = root / "_build" / "sweeps" / "01_good"
    assert sorted(done) == ["01_good.p001", "01_good.p002", "01_good.p003"]
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["p001.ipynb", "p002.ipynb", "p003.ipynb"]
    base = _values_total(root)
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text(encoding="utf-8"))))
    assert [float(r["scale"]) for r in rows] == list(SCALES)
    assert [float(r["total"]) for r in rows] == [base * s for s in SCALES]
    assert [r["total"] for r in result.rows] == [base * s for s in SCALES]
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| point | scale | total |" in (out / "results.md").read_text(encoding="utf-8")
    # A sweep leaves the book and the build state alone.
    assert not (root / "book" / "_executed").exists()
    assert not (root / ".mscfm" / "state.json").exists()


def test_dask_cluster_sweep_gives_the_same_table(swept, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    root, options, local, _ = swept
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        options.scheduler = cluster.scheduler_address
        options.out = tmp_path / "dask"
        try:
            remote = run_sweep(root, options)
        finally:
            options.scheduler, options.out = None, None
    assert to_csv(remote) == to_csv(local)
    assert (tmp_path / "dask" / "results.csv").read_text(encoding="utf-8") == to_csv(local)
    assert len(list((tmp_path / "dask").glob("p*.ipynb"))) == len(SCALES)


def test_keys_choose_the_columns_and_unknown_keys_are_refused(swept) -> None:
    root, options, result, _ = swept
    plan = plan_sweep(root, options.chapter, options.specs, None)
    outcomes = result.outcomes
    assert collect(plan, outcomes, ["total"]).keys == ["total"]
    with pytest.raises(ParameterError, match=r"--keys pooled: .*numbers glued: total"):
        collect(plan, outcomes, ["pooled"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nosuch=1,2", r"unknown parameter 'nosuch'.*known parameters: label, scale"),
        ("scale=1,two,3", r"parameter 'scale' of chapter 01_good must be float; got 'two'"),
        ("scale=", r"must be float; got ''"),
    ],
)
def test_a_bad_name_or_value_is_refused_before_anything_runs(
    mini_project: Path, spec: str, message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        run_sweep(mini_project, SweepOptions(chapter="01_good", specs=["label=x", spec]))
    assert not (mini_project / "_build").exists()


def test_the_command_line_reports_a_bad_value_in_one_line(mini_project: Path, capsys) -> None:
    assert main(["sweep", "01", "-p", "scale=1,x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mscfm sweep: error: parameter 'scale'") and "\n" not in err
    assert main(["sweep", "09_none", "-p", "scale=1"]) == 2
    assert "no chapter named '09_none'; chapters: 01_good" in capsys.readouterr().err
    assert not (mini_project / "_build").exists()


def _chapter(**types: str) -> Chapter:
    params = {n: Parameter(n, t, None, "") for n, t in types.items()}
    return Chapter("07_x", Path("07_x.ipynb"), (), 60, params)


def test_the_grid_is_the_cartesian_product_in_the_order_given() -> None:
    chapter = _chapter(method="str", months="int", flag="bool")
    grid = parse_grid(chapter, ["method=REML,DL", "months=3,6,12", "flag=true"])
    assert grid == {"method": ["REML", "DL"], "months": [3, 6, 12], "flag": [True]}
    points = grid_points(grid)
    assert [p.point_id for p in points][:2] == ["p001", "p002"] and len(points) == 6
    assert [tuple(p.values.values()) for p in points[:4]] == [
        ("REML", 3, True),
        ("REML", 6, True),
        ("REML", 12, True),
        ("DL", 3, True),
    ]


def test_list_parameters_take_values_separated_by_semicolons() -> None:
    chapter = _chapter(estimators="list[str]", doses="list[float]")
    grid = parse_grid(chapter, ["estimators=REML,DL;PM", "doses=1,2.5"])
    assert grid == {"estimators": [["REML", "DL"], ["PM"]], "doses": [[1.0, 2.5]]}
    with pytest.raises(ParameterError, match=r"'doses' .* must be list\[float\]; got '1,x'"):
        parse_grid(chapter, ["doses=1,x;2"])


def test_a_parameter_given_twice_or_with_a_chapter_prefix_is_refused() -> None:
    chapter = _chapter(months="int")
    with pytest.raises(ParameterError, match="given twice"):
        parse_grid(chapter, ["months=3", "months=6"])
    with pytest.raises(ParameterError, match="give NAME=VALUES"):
        parse_grid(chapter, ["07_x.months=3"])
    with pytest.raises(ParameterError, match="at least one -p"):
        parse_grid(chapter, [])


def _glue_output(name: str, text: str, prefix: str = "application/papermill.record/") -> dict:
    return {
        "output_type": "display_data",
        "data": {prefix + "text/plain": text},
        "metadata": {"scrapbook": {"name": name, "mime_prefix": prefix}},
    }


def test_glued_numbers_reads_scalars_and_skips_text_flags_and_plain_outputs() -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": "x"},
            {
                "cell_type": "code",
                "outputs": [
                    _glue_output("pooled", "np.float64(-0.75)"),
                    _glue_output("k", "7", prefix=""),
                    _glue_output("method", "'REML'"),
                    _glue_output("significant", "True"),
                    {"output_type": "stream", "name": "stdout", "text": "12\n"},
                    {"output_type": "display_data", "data": {"text/plain": "3"}, "metadata": {}},
                ],
            },
            {"cell_type": "code", "outputs": [_glue_output("i2", ["0.4", "2"])]},
        ]
    }
    assert glued_numbers(notebook) == {"pooled": -0.75, "k": 7.0, "i2": 0.42}
    assert json.dumps(glued_numbers({"cells": []})) == "{}"
