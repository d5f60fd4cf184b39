"""`mscfm meta` end to end through mscfm.cli.main, including every bad-input error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mscfm.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"
BCG = json.loads((FIXTURES / "bcg.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, text: str, name: str = "studies.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    d = BCG["data"]
    lines = ["study,ai,bi,ci,di"] + [
        f'"{a} {y}",{t},{tn},{c},{cn}' for a, y, t, tn, c, cn in
        zip(d["author"], d["year"], d["tpos"], d["tneg"], d["cpos"], d["cneg"], strict=True)]
    return write(tmp_path, "\n".join(lines) + "\n", "bcg.csv")


def run_json(capsys, *args: str) -> dict:
    assert main(["meta", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_matches_metafor_reml_and_has_the_contract_keys(bcg_csv, capsys):
    out = run_json(capsys, str(bcg_csv), "--measure", "RR", "--method", "REML",
                   "--egger", "--trimfill", "--leave1out")
    for key in ("k", "estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "I2", "Q"):
        assert key in out
    ref = BCG["rma_reml"]
    assert out["k"] == 13
    assert out["estimate"] == pytest.approx(ref["estimate"], abs=ref["abs_tol"])
    assert out["tau2"] == pytest.approx(BCG["rma_reml_full"]["tau2"], rel=1e-6)
    assert set(out["egger"]) == {"t", "p", "df"} and out["egger"]["df"] == 11
    tf = BCG["trimfill_reml"]
    assert out["trimfill"]["k0"] == tf["k0"] and out["trimfill"]["side"] == tf["side"]
    assert out["trimfill"]["estimate"] == pytest.approx(tf["estimate"], abs=tf["abs_tol"])
    loo = BCG["leave1out_reml"]
    assert [row["estimate"] for row in out["leave1out"]] == pytest.approx(
        [row[0] for row in loo["rows"]], abs=loo["abs_tol"])
    assert {"estimate", "tau2", "I2"} <= set(out["leave1out"][0])


def test_events_and_totals_layout_and_ee(tmp_path, capsys):
    d = BCG["data"]
    lines = ["ai,n1i,ci,n2i"] + [f"{t},{t + tn},{c},{c + cn}" for t, tn, c, cn in
                                 zip(d["tpos"], d["tneg"], d["cpos"], d["cneg"], strict=True)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    out = run_json(capsys, str(path), "--measure", "RR", "--method", "EE")
    assert out["estimate"] == pytest.approx(BCG["rma_ee"]["estimate"], abs=5e-5)
    assert out["tau2"] == 0


def test_smd_and_knha(tmp_path, capsys):
    path = write(tmp_path, "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,10,2,20,8,2,20\n"
                           "B,11,3,25,8,3,25\nC,9,2,30,9,2,30\n")
    out = run_json(capsys, str(path), "--measure", "SMD", "--method", "DL", "--test", "knha")
    assert out["test"] == "knha" and out["k"] == 3


def test_readable_summary_like_metafor(bcg_csv, capsys):
    assert main(["meta", str(bcg_csv), "--measure", "RR", "--trimfill"]) == 0
    text = capsys.readouterr().out
    assert "Random-Effects Model (tau^2 estimator: REML)" in text
    assert "Q(df = 12) = 152.2330" in text
    assert "-0.7145" in text and "Back-transformed (RR)" in text
    assert "1 study imputed on the right" in text


@pytest.mark.parametrize(("content", "args", "match"), [
    ("yi\n0.1\n0.2\n", [], r"studies.csv: missing column 'vi'"),
    ("yi,vi\n0.1,0.1\n0.2,-0.1\n", [], r"studies.csv: row 3, column 'vi'.*positive"),
    ("m1i,sd1i,n1i,m2i,sd2i,n2i\n1,1,10,1,1,10\n1,0,10,1,1,10\n", ["--measure", "SMD"],
     r"row 3, column 'sd1i'"),
    ("ai,n1i,ci,n2i\n3,10,2,10\n12,10,2,10\n", ["--measure", "RR"],
     r"row 3, column 'ai'.*events <= n1i"),
    ("yi,vi\n0.1,0.1\n", ["--method", "REML"], r"at least 2 studies"),
    ("yi,vi\n0.1,0.1\n0.2,abc\n", [], r"row 3, column 'vi'.*expected a number"),
    ("yi,vi\n0.1,0.1\n0.2,\n", [], r"row 3, column 'vi'.*empty"),
    ("", [], r"empty"),
    ("yi,vi\n0.1,0.1,9\n", [], r"row 2: more cells"),
])
def test_bad_input_is_one_line_naming_file_row_column(tmp_path, capsys, content, args, match):
    path = write(tmp_path, content)
    code = main(["meta", str(path), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mscfm meta: error: ")
    assert len(err.strip().splitlines()) == 1
    assert __import__("re").search(match, err), err


def test_unreadable_file(tmp_path, capsys):
    assert main(["meta", str(tmp_path / "nope.csv")]) == 2
    assert "cannot read the CSV file" in capsys.readouterr().err
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81yi,vi\n")
    assert main(["meta", str(binary)]) == 2
    assert "bin.csv" in capsys.readouterr().err
