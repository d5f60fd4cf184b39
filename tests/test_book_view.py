"""Outside the book a chapter shows its figures and key numbers as outputs; the book shows each
figure once, where the prose pastes it, and no key numbers. The outputs here are made by the
real `mscfm.report` calls in an IPython shell, and read back with myst-nb's own glue reader."""

from __future__ import annotations

import copy

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from myst_nb.ext.glue import extract_glue_data_cell

from mscfm.book_view import GLUE_PREFIX, book_view, book_view_source, is_notebook_only


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_cell("from IPython.display import Markdown\nfrom mscfm import report\n"
                "from mscfm.plots.style import new_figure, set_alt_text\n"
                "report.setup()\nreport.setup()")  # twice, as a re-run cell would
    return ip


def _run(shell: InteractiveShell, code: str) -> list[dict]:
    """The cell's display outputs as nbformat would store them."""
    with capture_output() as captured:
        result = shell.run_cell(code)
    result.raise_error()
    return [nbformat.v4.new_output("display_data", data=o.data, metadata=o.metadata)
            for o in captured.outputs]


def _cell(outputs: list[dict]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = outputs
    return cell


FIGURE = ("fig, ax = new_figure(height=2)\nax.plot([1, 2])\n"
          "set_alt_text(fig, 'A rising line')\nreport.glue_figure('fig_line', fig)")


def test_a_glued_figure_is_an_ordinary_image_output(shell: InteractiveShell) -> None:
    outputs = _run(shell, FIGURE)
    assert [sorted(o["data"]) for o in outputs] == [["image/png", "text/plain"]]
    assert outputs[0]["metadata"]["scrapbook"]["name"] == "fig_line"


def test_the_book_keeps_the_figure_for_its_directive_and_shows_it_nowhere_else(
    shell: InteractiveShell,
) -> None:
    notebook = nbformat.v4.new_notebook(cells=[_cell(_run(shell, FIGURE))])
    assert book_view(notebook) is True
    cell = notebook.cells[0]
    assert all(key.startswith(GLUE_PREFIX) for key in cell.outputs[0]["data"])
    glued = extract_glue_data_cell(cell)  # what myst-nb reads before rendering
    assert [key for key, _ in glued] == ["fig_line"]
    assert "image/png" in glued[0][1]["data"]
    assert cell.outputs == []  # nothing left for myst-nb to render in the cell itself


def test_without_the_book_view_myst_nb_would_show_the_figure_twice(
    shell: InteractiveShell,
) -> None:
    cell = _cell(_run(shell, FIGURE))
    glued = extract_glue_data_cell(cell)
    assert [key for key, _ in glued] == ["fig_line"] and len(cell.outputs) == 1


def test_a_cell_that_glues_numbers_lists_them_under_it(shell: InteractiveShell) -> None:
    outputs = _run(shell, "report.glue_number('n_trials', 12)\n"
                          "report.glue_number('share', 26.700000000000003)\n"
                          "report.glue_number('month', '2022-10')\n"
                          "report.glue_number('note', Markdown('*knee OA* <b>x</b> & y'))")
    listed = [o for o in outputs if is_notebook_only(o)]
    assert len(listed) == 1 and outputs[-1] is listed[0]  # one table, after the cell's glue
    assert listed[0]["metadata"]["mscfm"]["names"] == ["n_trials", "share", "month", "note"]
    html = listed[0]["data"]["text/html"]
    assert "<code>n_trials</code>" in html and ">12<" in html and ">26.7<" in html
    assert ">2022-10<" in html  # as {glue:text} shows a string: no quotes
    assert "<em>knee OA</em>" in html  # {glue:md} values render as the prose shows them
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt; &amp; y" in html  # data never markup
    assert listed[0]["data"]["text/plain"].splitlines()[0] == "n_trials = 12"


def test_a_cell_that_glues_nothing_lists_nothing(shell: InteractiveShell) -> None:
    assert _run(shell, "x = 1") == []


def test_numbers_of_a_failed_cell_do_not_leak_into_the_next(shell: InteractiveShell) -> None:
    with capture_output():
        shell.run_cell("report.glue_number('lost', 1)\nraise ValueError('stop')")
    outputs = _run(shell, "report.glue_number('kept', 2)")
    assert [o["metadata"]["mscfm"]["names"] for o in outputs if is_notebook_only(o)] == [["kept"]]


def test_the_book_drops_key_numbers_and_leaves_other_outputs_alone(
    shell: InteractiveShell,
) -> None:
    table = nbformat.v4.new_output("execute_result", data={"text/plain": "a table"},
                                   execution_count=1)
    numbers = _run(shell, "report.glue_number('k', 2)")
    notebook = nbformat.v4.new_notebook(cells=[_cell([*numbers, table])])
    assert book_view(notebook) is True
    outputs = notebook.cells[0].outputs
    assert not any(is_notebook_only(o) for o in outputs)
    assert outputs[-1] == table and outputs[0]["metadata"]["scrapbook"]["name"] == "k"


def test_a_notebook_without_such_outputs_is_returned_unchanged() -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
    text = nbformat.writes(notebook)
    assert book_view_source(text) == text
    assert book_view(copy.deepcopy(notebook)) is False
