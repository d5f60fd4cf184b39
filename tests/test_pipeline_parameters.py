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


# --------------------------------------------------------------------------- allowed values

CHOICES = '''from typing import Literal

method: Literal["EE", "DL", "REML", "PM"] = "REML"  # tau^2 estimator
alpha: float = 0.05  # significance level, in (0, 0.5]
k: int = 2  # fewest studies, in [1, inf)
measures: list[Literal["RR", "OR"]] = ["RR"]  # ratio measures
'''


def test_literal_types_and_ranges_are_read_from_the_cell() -> None:
    params = parse_parameters_cell(CHOICES, "nb")
    assert params["method"].type == "str"
    assert params["method"].choices == ("EE", "DL", "REML", "PM")
    assert str(params["alpha"].range) == "(0, 0.5]"
    assert params["measures"].type == "list[str]" and params["measures"].choices == ("RR", "OR")
    assert params["k"].allowed() == "in [1, inf)"


@pytest.mark.parametrize(("assignment", "fragment"), [
    ("method=XYZ", "'method' of chapter 07_efficacy: 'XYZ' is not allowed; expected one of EE, "
                   "DL, REML, PM"),
    ("alpha=0.7", "'alpha' of chapter 07_efficacy: 0.7 is out of range; expected in (0, 0.5]"),
    ("alpha=0", "0.0 is out of range"),
    ("k=0", "'k' of chapter 07_efficacy: 0 is out of range; expected in [1, inf)"),
    ("measures=RR,HR", "'HR' is not allowed; expected one of RR, OR"),
])
def test_a_bad_choice_or_out_of_range_value_is_refused(assignment: str, fragment: str) -> None:
    chapter = _chapter("07_efficacy", CHOICES)
    with pytest.raises(ParameterError) as err:
        resolve_overrides([chapter], [assignment])
    assert fragment in str(err.value)


def test_allowed_values_pass() -> None:
    chapter = _chapter("07_efficacy", CHOICES)
    assert resolve_overrides([chapter], ["method=DL", "alpha=0.5", "measures=OR"]) == {
        "07_efficacy": {"method": "DL", "alpha": 0.5, "measures": ["OR"]}}


@pytest.mark.parametrize(("source", "fragment"), [
    ("sd: float = 'abc'  # an SD\n", "parameter 'sd' default 'abc' is not of its declared type "
                                      "float"),
    ("n: int = 1.5  # a count\n", "default 1.5 is not of its declared type int"),
    ("flag: bool = 1  # a flag\n", "default 1 is not of its declared type bool"),
    ("xs: list[int] = [1, 'a']  # counts\n", "is not of its declared type list[int]"),
    ('m: Literal["A", "B"] = "C"  # a choice\n', "parameter 'm' default: 'C' is not allowed"),
    ("p: float = 2.0  # a share, in [0, 1]\n", "parameter 'p' default: 2.0 is out of range"),
    ('s: str = "x"  # text, in [0, 1]\n', "a range (in [0, 1]) needs a number type"),
    ('m: Literal["A", 1] = "A"  # mixed\n', "strings or integers (all of one kind)"),
])
def test_defaults_are_checked_against_their_declaration(source: str, fragment: str) -> None:
    with pytest.raises(BuildError) as err:
        parse_parameters_cell(source, "notebooks/07_x.ipynb")
    assert "notebooks/07_x.ipynb" in str(err.value) and fragment in str(err.value)


def test_a_100_kb_value_is_shortened_in_the_message() -> None:
    chapter = _chapter("07_efficacy")
    with pytest.raises(ParameterError) as err:
        resolve_overrides([chapter], ["k_min=" + "9x" * 50_000])
    assert len(str(err.value)) < 400 and "characters" in str(err.value)


# --------------------------------------------------------------------------- hostile notebooks


def _write(tmp_path: Path, content: object) -> Path:
    import json

    path = tmp_path / "01_x.ipynb"
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def _nb(meta: object = None, cells: object = None) -> dict:
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [],
            "source": "k: int = 1  # a number", "execution_count": None}
    return {"nbformat": 4, "nbformat_minor": 5, "cells": [cell] if cells is None else cells,
            "metadata": {} if meta is None else {"mscfm": meta}}


@pytest.mark.parametrize(("content", "fragment"), [
    ("[1, 2]", "not a notebook (expected a JSON object with a 'cells' list)"),
    ({"cells": {"a": 1}}, "not a notebook"),
    ("{not json", "not a readable notebook"),
    (_nb(cells=[3]), "cell 0 is not a JSON object"),
    (_nb(cells=[{"metadata": {"tags": "parameters"}, "source": ""}]),
     "cell 0: metadata.tags must be a list"),
    ({"cells": [], "metadata": []}, "metadata must be a JSON object"),
    (_nb("data/x.csv"), "metadata mscfm must be a JSON object"),
    (_nb({"inputs": "data/values.csv"}), "metadata mscfm.inputs must be a list of paths, not str"),
    (_nb({"inputs": [1]}), "metadata mscfm.inputs entry 1 must be a data/ path"),
    (_nb({"timeout": "soon"}), "metadata mscfm.timeout must be a positive whole number"),
    (_nb({"timeout": True}), "metadata mscfm.timeout must be a positive whole number"),
])
def test_a_notebook_of_the_wrong_shape_is_refused_naming_the_field(
    tmp_path: Path, content: object, fragment: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(BuildError) as err:
        read_chapter(path)
    message = str(err.value)
    assert str(path) in message and fragment in message, message
    assert "\n" not in message


# --------------------------------------------------------------------------- mscfm params


def test_params_lists_types_defaults_and_allowed_values(
    project_root: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mscfm.cli import main

    monkeypatch.setenv("MSCFM_ROOT", str(project_root))
    assert main(["params", "07"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("07_efficacy: parameters")
    method = next(line for line in out.splitlines() if line.startswith("method"))
    assert "REML" in method and "one of EE, DL, REML, PM" in method and "tau^2" in method
    assert main(["params", "99"]) == 2


def test_a_bad_choice_exits_2_before_any_kernel_starts(
    mini_project: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from mscfm.cli import main
    from mscfm.pipeline import build

    path = mini_project / "notebooks" / "01_good.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][1]["source"] = ('from typing import Literal\n\nscale: float = 1.0  # factor, '
                                'in (0, 10]\nlabel: Literal["values", "totals"] = "values"  # name')
    path.write_text(json.dumps(nb), encoding="utf-8")

    def no_kernel(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(build, "executor_for", no_kernel)
    for value, fragment in (("label=XYZ", "parameter 'label' of chapter 01_good: 'XYZ' is not "
                                          "allowed; expected one of values, totals"),
                            ("scale=11", "parameter 'scale' of chapter 01_good: 11.0 is out of "
                                         "range; expected in (0, 10]")):
        assert main(["build", "--no-pdf", "-p", value]) == 2
        err = capfd.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and fragment in err, err
    assert main(["sweep", "01", "-p", "label=values,XYZ"]) == 2
    assert "'XYZ' is not allowed" in capfd.readouterr().err


# --------------------------------------------------------------------------- values in a page

HOSTILE = ["<img src=x onerror=alert(1)>", "$x$ and $$y$$", "a | b", "``` fence", "{glue:text}`k`",
           "\\textbf{x} 50% #3"]


def _render(markdown: str) -> str:
    """Markdown as MyST renders it for the book: raw HTML allowed, dollar math, tables."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    return MarkdownIt("commonmark", {"html": True}).enable("table").use(
        dollarmath_plugin).render(markdown)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_parameter_value_is_shown_verbatim_in_the_colophon_and_the_box(value: str) -> None:
    import html

    from mscfm import colophon
    from mscfm.pipeline.execute import parameters_table

    run = colophon.ChapterRun("07_efficacy", {"method": value}, {"method": "REML"})
    page = _render("\n".join(colophon._parameters_section([run])))
    chapter = _chapter("07_efficacy", 'method: str = "REML"  # estimator\n')
    box = _render("\n".join(parameters_table(chapter, {"method": value}).splitlines()[3:-1]))
    for rendered in (page, box):
        assert "<img" not in rendered and "math" not in rendered
        assert f"<code>{html.escape(value, quote=False)}</code>" in rendered.replace(
            "<code> ", "<code>").replace(" </code>", "</code>"), rendered
