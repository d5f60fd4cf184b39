"""Chapter parameters: parsing the parameters cell and checking -p overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from mscfm.errors import BuildError, ParameterError
from mscfm.pipeline.notebooks import (
    Chapter,
    Parameter,
    convert_value,
    parse_parameters_cell,
    read_chapter,
    resolve_overrides,
    split_assignment,
)

CELL = """
method: str = "REML"  # tau^2 estimator
k_min: int = 2  # fewest studies to pool
alpha: float = 0.05  # significance level
show: bool = True  # draw the figure
groups: list[str] = ["knee OA", "back pain"]  # condition groups
"""


def test_parameters_cell_is_parsed_with_types_defaults_and_docs() -> None:
    params = parse_parameters_cell(CELL, "nb")
    assert list(params) == ["method", "k_min", "alpha", "show", "groups"]
    assert params["k_min"] == Parameter("k_min", "int", 2, "fewest studies to pool")
    assert params["groups"].type == "list[str]"
    assert params["groups"].default == ["knee OA", "back pain"]


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("x = 1\n", "expected `name: type = value"),
        ("x: dict = {}\n", "has type 'dict'"),
        ("x: int = len('a')\n", "must be a literal"),
        ("x: int = \n", "not valid Python"),
    ],
)
def test_bad_parameters_cells_are_refused(source: str, fragment: str) -> None:
    with pytest.raises(BuildError, match=fragment.replace("(", r"\(").replace("`", ".")):
        parse_parameters_cell(source, "nb")


def _chapter(name: str, cell: str = CELL) -> Chapter:
    return Chapter(name, Path(f"{name}.ipynb"), (), 60, parse_parameters_cell(cell, name))


def test_overrides_are_typed_and_reach_every_chapter_declaring_the_name() -> None:
    chapters = [_chapter("07_efficacy"), _chapter("08_safety", 'method: str = "DL"  # m\n')]
    result = resolve_overrides(chapters, ["method=PM", "k_min=3", "groups=a, b", "show=no"])
    assert result["07_efficacy"] == {
        "method": "PM",
        "k_min": 3,
        "groups": ["a", "b"],
        "show": False,
    }
    assert result["08_safety"] == {"method": "PM"}


def test_chapter_targeted_override_touches_one_chapter() -> None:
    chapters = [_chapter("07_efficacy"), _chapter("08_safety", 'method: str = "DL"  # m\n')]
    result = resolve_overrides(chapters, ["08_safety.method=EE"])
    assert result == {"07_efficacy": {}, "08_safety": {"method": "EE"}}


def test_unknown_parameter_names_the_known_ones() -> None:
    with pytest.raises(
        ParameterError, match=r"unknown parameter 'methd'.*known parameters: .*method"
    ):
        resolve_overrides([_chapter("07_efficacy")], ["methd=DL"])


def test_wrong_type_is_refused_with_the_declared_type() -> None:
    with pytest.raises(
        ParameterError, match=r"'k_min' of chapter 07_efficacy must be int; got 'two'"
    ):
        resolve_overrides([_chapter("07_efficacy")], ["k_min=two"])


def test_unknown_chapter_and_missing_equals_sign() -> None:
    with pytest.raises(ParameterError, match="no chapter named '99_x'"):
        resolve_overrides([_chapter("07_efficacy")], ["99_x.method=DL"])
    with pytest.raises(ParameterError, match="expected NAME=VALUE"):
        resolve_overrides([_chapter("07_efficacy")], ["method"])


def test_values_may_contain_equals_signs() -> None:
    assert split_assignment("title=a=b") == (None, "title", "a=b")
    assert convert_value("1.5, 2", "list[float]") == [1.5, 2.0]
    assert convert_value("", "list[str]") == []


def test_every_real_chapter_declares_typed_parameters_and_existing_inputs(
    project_root: Path,
) -> None:
    notebooks = sorted((project_root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks, "no chapter notebooks found"
    for path in notebooks:
        chapter = read_chapter(path)
        assert chapter.parameters, f"{path.name} has no parameters cell"
        for item in chapter.resolved_inputs(chapter.defaults()):
            assert (project_root / item).is_file(), f"{path.name} declares missing input {item}"


def test_an_input_named_by_a_parameter_follows_the_parameter(project_root: Path) -> None:
    chapter = read_chapter(project_root / "notebooks" / "06_trial_landscape.ipynb")
    assert "{registry_table}" in chapter.inputs
    assert "data/registry.csv" in chapter.resolved_inputs(chapter.defaults())
    other = chapter.resolved_inputs({"registry_table": "data/registry_2030-01-01.csv"})
    assert "data/registry_2030-01-01.csv" in other and "data/registry.csv" not in other
    with pytest.raises(ParameterError, match="expected a file under data/"):
        chapter.resolved_inputs({"registry_table": "../secrets.csv"})


def test_a_placeholder_must_name_a_str_parameter(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("k: int = 1  # a number")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["mscfm"] = {"inputs": ["{k}"]}
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(BuildError, match="must name a str parameter"):
        read_chapter(path)
