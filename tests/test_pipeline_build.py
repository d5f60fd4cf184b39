"""The build on a mini project: execution, invalidation, failures and atomic publishing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import add_chapter, mark_executed

from mscfm.errors import BuildError, DataError
from mscfm.pipeline import book
from mscfm.pipeline.build import BuildOptions, plan, run_build

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _reruns(root: Path, **kwargs) -> dict[str, str]:
    return {d.chapter.name: d.reason for d in plan(root, BuildOptions(**kwargs)) if d.rerun}


def _mark_executed(root: Path) -> None:
    mark_executed(root)


def test_invalidation_is_exact_for_data_parameters_notebook_and_lock(mini_project: Path) -> None:
    root = mini_project
    add_chapter(root, FIXTURES / "mini_chapters" / "02_bad.ipynb")
    assert _reruns(root) == {"01_good": "never executed", "02_bad": "never executed"}
    _mark_executed(root)
    assert _reruns(root) == {}

    (root / "data" / "values.csv").touch()  # same content: nothing to do
    assert _reruns(root) == {}
    values = root / "data" / "values.csv"
    values.write_text(values.read_text().replace("2.5", "3.5"))
    assert _reruns(root) == {"01_good": "data changed: data/values.csv"}
    (root / "data" / "other.csv").write_text((root / "data" / "other.csv").read_text() + "\n")
    assert set(_reruns(root)) == {"01_good"}  # other.csv is declared by no chapter

    _mark_executed(root)
    assert _reruns(root, assignments=["divisor=2"]) == {"02_bad": "parameters changed"}
    assert _reruns(root, assignments=["scale=1.0"]) == {}  # the default is no change

    nb = root / "notebooks" / "02_bad.ipynb"
    nb.write_text(nb.read_text().replace("print(1 / divisor)", "print(2 / divisor)"))
    assert _reruns(root) == {"02_bad": "notebook changed"}
    _mark_executed(root)
    (root / "constraints.txt").write_text("numpy==0\n")
    assert set(_reruns(root)) == {"01_good", "02_bad"}
    assert all(r == "lock file changed" for r in _reruns(root).values())
    assert _reruns(root, force=True, only=["01_good"]) == {"01_good": "forced (--force)"}


def test_good_build_publishes_html_and_a_failed_build_keeps_it(mini_project: Path) -> None:
    root = mini_project
    result = run_build(root, BuildOptions(pdf=False, jobs=1))
    assert result["ran"] == ["01_good"]
    index = root / book.HTML_DIR / "book" / "_executed" / "01_good.html"
    page = index.read_text(encoding="utf-8")
    assert "Parameters used" in page and "4.0" in page  # glued total of 1.5 + 2.5
    executed = json.loads((root / "book/_executed/01_good.ipynb").read_text())
    tags = [c["metadata"].get("tags", []) for c in executed["cells"]]
    assert ["parameters", "remove-cell"] in tags  # the parameters cell is hidden
    assert "papermill" not in executed["metadata"]  # no timestamps in the executed copy

    again = run_build(root, BuildOptions(pdf=False))
    assert again["ran"] == [] and "book" in again["timings"]  # no-op: nothing rebuilt
    intro = root / "book" / "intro.md"
    intro.write_text(intro.read_text() + "\nOne more sentence.\n")
    again = run_build(root, BuildOptions(pdf=False))
    assert again["ran"] == [] and "html" in again["timings"]  # a page changed: book rebuilt
    assert "One more sentence" in (root / book.HTML_DIR / "book" / "intro.html").read_text()
    page = index.read_text(encoding="utf-8")

    add_chapter(root, FIXTURES / "mini_chapters" / "02_bad.ipynb")
    with pytest.raises(BuildError) as err:
        run_build(root, BuildOptions(pdf=False, jobs=2))
    message = str(err.value)
    assert "chapter 02_bad failed in cell" in message and "ZeroDivisionError" in message
    kept = root / "_build" / "reports" / "02_bad.ipynb"
    assert str(kept) in message and kept.exists()
    assert index.read_text(encoding="utf-8") == page  # the last good book is untouched
    assert _reruns(root) == {"02_bad": "never executed"}  # 01_good was not re-run

    result = run_build(root, BuildOptions(pdf=False, assignments=["divisor=4"]))
    assert result["ran"] == ["02_bad"]


def test_a_cell_over_its_timeout_fails_with_a_clear_message(mini_project: Path) -> None:
    add_chapter(mini_project, FIXTURES / "mini_chapters" / "03_slow.ipynb")
    with pytest.raises(BuildError, match=r"03_slow failed .*exceeded the timeout of 2 s"):
        run_build(mini_project, BuildOptions(pdf=False, only=["03_slow"]))


def test_reading_an_undeclared_data_file_fails_the_chapter(mini_project: Path) -> None:
    add_chapter(mini_project, FIXTURES / "mini_chapters" / "04_sneaky.ipynb")
    with pytest.raises(BuildError, match=r"04_sneaky failed .*data/other.csv.*not declare"):
        run_build(mini_project, BuildOptions(pdf=False, only=["04_sneaky"]))


def test_invalid_data_stops_the_build_before_anything_runs(mini_project: Path) -> None:
    values = mini_project / "data" / "values.csv"
    values.write_text(values.read_text() + "c,not-a-number,doe2020mini,table 1\n")
    with pytest.raises(DataError, match=r"values.csv:4:value"):
        run_build(mini_project, BuildOptions(pdf=False))
    assert not (mini_project / "book" / "_executed").exists()


def test_missing_tex_is_reported_with_the_install_command(
    mini_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(book.shutil, "which", lambda tool: None)
    with pytest.raises(BuildError, match=r"pdflatex and latexmk not found.*apt-get install"):
        run_build(mini_project, BuildOptions(pdf=True))


def test_explain_lists_each_chapter_and_runs_nothing(mini_project: Path, capsys) -> None:
    run_build(mini_project, BuildOptions(explain=True, assignments=["scale=2"]))
    out = capsys.readouterr().out
    assert out.strip() == "01_good  re-run  never executed"
    assert not (mini_project / "book" / "_executed").exists()


def test_a_parameter_naming_a_missing_input_fails_before_running(project_root: Path) -> None:
    from mscfm.errors import ParameterError

    with pytest.raises(ParameterError, match=r"would read data/registry_1999-01-01.csv"):
        plan(
            project_root,
            BuildOptions(
                only=["06_trial_landscape"],
                assignments=["registry_table=data/registry_1999-01-01.csv"],
            ),
        )
