"""The landing page's module (`mscfm.summary`) on small inputs, and the page's notebook source: its
numbers are all glued, its verdict marks read without colour, its parameters box goes last."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from mscfm import claims, data, efficacy, report, summary
from mscfm.pipeline.execute import PARAMS_MARKER, _tidy_executed
from mscfm.pipeline.notebooks import read_chapter

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_summary.ipynb"
GLUE = re.compile(r"\{glue:(?:text|md)\}`[^`]*`")
ROLE = re.compile(r"\{(?:cite|cite:p|cite:t|doc|ref|numref)\}`[^`]*`")


def _ledger(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["claim_id", "role", "verdict", "certainty", "chapter"]
                        ).assign(claim=lambda f: "Claim " + f["claim_id"] + ".")


def test_every_verdict_has_its_own_mark_beside_its_word() -> None:
    assert set(summary.VERDICT_MARKS) == set(claims.VERDICTS)
    marks = list(summary.VERDICT_MARKS.values())
    assert len(set(marks)) == len(marks) and all(m.strip() for m in marks)
    for verdict in claims.VERDICTS:
        label = summary.verdict_label(verdict)
        assert label == f"{summary.VERDICT_MARKS[verdict]}\u00a0{verdict}"


def test_legend_lists_every_verdict_with_mark_word_meaning_and_a_light_colour() -> None:
    legend = summary.legend()
    assert list(legend["verdict"]) == list(claims.VERDICT_LEVELS)
    assert legend["colour"].is_unique
    for row in legend.itertuples():
        assert row.verdict_label == summary.verdict_label(row.verdict)
        assert row.meaning.lower() == claims.VERDICT_LEVELS[row.verdict].lower()
        channels = [int(row.colour[i:i + 2], 16) for i in (1, 3, 5)]
        assert min(channels) >= 150, f"{row.colour}: too dark for black text"


def test_tint_mixes_with_white() -> None:
    assert summary.tint("#000000", 0.0) == "#FFFFFF"
    assert summary.tint("#0072B2", 1.0) == "#0072B2"
    assert summary.tint("#000000", 0.5) == "#808080"


def test_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="'maybe'|maybe"):
        summary.verdict_label("maybe")


def test_key_findings_are_the_case_claims_in_order() -> None:
    ledger = _ledger([
        ("C03", "case", "unsupported", "no evidence", "05_preclinical"),
        ("C02", "premise", "supported", "established", "02_fibromyalgia"),
        ("C01", "case", "insufficient", "very low", "11_verdicts"),
    ])
    found = summary.key_findings(ledger)
    assert list(found["claim_id"]) == ["C01", "C03"]
    assert list(found["verdict_label"]) == ["?\u00a0insufficient", "–\u00a0unsupported"]
    assert list(found["chapter_number"]) == ["11", "5"]
    assert list(found["colour"]) == summary.verdict_colours(["insufficient", "unsupported"])


def test_headline_agrees_with_its_counts() -> None:
    assert "none of the 14 claims" in summary.headline(14, 0, 0)
    assert "none of the registered MSC trials lists" in summary.headline(14, 0, 0)
    one = summary.headline(14, 1, 1)
    assert "1 of the 14 claims" in one and " is supported" in one
    assert "1 registered MSC trial lists" in one
    two = summary.headline(14, 2, 3)
    assert " are supported" in two and "3 registered MSC trials list " in two


def test_pain_sentence_quotes_the_pooled_estimate_of_chapter_07() -> None:
    outcomes, studies = data.load("outcomes"), data.load("studies")
    analysis = efficacy.analyse(outcomes, studies, "pain", 6.0, "MD", "REML", "knha",
                                "knee OA", "change", combine_value_types=True)
    text = summary.pain_sentence(outcomes, studies)
    r = analysis.result
    assert f"{r.estimate:.1f}" in text and f"{r.ci_lb:.1f} to {r.ci_ub:.1f}" in text
    assert f"the {r.k} controlled trials" in text
    none = summary.pain_sentence(outcomes, studies, summary.PainSettings(timepoint_months=99.0))
    assert "too few to pool" in none and "0 controlled trials" in none


def test_numbers_are_those_of_the_claims_ledger() -> None:
    tables = {name: data.load(name) for name in summary.TABLES}
    values = summary.numbers(tables)
    ledger = claims.ledger(tables["claims"], tables["claim_evidence"], tables["certainty"])
    for name, n in claims.headline_counts(ledger).items():
        assert values[f"s_{name}"] == n
    assert values["s_n_registry"] == len(tables["registry"])
    assert values["s_case_breakdown"] == claims.verdict_breakdown(claims.case_claims(ledger))
    with pytest.raises(ValueError, match="tables missing: registry"):
        summary.numbers({k: v for k, v in tables.items() if k != "registry"})


def test_table_colours_cells_in_html_and_latex() -> None:
    frame = pd.DataFrame({"verdict": ["supported", "mixed"], "colour": ["#A6DDCE", ""]})
    table = report.table(frame, columns=["verdict"], rename={"verdict": "Verdict"},
                         colours={"verdict": "colour"})
    html = table._repr_html_()
    assert "background-color: #A6DDCE" in html and html.count("background-color") == 1
    latex = table._repr_latex_()
    assert "\\cellcolor[HTML]{A6DDCE} supported" in latex and latex.count("cellcolor") == 1
    with pytest.raises(ValueError, match="not #RRGGBB"):
        report.table(frame.assign(colour=["red", ""]), colours={"verdict": "colour"})


# --------------------------------------------------------------------------- the notebook


def _markdown(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_every_number_in_the_landing_prose_is_glued() -> None:
    prose = ROLE.sub("", GLUE.sub("", _markdown(NOTEBOOK)))
    prose = re.sub(r"^\(.*\)=$", "", prose, flags=re.MULTILINE)  # labels
    assert re.findall(r"\d", prose) == [], "a number typed by hand in the landing page"
    glued = {m.split("`")[1].split(":")[0] for m in GLUE.findall(_markdown(NOTEBOOK))}
    tables = {name: data.load(name) for name in summary.TABLES}
    assert glued <= set(summary.numbers(tables)), glued - set(summary.numbers(tables))


def test_landing_page_declares_what_it_reads_and_opens_with_its_findings() -> None:
    chapter = read_chapter(NOTEBOOK)
    assert set(chapter.inputs) == {f"data/{name}.csv" for name in summary.TABLES}
    meta = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["metadata"]["mscfm"]
    assert meta["parameters_box"] == "end"


@pytest.mark.parametrize("at_end", [True, False])
def test_parameters_box_goes_last_when_asked(tmp_path: Path, at_end: bool) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("Findings.")]
    if at_end:
        nb.metadata["mscfm"] = {"parameters_box": "end"}
    path = tmp_path / "00_x.ipynb"
    nbformat.write(nb, path)
    _tidy_executed(path, read_chapter(path), {})
    cells = nbformat.read(path, as_version=4).cells
    position = [i for i, c in enumerate(cells) if c.get("id") == PARAMS_MARKER]
    assert position == ([len(cells) - 1] if at_end else [1])
