"""The review's appraisal: PRISMA flow counts from the screening table, risk-of-bias checks and
overall rules, AMSTAR 2, and the figures. Unit tests on small synthetic tables, then checks on
the real data, then (with the session's built book) the chapter in HTML and PDF."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from mscfm import data
from mscfm.appraisal import amstar, risk_of_bias, screening
from mscfm.errors import DataError
from mscfm.plots import review
from mscfm.plots.style import alt_text

# --------------------------------------------------------------------------- synthetic tables


def _screen(rows: list[tuple[str, ...]]) -> pd.DataFrame:
    """The screening table (one row per record, a decision per question) from (question,
    record, record_table, source_group, identified_by, study_id, decision, reason, note)
    tuples."""
    wide: dict[str, dict[str, str]] = {}
    for question, record, table, group, found_by, study, decision, reason, note in rows:
        row = wide.setdefault(record, {
            "record": record, "record_table": table, "source_group": group,
            "identified_by": found_by, "study_id": study, "note": note,
            "fm_decision": "", "fm_reason": "", "cp_decision": "", "cp_reason": ""})
        prefix = screening.PREFIX[question]
        row[f"{prefix}_decision"], row[f"{prefix}_reason"] = decision, reason
        row["study_id"] = row["study_id"] or study
    frame = pd.DataFrame(list(wide.values()))
    return frame.assign(id=[f"SC{i:04d}" for i in range(1, len(frame) + 1)], source="x",
                        locator="y")


SNAP = "registry snapshot"
SEARCHES = pd.DataFrame({"id": ["S01", "S02", "S03"], "n_relevant": [2, 1, 0],
                         "scope": ["preclinical FM model", "preclinical FM model",
                                   "clinical FM"]})
STUDIES = pd.DataFrame({"id": ["t1", "t2"], "design": ["RCT", "single-arm"],
                        "source": ["nct00000001", "nct00000002"]})
SCREEN = _screen([
    ("fm", "NCT00000001", "registry", "registry", SNAP, "", "not relevant", "no FM", ""),
    ("fm", "NCT00000002", "registry", "registry", SNAP, "", "excluded", "exclusion only", ""),
    ("fm", "P1", "preclinical", "archive searches", "S01; S02", "", "included", "model",
     "results not readable: cut off"),
    ("fm", "P2", "preclinical", "archive searches", "S01", "", "included", "model", ""),
    ("chronic_pain", "NCT00000001", "registry", "registry", SNAP, "t1", "included", "held", ""),
    ("chronic_pain", "NCT00000002", "registry", "registry", SNAP, "t2", "included", "held", ""),
    ("chronic_pain", "pub1", "references", "publications", "publication", "t1", "duplicate",
     "second record", ""),
    ("chronic_pain", "ma1", "references", "meta-analyses", "pooled", "", "included", "used", ""),
])


def test_flow_counts_a_synthetic_table() -> None:
    fm = screening.flow(SCREEN, SEARCHES, STUDIES, "fm")
    # 3 hits of two searches for 2 records: 1 duplicate find
    assert fm.identified == {"registry": 2, "archive searches": 3}
    assert (fm.duplicates, fm.screened, fm.not_relevant, fm.assessed) == (1, 4, 1, 3)
    assert fm.excluded == {"exclusion only": 1}
    assert fm.included == {"studies in people with fibromyalgia": 0, "animal studies": 2}
    assert fm.unreadable == 1
    cp = screening.flow(SCREEN, SEARCHES, STUDIES, "chronic_pain")
    assert cp.identified == {"registry": 2, "publications": 1, "meta-analyses": 1}
    assert (cp.duplicates, cp.screened, cp.assessed) == (1, 3, 3)
    assert cp.included == {"randomised trials": 1, "non-randomised studies": 1,
                           "published meta-analyses": 1}


def test_flow_refuses_boxes_that_do_not_add_up() -> None:
    good = screening.flow(SCREEN, SEARCHES, STUDIES, "fm")
    with pytest.raises(DataError, match="screened"):
        dataclasses.replace(good, duplicates=good.duplicates + 1).check()
    with pytest.raises(DataError, match="not relevant"):
        dataclasses.replace(good, assessed=good.assessed + 1).check()


def test_flow_refuses_fewer_recorded_hits_than_records_found() -> None:
    # S01 and S02 record 3 hits for the 2 animal records; with 0 hits recorded the duplicates
    # box would read -2 in the diagram
    no_hits = SEARCHES.assign(n_relevant=[0, 0, 0])
    with pytest.raises(DataError, match="negative box counts"):
        screening.flow(SCREEN, no_hits, STUDIES, "fm")


def test_flow_names_an_unknown_question_and_an_unknown_search() -> None:
    with pytest.raises(DataError, match="unknown review question"):
        screening.flow(SCREEN, SEARCHES, STUDIES, "asthma")
    broken = SCREEN.copy()
    broken.loc[broken["record"] == "P1", "identified_by"] = "S99"
    with pytest.raises(DataError, match="S99"):
        screening.flow(broken, SEARCHES, STUDIES, "fm")
    broken = SCREEN.assign(fm_reason=SCREEN["fm_reason"].where(SCREEN["record"] != "P2", ""))
    with pytest.raises(DataError, match="record P2: fm_decision and fm_reason"):
        screening.flow(broken, SEARCHES, STUDIES, "fm")


def test_new_registry_records_and_searches_show_as_unscreened() -> None:
    registry = pd.DataFrame({"nct_id": ["NCT00000001", "NCT00000002", "NCT00000003"]})
    assert screening.unscreened(SCREEN, registry, "fm") == ["NCT00000003"]
    more = pd.concat([SEARCHES, pd.DataFrame({"id": ["S04"], "n_relevant": [1],
                                              "scope": ["clinical FM"]})])
    assert screening.unscreened_searches(SCREEN, more) == ["S04"]
    assert screening.unscreened_searches(SCREEN, SEARCHES) == []


def _rob(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["study_id", "tool", "domain", "judgment"])
    return frame.assign(id=[f"R{i:03d}" for i in range(1, len(frame) + 1)], reason="r")


def _complete(study: str, tool: str, judgment: str) -> list[tuple[str, str, str, str]]:
    return [(study, tool, domain, judgment) for domain in risk_of_bias.DOMAINS[tool]]


ANIMALS = pd.DataFrame({"id": ["P1"]})
GOOD_ROB = _rob(_complete("t1", "RoB 2", "low") + _complete("t2", "ROBINS-I", "serious")
                + _complete("P1", "SYRCLE", "unclear"))


def test_rob_check_accepts_complete_judgments() -> None:
    risk_of_bias.check(GOOD_ROB, STUDIES, ANIMALS)


@pytest.mark.parametrize(("row", "value", "message"), [
    (0, {"judgment": "moderate"}, r"row 2, column judgment: 'moderate' is not allowed for RoB 2"),
    (0, {"judgment": "unclear"}, "not allowed for RoB 2"),
    (5, {"judgment": "some concerns"}, "not allowed for ROBINS-I"),
    (12, {"judgment": "no information"}, "not allowed for SYRCLE"),
    (0, {"domain": "D9"}, "not a RoB 2 domain"),
    (0, {"tool": "ROBINS-I"}, "judged with RoB 2"),
    (0, {"study_id": "ghost"}, "in neither"),
])
def test_rob_check_names_the_broken_row(row: int, value: dict[str, str], message: str) -> None:
    broken = GOOD_ROB.copy()
    for column, cell in value.items():
        broken.loc[row, column] = cell
    with pytest.raises(DataError, match=message):
        risk_of_bias.check(broken, STUDIES, ANIMALS)


def test_rob_check_wants_every_domain_of_every_clinical_study() -> None:
    with pytest.raises(DataError, match="t1 .*lacks RoB 2 domains D5"):
        risk_of_bias.check(GOOD_ROB[GOOD_ROB["id"] != "R005"], STUDIES, ANIMALS)
    with pytest.raises(DataError, match="judged twice"):
        risk_of_bias.check(pd.concat([GOOD_ROB, GOOD_ROB.iloc[[0]]]), STUDIES, ANIMALS)


@pytest.mark.parametrize(("judgments", "tool", "expected"), [
    (["low"] * 5, "RoB 2", "low"),
    (["low"] * 4 + ["no information"], "RoB 2", "some concerns"),
    (["low", "some concerns", "high", "low", "low"], "RoB 2", "high"),
    (["low", "moderate", "low"], "ROBINS-I", "moderate"),
    (["low", "no information", "serious"], "ROBINS-I", "serious"),
    (["critical", "low"], "ROBINS-I", "critical"),
    (["unclear"], "SYRCLE", None),
])
def test_overall_follows_each_tools_rule(judgments: list[str], tool: str,
                                        expected: str | None) -> None:
    assert risk_of_bias.overall(judgments, tool) == expected


def test_summary_shares_add_to_one() -> None:
    rob = _rob(_complete("a", "RoB 2", "low") + _complete("b", "RoB 2", "high"))
    shares = risk_of_bias.summary(rob, "RoB 2")
    assert list(shares.columns) == ["low", "high"]
    assert shares.sum(axis=1).round(9).eq(1).all()
    assert shares.loc["overall", "high"] == 0.5


def test_certainty_downgrades_must_cite_existing_rob_rows() -> None:
    certainty = pd.DataFrame({"id": ["Q1", "Q2"], "claim_id": ["C1", "C2"],
                              "domain": ["risk_of_bias", "indirectness"],
                              "reason": ["open label (R001, R002)", "other condition"]})
    cited = risk_of_bias.certainty_citations(certainty, GOOD_ROB)
    assert cited.to_dict("records") == [{"id": "Q1", "claim_id": "C1", "rob_rows": "R001, R002"}]
    for reason, message in (("open label", "must cite"), ("see R999", "unknown: R999")):
        broken = certainty.assign(reason=[reason, "other"])
        with pytest.raises(DataError, match=f"row 2, column reason.*{message}"):
            risk_of_bias.certainty_citations(broken, GOOD_ROB)


def _amstar(review_key: str, judgments: dict[str, str] | None = None) -> pd.DataFrame:
    judgments = judgments or {}
    return pd.DataFrame({"review": review_key, "item": list(amstar.CRITICAL_ITEMS),
                         "judgment": [judgments.get(i, "no information")
                                      for i in amstar.CRITICAL_ITEMS],
                         "reason": "abstract only"})


def test_amstar_check_and_summary() -> None:
    table = pd.concat([_amstar("m1"), _amstar("m2", {"A02": "partial yes", "A15": "no"})])
    amstar.check(table, ["m1", "m2"])
    with pytest.raises(DataError, match="m3 needs each critical item"):
        amstar.check(table, ["m1", "m2", "m3"])
    with pytest.raises(DataError, match="A07"):
        amstar.check(table[~((table["review"] == "m1") & (table["item"] == "A07"))], ["m1", "m2"])
    with pytest.raises(DataError, match="m2 is not a meta-analysis"):
        amstar.check(table, ["m1"])
    status = amstar.summary(table).set_index("review")
    assert status.loc["m1", "status"] == "not appraised: abstract only"
    assert status.loc["m2", "status"].startswith("partly appraised (2 of 7")
    assert status.loc["m2", "critical_weaknesses"] == 1


# --------------------------------------------------------------------------- figures


def test_figures_have_alt_text_with_their_numbers() -> None:
    flow = screening.flow(SCREEN, SEARCHES, STUDIES, "fm")
    text = alt_text(review.prisma_flow(screening.boxes(flow), "FM"))
    assert "PRISMA 2020" in text and "screened 4" in text and "animal studies 2" in text
    matrix = risk_of_bias.matrix(GOOD_ROB, "RoB 2")
    text = alt_text(review.traffic_light(matrix, "RoB 2"))
    assert "RoB 2 judgments for 1 study (rows) across 6 columns" in text and "low 6" in text
    shares = {tool: risk_of_bias.summary(GOOD_ROB, tool) for tool in risk_of_bias.TOOLS}
    assert "one panel per tool" in alt_text(review.summary_bars(shares))
    with pytest.raises(ValueError, match="no studies"):
        review.traffic_light(matrix.iloc[0:0], "RoB 2")


# --------------------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    names = ("screening", "searches", "studies", "registry", "risk_of_bias", "preclinical",
             "amstar", "pooled", "references", "certainty")
    return {name: data.load(name) for name in names}


def test_real_flows_add_up_and_equal_the_tables(tables: dict[str, pd.DataFrame]) -> None:
    wide = tables["screening"]
    s = screening.as_long(wide)
    for question in screening.QUESTIONS:
        flow = screening.flow(wide, tables["searches"], tables["studies"], question)
        rows = s[s["question"] == question]
        kept = rows[rows["decision"] != "duplicate"]
        assert flow.identified["registry"] == len(tables["registry"])
        assert flow.screened == len(kept)
        assert flow.not_relevant == (kept["decision"] == "not relevant").sum()
        assert flow.n_excluded == (kept["decision"] == "excluded").sum()
        assert flow.assessed == flow.n_excluded + (kept["decision"] == "included").sum()
    fm = screening.flow(wide, tables["searches"], tables["studies"], "fm")
    assert fm.included["studies in people with fibromyalgia"] == 0
    assert fm.excluded["fibromyalgia only an exclusion criterion"] == \
        (tables["registry"]["fm_mention"] == "eligibility").sum()
    assert fm.identified["archive searches"] == tables["searches"].set_index("id").loc[
        sorted({i for c in s.loc[s["question"] == "fm", "identified_by"]
                for i in screening.search_ids(c)}),
        "n_relevant"].sum()
    cp = screening.flow(wide, tables["searches"], tables["studies"], "chronic_pain")
    designs = tables["studies"]["design"]
    assert cp.included["randomised trials"] == (designs == "RCT").sum()
    assert cp.included["non-randomised studies"] == (designs != "RCT").sum()


def test_every_record_is_screened_once_per_question(tables: dict[str, pd.DataFrame]) -> None:
    wide = tables["screening"]
    s = screening.as_long(wide)
    assert not s.duplicated(["question", "record"]).any()
    for question in screening.QUESTIONS:
        assert screening.unscreened(wide, tables["registry"], question) == []
    assert screening.unscreened_searches(wide, tables["searches"]) == []
    held = set(s.loc[(s["question"] == "chronic_pain") & (s["decision"] == "included"),
                     "study_id"]) - {""}
    assert held == set(tables["studies"]["id"])


def test_every_included_clinical_study_has_a_judgment_per_domain(
        tables: dict[str, pd.DataFrame]) -> None:
    rob = tables["risk_of_bias"]
    risk_of_bias.check(rob, tables["studies"], tables["preclinical"])
    for study in tables["studies"].itertuples():
        tool = risk_of_bias.TOOL_FOR_DESIGN[study.design]
        have = rob.loc[rob["study_id"] == study.id, "domain"]
        assert sorted(have) == sorted(risk_of_bias.DOMAINS[tool]), study.id
    for row in rob.itertuples():
        assert row.judgment in risk_of_bias.JUDGMENTS[row.tool], row.id
        assert str(row.reason).strip() and str(row.locator).strip(), row.id


def test_certainty_rob_downgrades_cite_existing_rob_rows(tables: dict[str, pd.DataFrame]) -> None:
    cited = risk_of_bias.certainty_citations(tables["certainty"], tables["risk_of_bias"])
    assert len(cited) == (tables["certainty"]["domain"] == "risk_of_bias").sum() > 0


def test_every_meta_analysis_used_is_appraised(tables: dict[str, pd.DataFrame]) -> None:
    reviews = amstar.reviews_used(tables["pooled"], tables["references"])
    amstar.check(tables["amstar"], reviews)
    status = amstar.summary(tables["amstar"])
    assert set(status["review"]) == set(reviews)
    assert status["status"].str.len().gt(0).all()


# --------------------------------------------------------------------------- the built book


def test_review_chapter_is_in_html_and_pdf(built_book: Path) -> None:
    from minibook import pdf_path

    from mscfm.pipeline import book

    page = (built_book / book.HTML_DIR / "book" / "_executed" / "13_review.html").read_text(
        encoding="utf-8")
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', page)
    assert sum("PRISMA 2020 flow diagram" in a for a in alts) == 2, alts
    assert sum("Traffic-light chart" in a for a in alts) == 3, alts
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: run `sudo bash scripts/system-deps.sh all`")
    text = subprocess.run(["pdftotext", "-raw", str(pdf_path(built_book)), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "PRISMA 2020 flow diagram for the fibromyalgia question" in flat
    assert "RoB 2 judgments for the randomised trials" in flat
