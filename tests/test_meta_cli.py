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
    assert {"t", "p", "df", "model"} <= set(out["egger"]) and out["egger"]["df"] == 11
    assert out["egger"]["model"] == "lm"  # bare --egger
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


# --------------------------------------------------------------------------- round two contract

def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


MH = load("mh_peto")
REG = load("metareg")
SUB = load("subgroups")
INFL = load("influence")
EGGER = load("egger")


def csv_from(tmp_path: Path, columns: dict[str, list], name: str = "studies.csv") -> Path:
    names = list(columns)
    lines = [",".join(names)] + [",".join(f'"{v}"' if isinstance(v, str) else repr(v)
                                          for v in row)
                                 for row in zip(*columns.values(), strict=True)]
    return write(tmp_path, "\n".join(lines) + "\n", name)


@pytest.fixture
def niel_csv(tmp_path: Path) -> Path:
    d = MH["nielweise2007"]["data"]
    return csv_from(tmp_path, {k: d[k] for k in ("study", "ai", "n1i", "ci", "n2i")},
                    "nielweise2007.csv")


@pytest.fixture
def bcg_mods_csv(tmp_path: Path) -> Path:
    d = REG["data"]
    return csv_from(tmp_path, {k: d[k] for k in ("study", "yi", "vi", "ablat", "year", "alloc")},
                    "bcg_mods.csv")


@pytest.mark.parametrize(("args", "key"), [
    (["--measure", "OR", "--method", "MH"], "mh_OR"),
    (["--measure", "RR", "--method", "MH"], "mh_RR"),
    (["--measure", "RD", "--method", "MH"], "mh_RD"),
    (["--measure", "OR", "--method", "PETO"], "peto"),
    (["--method", "PETO"], "peto"),
    (["--measure", "OR", "--method", "MH", "--no-drop00"], "mh_OR_keep00"),
    (["--measure", "OR", "--method", "MH", "--level", "90"], "mh_OR_level90"),
    (["--measure", "OR", "--method", "MH", "--level", "0.9"], "mh_OR_level90"),
])
def test_mantel_haenszel_and_peto(niel_csv, capsys, args, key):
    out = run_json(capsys, str(niel_csv), *args)
    ref = MH["nielweise2007"][key]
    for name in ("estimate", "se", "ci_lb", "ci_ub", "Q", "I2"):
        assert out[name] == pytest.approx(ref[name], rel=1e-9), name
    assert out["method"] == ("PETO" if "PETO" in args else "MH")


def test_mods_contract(bcg_mods_csv, capsys):
    out = run_json(capsys, str(bcg_mods_csv), "--mods", "ablat,alloc", "--test", "knha")
    ref = REG["ablat_alloc"]["REML_knha"]
    assert [c["name"] for c in out["coefficients"]] == ref["names"]
    assert set(out["coefficients"][0]) >= {"name", "estimate", "se", "ci_lb", "ci_ub", "p"}
    assert [c["estimate"] for c in out["coefficients"]] == pytest.approx(ref["estimate"],
                                                                         rel=1e-8)
    assert [c["p"] for c in out["coefficients"]] == pytest.approx(ref["pval"], rel=1e-8)
    for ours, theirs in (("QM", "QM"), ("QMp", "QMp"), ("tau2", "tau2"), ("R2", "R2")):
        assert out[ours] == pytest.approx(ref[theirs], rel=1e-8, abs=1e-12), ours


@pytest.mark.parametrize("mode", ["common", "separate"])
def test_subgroup_contract(bcg_mods_csv, capsys, mode):
    out = run_json(capsys, str(bcg_mods_csv), "--subgroup", "alloc", "--subgroup-tau2", mode)
    ref = SUB["REML_z"][mode]
    sg = out["subgroup"]
    assert sg["tau2_mode"] == mode
    assert {"Q_between", "df", "p", "tau2_mode"} <= set(sg)
    assert sg["Q_between"] == pytest.approx(ref["Q_between"], rel=1e-8)
    assert sg["p"] == pytest.approx(ref["p"], rel=1e-8)
    assert sorted(sg["groups"]) == ref["groups"]


def test_subgroup_default_is_common_and_the_text_says_so(bcg_mods_csv, capsys):
    assert run_json(capsys, str(bcg_mods_csv), "--subgroup", "alloc")["subgroup"][
        "tau2_mode"] == "common"
    assert main(["meta", str(bcg_mods_csv), "--subgroup", "alloc"]) == 0
    assert "Subgroups, common tau^2" in capsys.readouterr().out


@pytest.mark.parametrize(("flag", "model", "stat"), [(["--egger"], "lm", "t"),
                                                     (["--egger", "lm"], "lm", "t"),
                                                     (["--egger", "rma"], "rma", "z")])
def test_egger_contract(bcg_mods_csv, capsys, flag, model, stat):
    out = run_json(capsys, str(bcg_mods_csv), *flag)
    ref = EGGER["bcg"]["REML_z"][model]
    assert out["egger"]["model"] == model
    assert out["egger"][stat] == pytest.approx(ref["stat"], rel=1e-8)
    assert out["egger"]["p"] == pytest.approx(ref["p"], rel=1e-8)


def test_influence_contract(bcg_mods_csv, capsys):
    out = run_json(capsys, str(bcg_mods_csv), "--influence")
    rows, ref = out["influence"], INFL["REML_z"]
    assert [r["study"] for r in rows] == REG["data"]["study"]  # input order
    assert {"study", "rstudent", "cooks_d", "hat", "dfbetas"} <= set(rows[0])
    assert [r["rstudent"] for r in rows] == pytest.approx(ref["rstudent"], rel=1e-7)
    assert [r["cooks_d"] for r in rows] == pytest.approx(ref["cooks_d"], rel=1e-7)
    assert [r["hat"] for r in rows] == pytest.approx(ref["hat"], rel=1e-7)
    assert [r["dfbetas"]["intrcpt"] for r in rows] == pytest.approx(
        ref["dfbetas"]["intrcpt"], rel=1e-7)


def test_cumulative_and_rank_test(bcg_mods_csv, capsys):
    out = run_json(capsys, str(bcg_mods_csv), "--cumulative", "year", "--ranktest")
    ref = BCG["cumul_reml_by_year"]
    assert [r["estimate"] for r in out["cumulative"]] == pytest.approx(ref["estimate"],
                                                                       abs=ref["abs_tol"])
    assert out["cumulative"][0]["study"] == "Aronson 1948"
    assert out["ranktest"]["tau"] == pytest.approx(BCG["ranktest"]["tau"], abs=5e-5)
    in_file_order = run_json(capsys, str(bcg_mods_csv), "--cumulative")
    assert [r["study"] for r in in_file_order["cumulative"]] == REG["data"]["study"]


def test_addons_needing_three_studies_say_not_applicable(tmp_path, capsys):
    path = write(tmp_path, "study,yi,vi\nA,0.1,0.02\nB,0.5,0.03\n")
    out = run_json(capsys, str(path), "--egger", "--ranktest", "--trimfill", "--leave1out",
                   "--influence", "--cumulative")
    assert out["k"] == 2 and out["estimate"] is not None
    for key in ("egger", "ranktest", "trimfill", "leave1out", "influence"):
        assert "at least 3" in out[key]["not_applicable"] or "k >= 3" in out[key][
            "not_applicable"], key
    assert len(out["cumulative"]) == 2  # cumulative works from k = 1
    assert main(["meta", str(path), "--egger"]) == 0
    assert "Egger's regression test: not applicable" in capsys.readouterr().out


def test_double_zero_studies_kept_by_default_and_dropped_on_request(niel_csv, capsys):
    kept = run_json(capsys, str(niel_csv), "--measure", "RR")
    dropped = run_json(capsys, str(niel_csv), "--measure", "RR", "--drop00")
    assert kept["k"] == 18 and kept["drop00"] is False and kept["dropped"] == []
    assert dropped["k"] == 17 and dropped["drop00"] is True and len(dropped["dropped"]) == 1
    ref = load("escalc_drop00")
    assert kept["estimate"] == pytest.approx(ref["RR_default"]["rma_reml"]["estimate"],
                                             rel=1e-8)
    assert dropped["estimate"] == pytest.approx(ref["RR_drop00"]["rma_reml"]["estimate"],
                                                rel=1e-8)


def test_text_output_of_mh_and_mods(niel_csv, bcg_mods_csv, capsys):
    assert main(["meta", str(niel_csv), "--measure", "OR", "--method", "MH"]) == 0
    text = capsys.readouterr().out
    assert "Mantel-Haenszel method" in text and "Tarone" in text
    assert main(["meta", str(bcg_mods_csv), "--mods", "ablat,year"]) == 0
    text = capsys.readouterr().out
    assert "Test of Moderators" in text and "ablat" in text and "R^2" in text


# --------------------------------------------------------------------------- hostile input

@pytest.mark.parametrize(("content", "args", "match"), [
    ("yi,vi,yi\n0.1,0.1,0.3\n0.2,0.1,0.4\n", [], r"duplicate column 'yi' \(columns 1 and 3\)"),
    ("yi,vi\n1e308,1\n-1e308,1\n1e308,1\n", [], r"not finite"),
    ("yi,vi\n1e308,1\n-1e308,1\n1e308,1\n", ["--method", "EE"], r"not finite"),
    ("yi,vi\n0.1,1e-320\n0.2,0.1\n0.3,0.1\n", [], r"row 2, column 'vi'|too small"),
    ("yi,vi\n0.1,1e-300\n1e300,1e-300\n0.3,1\n", [], r"not finite"),
    ("yi,vi\n1_000,0.1\n0.2,0.1\n", [], r"row 2, column 'yi'.*'1_000'"),
    ("yi,vi\n0.1,0.1\n0.2,inf\n", [], r"row 3, column 'vi'.*'inf'"),
    ("yi,vi\n0.1,0.1\n,\n0.2,0.1\n", [], r"row 3: empty row"),
    ("yi,vi,dose\n0.1,0.1,1_0\n0.2,0.1,20\n0.3,0.2,30\n0.4,0.1,40\n", ["--mods", "dose"],
     r"row 2, column 'dose'.*'1_0'"),
    ("ai,n1i,ci,n2i\n0,10,0,10\n0,12,0,11\n", ["--measure", "OR", "--method", "MH"],
     r"odds ratio is undefined"),
    ("yi,vi\n0.1,0.1\n0.2,0.1\n", ["--method", "MH"], r"--measure must be OR, RR or RD"),
    ("yi,vi\n0.1,0.1\n0.2,0.1\n", ["--mods", "x"], r"missing column 'x'"),
])
def test_hostile_input_is_refused_in_one_line(tmp_path, capsys, content, args, match):
    path = write(tmp_path, content)
    for extra in ([], ["--json"]):
        code = main(["meta", str(path), *args, *extra])
        captured = capsys.readouterr()
        assert code == 2, captured.out
        assert captured.out == ""  # nothing printed on stdout, so no number reaches a pipe
        assert len(captured.err.strip().splitlines()) == 1
        assert __import__("re").search(match, captured.err), captured.err


def test_a_non_finite_add_on_is_never_printed_with_exit_0(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "yi,vi\n0.1,0.1\n0.2,0.2\n0.4,0.1\n")
    from mscfm.meta import bias
    real = bias.rank_test
    monkeypatch.setattr("mscfm.meta.rank_test",
                        lambda r: __import__("dataclasses").replace(real(r), tau=float("nan")))
    assert main(["meta", str(path), "--ranktest", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "ranktest.tau" in captured.err
