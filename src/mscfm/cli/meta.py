"""`mscfm meta FILE.csv`: pool the studies of a CSV that uses metafor's escalc column names.

Columns by measure (an optional ``study`` column labels the rows):

- GEN: ``yi, vi``
- RR, OR, RD: ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i`` (group 1 = treatment)
- SMD, MD: ``m1i, sd1i, n1i, m2i, sd2i, n2i``

Further columns can be named as moderators (``--mods``), the subgroup (``--subgroup``) or the
order of a cumulative analysis (``--cumulative``). Rows are numbered as a spreadsheet shows them
(header = row 1) in error messages. Numbers must be plain decimals (``1_000``, ``nan`` and
``inf`` are refused), and no number that is not finite is ever printed: such a result is an
error (exit 2). An add-on that the data do not allow (say, Egger's test with k = 2) is reported
as ``{"not_applicable": reason}`` while the rest of the output stands.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mscfm import effects, meta
from mscfm.errors import InputError

FIRST_DATA_ROW = 2  # the header is row 1
IV_METHODS = meta.METHODS  # inverse-variance models (rma)
METHODS = (*IV_METHODS, "MH", "PETO")
BINARY = ("RR", "OR", "RD")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "meta", help="meta-analysis of a CSV of studies (metafor-compatible)",
        description="Pool the studies in FILE.csv with an equal- or random-effects model, a "
                    "meta-regression, or Mantel-Haenszel / Peto for 2x2 tables. Columns use "
                    "metafor's escalc names: yi, vi (GEN); ai, bi, ci, di or ai, n1i, ci, n2i "
                    "(RR, OR, RD); m1i, sd1i, n1i, m2i, sd2i, n2i (SMD, MD); optional 'study' "
                    "labels. Ratio measures are reported on the log scale.")
    parser.add_argument("file", metavar="FILE.csv", type=Path, help="one row per study")
    parser.add_argument("--measure", choices=effects.MEASURES, default=None,
                        help="effect measure (default: GEN, precomputed yi and vi; OR with "
                             "--method PETO)")
    parser.add_argument("--method", choices=METHODS, default="REML",
                        help="tau^2 estimator, EE for equal effects, or MH (Mantel-Haenszel: "
                             "OR, RR, RD) or PETO (OR) for 2x2 tables (default: REML)")
    parser.add_argument("--test", choices=meta.TESTS, default="z",
                        help="z, or Knapp-Hartung t (knha) (default: z)")
    parser.add_argument("--level", type=_level, default=0.95, metavar="L",
                        help="confidence level, as 0.95 or 95 (default: 95%%)")
    parser.add_argument("--drop00", action=argparse.BooleanOptionalAction, default=None,
                        help="drop studies with no events (or only events) in both groups; "
                             "default as metafor: kept (with 1/2 added) for EE/DL/REML/PM, "
                             "left out of Q for MH and PETO")
    parser.add_argument("--mods", type=_names, default=None, metavar="A,B",
                        help="moderator columns for a meta-regression (text columns are "
                             "factors, coded against their first level in sorted order)")
    parser.add_argument("--subgroup", metavar="COL", default=None,
                        help="column of subgroups: per-group models and a test of differences")
    parser.add_argument("--subgroup-tau2", choices=meta.TAU2_MODES, default="common",
                        help="one tau^2 for all subgroups (common, metafor's mods=~factor(g)) "
                             "or one per subgroup (separate, RevMan's) (default: common)")
    parser.add_argument("--egger", nargs="?", const="lm", choices=meta.EGGER_MODELS,
                        default=None, help="Egger's regression test: lm (the default when "
                                           "given bare) or rma (metafor's regtest default)")
    parser.add_argument("--ranktest", action="store_true", help="Begg's rank correlation test")
    parser.add_argument("--trimfill", action="store_true", help="trim-and-fill (L0)")
    parser.add_argument("--trimfill-refit", choices=meta.TRIMFILL_REFITS, default="z",
                        help="test of the model on the filled data: z (as metafor) or the "
                             "model's own test (default: z)")
    parser.add_argument("--leave1out", action="store_true", help="leave-one-out analysis")
    parser.add_argument("--cumulative", nargs="?", const="", default=None, metavar="COL",
                        help="cumulative meta-analysis, in the order of column COL (e.g. "
                             "year) or, given bare, in file order")
    parser.add_argument("--influence", action="store_true",
                        help="influence diagnostics (rstudent, Cook's d, hat, DFBETAS)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 95 or 0.95, got {text!r}"
                                         ) from None
    if 1 < value < 100:
        value /= 100
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a level between 0 and 1 or between 1 and "
                                         f"100 (percent), got {text!r}")
    return value


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected column names separated by commas")
    return names


# --------------------------------------------------------------------------- reading

def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV; an unreadable, empty or ambiguous file is an InputError."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            table = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the CSV file ({exc})") from None
    if not table or not any(cell.strip() for cell in table[0]):
        raise InputError(f"{path}: the file is empty (expected a header row)")
    header = [name.strip() for name in table[0]]
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name in seen:
            raise InputError(f"{path}: duplicate column '{name}' (columns {seen[name] + 1} and "
                             f"{j + 1}): it is not clear which one to use")
        seen[name] = j
    body = table[1:]
    while body and not any(cell.strip() for cell in body[-1]):
        body.pop()  # trailing blank lines
    if not body:
        raise InputError(f"{path}: no data rows below the header")
    rows = []
    for i, cells in enumerate(body):
        if not any(cell.strip() for cell in cells):
            raise InputError(f"{path}: row {i + FIRST_DATA_ROW}: empty row (expected one study "
                             f"per row)")
        if len(cells) > len(header):
            raise InputError(f"{path}: row {i + FIRST_DATA_ROW}: more cells than header "
                             f"columns")
        cells = cells + [""] * (len(header) - len(cells))
        rows.append({name: cell.strip() for name, cell in zip(header, cells, strict=True)})
    return header, rows


def _needed(measure: str, header: list[str]) -> tuple[str, ...]:
    if measure == "GEN":
        return ("yi", "vi")
    if measure in ("SMD", "MD"):
        return ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    if "bi" in header or "di" in header:
        return ("ai", "bi", "ci", "di")
    return ("ai", "n1i", "ci", "n2i")


def _columns(path: Path, header: list[str], rows: list[dict[str, str]], names: tuple[str, ...],
             why: str) -> dict[str, list[str]]:
    missing = [name for name in names if name not in header]
    if missing:
        raise InputError(f"{path}: missing column '{missing[0]}' ({why} needs "
                         f"{', '.join(names)}; found {', '.join(header)})")
    for name in names:
        for i, row in enumerate(rows):
            if row[name] == "":
                raise InputError(f"{path}: row {i + FIRST_DATA_ROW}, column '{name}': empty "
                                 f"cell (expected a value)")
    return {name: [row[name] for row in rows] for name in names}


def _labels(header: list[str], rows: list[dict[str, str]]) -> list[str] | None:
    if "study" not in header:
        return None
    return [row["study"] or f"Study {i + 1}" for i, row in enumerate(rows)]


def _moderator(path: Path, name: str, values: list[str]) -> list[Any]:
    """Numbers when every cell is a plain number, else text (a factor); a column of numbers
    written in a form Python accepts but a spreadsheet does not (``1_000``) is refused."""
    plain = [bool(effects.PLAIN_NUMBER.fullmatch(v)) for v in values]
    if all(plain):
        return [float(v) for v in values]
    for i, (value, ok) in enumerate(zip(values, plain, strict=True)):
        if not ok and _python_float(value):
            raise InputError(f"{path}: row {i + FIRST_DATA_ROW}, column '{name}': expected a "
                             f"number (plain decimal such as 12, -0.5 or 1e-3) or text, got "
                             f"{value!r}")
    return values


def _python_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def effect_sizes(path: Path, measure: str, drop00: bool = False
                 ) -> tuple[effects.EffectSizes, list[str], list[dict[str, str]]]:
    """Effect sizes of the file (and its header and rows for the extra columns)."""
    header, rows = read_table(path)
    needed = _needed(measure, header)
    columns = _columns(path, header, rows, needed, f"measure {measure}")
    options: dict[str, Any] = {"drop00": drop00} if measure in BINARY else {}
    es = effects.escalc(measure, **columns, labels=_labels(header, rows), source=str(path),
                        first_row=FIRST_DATA_ROW, **options)
    return es, header, rows


# --------------------------------------------------------------------------- analyses

def not_applicable(reason: str) -> dict[str, str]:
    return {"not_applicable": reason}


def _addon(run_it: Callable[[], Any]) -> Any:
    """The add-on's output, or why it does not apply (k too small, degenerate data)."""
    try:
        return run_it()
    except InputError as exc:
        return not_applicable(str(exc))


def analyse(args: argparse.Namespace) -> dict:
    """Every requested analysis as a JSON-able dict (numbers may still be non-finite: the
    caller refuses those)."""
    method = args.method
    measure = args.measure or ("OR" if method == "PETO" else "GEN")
    if method in ("MH", "PETO"):
        return _analyse_binary(args, measure)
    drop00 = bool(args.drop00)
    es, header, rows = effect_sizes(args.file, measure, drop00)
    kept = list(es.kept_rows)
    if args.mods:
        return _analyse_mods(args, es, header, rows, kept)
    if method != "EE" and es.k < 2:
        raise InputError(f"{args.file}: a random-effects model ({method}) needs at least "
                         f"2 studies, found {es.k}"
                         + (f" after dropping {len(es.dropped)} double-zero"
                            if es.dropped else ""))
    result = meta.rma(es.yi, es.vi, method=method, test=args.test, level=args.level,
                      labels=es.labels, measure=es.measure)
    out: dict[str, Any] = {**result.summary(), "drop00": drop00, "dropped": list(es.dropped),
                           "_result": result}
    if args.subgroup:
        column = _columns(args.file, header, rows, (args.subgroup,), "--subgroup")
        groups = [column[args.subgroup][i] for i in kept]
        out["subgroup"] = _addon(lambda: _subgroup(es, groups, args))
    if args.egger:
        out["egger"] = _addon(lambda: meta.egger_test(result, model=args.egger).summary())
    if args.ranktest:
        out["ranktest"] = _addon(lambda: meta.rank_test(result).to_dict())
    if args.trimfill:
        out["trimfill"] = _addon(lambda: _trimfill(result, args.trimfill_refit))
    if args.leave1out:
        out["leave1out"] = _addon(lambda: [_study_row(row) for row in meta.leave1out(result)])
    if args.cumulative is not None:
        order = None
        if args.cumulative:
            column = _columns(args.file, header, rows, (args.cumulative,), "--cumulative")
            order = effects.as_numbers(column[args.cumulative], args.cumulative,
                                       str(args.file), FIRST_DATA_ROW)[kept]
        out["cumulative"] = _addon(lambda: [_study_row(row)
                                            for row in meta.cumulative(result, order)])
    if args.influence:
        out["influence"] = _addon(lambda: _influence(result))
    return out


def _subgroup(es: effects.EffectSizes, groups: list[str], args: argparse.Namespace) -> dict:
    sg = meta.subgroups(es.yi, es.vi, groups, method=args.method, test=args.test,
                        level=args.level, labels=es.labels, measure=es.measure,
                        tau2_mode=args.subgroup_tau2)
    return {"Q_between": sg.Q_between, "df": sg.df, "p": sg.p, "tau2_mode": sg.tau2_mode,
            "statistic": sg.statistic, "df2": sg.df2, "tau2": sg.tau2,
            "groups": {name: {key: r.summary()[key] for key in (
                "k", "estimate", "se", "ci_lb", "ci_ub", "tau2", "I2")}
                for name, r in sg.groups.items()}}


def _trimfill(result: meta.MetaResult, refit: str) -> dict:
    tf = meta.trimfill(result, refit=refit)
    return {"k0": tf.k0, "side": tf.side, "estimate": tf.result.estimate, "se": tf.result.se,
            "ci_lb": tf.result.ci_lb, "ci_ub": tf.result.ci_ub, "tau2": tf.result.tau2,
            "test": tf.result.test}


def _study_row(row: meta.StudyFit) -> dict:
    return {"study": row.label, "k": row.k, "estimate": row.estimate, "se": row.se,
            "ci_lb": row.ci_lb, "ci_ub": row.ci_ub, "pval": row.pval, "tau2": row.tau2,
            "I2": row.I2}


def _influence(model: meta.MetaResult | meta.MetaRegression) -> list[dict]:
    return [row.to_dict() for row in meta.influence(model)]


def _analyse_mods(args: argparse.Namespace, es: effects.EffectSizes, header: list[str],
                  rows: list[dict[str, str]], kept: list[int]) -> dict:
    columns = _columns(args.file, header, rows, tuple(args.mods), "--mods")
    parsed = {name: _moderator(args.file, name, values) for name, values in columns.items()}
    mods = {name: [values[i] for i in kept] for name, values in parsed.items()}
    reg = meta.rma_mods(es.yi, es.vi, mods, method=args.method, test=args.test,
                        level=args.level, labels=es.labels, measure=es.measure)
    out: dict[str, Any] = {**reg.summary(), "QMp": reg.QM_p, "drop00": bool(args.drop00),
                           "dropped": list(es.dropped), "_result": reg}
    reason = "not defined here for a model with moderators (--mods)"
    for flag, key in (("subgroup", "subgroup"), ("egger", "egger"), ("ranktest", "ranktest"),
                      ("trimfill", "trimfill"), ("leave1out", "leave1out")):
        if getattr(args, flag):
            out[key] = not_applicable(reason)
    if args.cumulative is not None:
        out["cumulative"] = not_applicable(reason)
    if args.influence:
        out["influence"] = _addon(lambda: _influence(reg))
    return out


def _analyse_binary(args: argparse.Namespace, measure: str) -> dict:
    method = args.method
    if measure not in BINARY or (method == "PETO" and measure != "OR"):
        allowed = "OR" if method == "PETO" else "OR, RR or RD"
        raise InputError(f"--method {method} pools 2x2 tables: --measure must be {allowed}, "
                         f"got {measure}")
    if args.mods:
        raise InputError(f"--mods needs an inverse-variance model (--method "
                         f"{', '.join(IV_METHODS)}), not {method}")
    drop00 = True if args.drop00 is None else args.drop00
    header, rows = read_table(args.file)
    needed = _needed(measure, header)
    columns = _columns(args.file, header, rows, needed, f"measure {measure}")
    common = {"labels": _labels(header, rows), "level": args.level, "drop00": drop00,
              "source": str(args.file), "first_row": FIRST_DATA_ROW}
    if method == "MH":
        result = meta.rma_mh(**columns, measure=measure, **common)  # type: ignore[arg-type]
    else:
        result = meta.rma_peto(**columns, **common)  # type: ignore[arg-type]
    out: dict[str, Any] = {**result.summary(), "_result": result}
    reason = f"needs an inverse-variance model (--method {', '.join(IV_METHODS)}), not {method}"
    for flag in ("subgroup", "egger", "ranktest", "trimfill", "leave1out", "influence"):
        if getattr(args, flag):
            out[flag] = not_applicable(reason)
    if args.cumulative is not None:
        out["cumulative"] = not_applicable(reason)
    return out


# --------------------------------------------------------------------------- output

def non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or infinite number in a nested result, if any."""
    if isinstance(value, (float, np.floating)):
        return path if not math.isfinite(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = ((str(i), x) for i, x in enumerate(value))
    else:
        return None
    for key, item in items:
        found = non_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def run(args: argparse.Namespace) -> int:
    try:
        out = analyse(args)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        raise InputError(f"{args.file}: the computation failed on these data ({exc})") from None
    result = out.pop("_result")
    bad = non_finite(out)
    if bad:
        raise InputError(f"{args.file}: the result '{bad}' is not a finite number; the data are "
                         f"too extreme to compute with")
    if args.json:
        print(json.dumps(meta.jsonable(out), indent=2, sort_keys=False, allow_nan=False))
    else:
        print(format_summary(result, out))
    return 0


def _f(value: float | None, digits: int = 4) -> str:
    return "NA" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "NA"
    return "<.0001" if value < 1e-4 else f"{value:.4f}"


def format_summary(r: Any, out: dict) -> str:
    """A plain-text summary laid out like metafor's print methods."""
    if isinstance(r, meta.BinaryPoolResult):
        lines = _binary_lines(r)
    elif isinstance(r, meta.MetaRegression):
        lines = _regression_lines(r)
    else:
        lines = _model_lines(r, out)
    lines += _addon_lines(out)
    return "\n".join(lines)


def _heterogeneity_lines(i2: float, h2: float, q: float, q_df: int, q_p: float,
                         label: str = "Test for Heterogeneity") -> list[str]:
    return [f"I^2 (total heterogeneity / total variability):   {i2:.2f}%",
            f"H^2 (total variability / sampling variability):  {h2:.2f}", "",
            f"{label}:", f"Q(df = {q_df}) = {_f(q)}, p-val {_p(q_p)}", ""]


def _model_lines(r: meta.MetaResult, out: dict) -> list[str]:
    model = "Equal-Effects Model" if r.method == "EE" else \
        f"Random-Effects Model (tau^2 estimator: {r.method})"
    lines = [f"{model} (k = {r.k}; measure: {r.measure}; level: {100 * r.level:g}%)", ""]
    if out.get("dropped"):
        lines += [f"Dropped (no events or only events in both groups): "
                  f"{', '.join(out['dropped'])}", ""]
    if r.method != "EE":
        lines += [f"tau^2 (estimated amount of total heterogeneity): {_f(r.tau2)}"
                  f" (SE = {_f(r.se_tau2)})",
                  f"tau (square root of estimated tau^2 value):      {_f(r.tau)}"]
    lines += _heterogeneity_lines(r.I2, r.H2, r.Q, r.Q_df, r.Q_p) + ["Model Results:", ""]
    stat = "tval" if r.df else "zval"
    df_col = f"{'df':>4}  " if r.df else ""
    lines.append(f"{'estimate':>9}  {'se':>7}  {stat:>8}  {df_col}{'pval':>7}  {'ci.lb':>8}  "
                 f"{'ci.ub':>8}")
    df_val = f"{r.df:>4.0f}  " if r.df else ""
    lines.append(f"{r.estimate:>9.4f}  {r.se:>7.4f}  {r.stat:>8.4f}  {df_val}{_p(r.pval):>7}  "
                 f"{r.ci_lb:>8.4f}  {r.ci_ub:>8.4f}")
    lines += ["", f"Prediction interval: [{_f(r.pi_lb)}, {_f(r.pi_ub)}]"]
    if r.is_ratio:
        bt = r.back_transformed()
        lines.append(f"Back-transformed ({r.measure}): {bt['estimate']:.4f} "
                     f"[{bt['ci_lb']:.4f}, {bt['ci_ub']:.4f}], "
                     f"PI [{bt['pi_lb']:.4f}, {bt['pi_ub']:.4f}]")
    return lines


def _binary_lines(r: meta.BinaryPoolResult) -> list[str]:
    name = "Mantel-Haenszel" if r.method == "MH" else "Peto's"
    lines = [f"Equal-Effects Model, {name} method (k = {r.k}; measure: {r.measure}; "
             f"level: {100 * r.level:g}%)", "",
             *_heterogeneity_lines(r.I2, r.H2, r.Q, r.Q_df, r.Q_p,
                                   f"Test for Heterogeneity ({r.k_yi} studies"
                                   f"{', double zeros left out' if r.drop00 else ''})"),
             "Model Results (log scale):" if r.is_ratio else "Model Results:", "",
             f"{'estimate':>9}  {'se':>7}  {'zval':>8}  {'pval':>7}  {'ci.lb':>8}  "
             f"{'ci.ub':>8}",
             f"{r.estimate:>9.4f}  {r.se:>7.4f}  {r.stat:>8.4f}  {_p(r.pval):>7}  "
             f"{r.ci_lb:>8.4f}  {r.ci_ub:>8.4f}"]
    if r.is_ratio:
        bt = r.back_transformed()
        lines += ["", f"Back-transformed ({r.measure}): {bt['estimate']:.4f} "
                      f"[{bt['ci_lb']:.4f}, {bt['ci_ub']:.4f}]"]
    if r.cmh is not None:
        lines += ["", f"Cochran-Mantel-Haenszel test: CMH = {r.cmh:.4f}, df = 1, "
                      f"p-val = {_p(r.cmh_p)}"]
    if r.tarone is not None:
        lines += [f"Tarone's test for heterogeneity: X^2 = {r.tarone:.4f}, "
                  f"p-val = {_p(r.tarone_p)}"]
    return lines


def _regression_lines(r: meta.MetaRegression) -> list[str]:
    model = "Equal-Effects Model" if r.method == "EE" else \
        f"Mixed-Effects Model (tau^2 estimator: {r.method})"
    lines = [f"{model} (k = {r.k}; measure: {r.measure}; level: {100 * r.level:g}%)", ""]
    if r.method != "EE":
        lines += [f"tau^2 (estimated amount of residual heterogeneity): {_f(r.tau2)}"
                  f" (SE = {_f(r.se_tau2)})"]
    lines += [f"I^2 (residual heterogeneity / unaccounted variability): {r.I2:.2f}%",
              f"H^2 (unaccounted variability / sampling variability):   {r.H2:.2f}"]
    if r.R2 is not None:
        lines.append(f"R^2 (amount of heterogeneity accounted for):            {r.R2:.2f}%")
    lines += ["", "Test for Residual Heterogeneity:",
              f"QE(df = {r.QE_df}) = {_f(r.QE)}, p-val {_p(r.QE_p)}", "",
              "Test of Moderators:"]
    if r.QM_df2 is not None:
        lines.append(f"F(df1 = {r.QM_df}, df2 = {r.QM_df2}) = {_f(r.QM)}, p-val {_p(r.QM_p)}")
    else:
        lines.append(f"QM(df = {r.QM_df}) = {_f(r.QM)}, p-val {_p(r.QM_p)}")
    stat = "tval" if r.df else "zval"
    lines += ["", "Model Results:", "",
              f"{'':<16} {'estimate':>9}  {'se':>7}  {stat:>8}  {'pval':>7}  {'ci.lb':>8}  "
              f"{'ci.ub':>8}"]
    lines += [f"{c.name[:16]:<16} {c.estimate:>9.4f}  {c.se:>7.4f}  {c.stat:>8.4f}  "
              f"{_p(c.p):>7}  {c.ci_lb:>8.4f}  {c.ci_ub:>8.4f}" for c in r.coefficients]
    return lines


def _addon_lines(out: dict) -> list[str]:
    lines: list[str] = []
    for key, title in (("subgroup", "Subgroups"), ("egger", "Egger's regression test"),
                       ("ranktest", "Rank correlation test"), ("trimfill", "Trim-and-fill"),
                       ("leave1out", "Leave-one-out"), ("cumulative", "Cumulative"),
                       ("influence", "Influence diagnostics")):
        if key not in out:
            continue
        value = out[key]
        if isinstance(value, dict) and "not_applicable" in value:
            lines += ["", f"{title}: not applicable ({value['not_applicable']})"]
            continue
        lines += ["", *_ADDON_FORMATS[key](value)]
    return lines


def _subgroup_text(sg: dict) -> list[str]:
    mode = ("common tau^2 (mods = ~ factor(group))" if sg["tau2_mode"] == "common"
            else "separate tau^2 per subgroup")
    stat = (f"F(df1 = {sg['df']}, df2 = {sg['df2']}) = {sg['Q_between']:.4f}"
            if sg["statistic"] == "F" else f"Q(df = {sg['df']}) = {sg['Q_between']:.4f}")
    lines = [f"Subgroups, {mode}:", f"Test for subgroup differences: {stat}, "
                                    f"p-val {_p(sg['p'])}",
             f"{'subgroup':<20} {'k':>4} {'estimate':>9} {'ci.lb':>8} {'ci.ub':>8} "
             f"{'tau2':>8}"]
    lines += [f"{name[:20]:<20} {g['k']:>4} {g['estimate']:>9.4f} {g['ci_lb']:>8.4f} "
              f"{g['ci_ub']:>8.4f} {g['tau2']:>8.4f}" for name, g in sg["groups"].items()]
    return lines


def _egger_text(eg: dict) -> list[str]:
    stat = "t" if "t" in eg else "z"
    df = f", df = {eg['df']}" if eg.get("df") is not None else ""
    return [f"Egger's regression test (model: {eg['model']}, predictor: sei): {stat} = "
            f"{eg[stat]:.4f}{df}, p = {_p(eg['p'])}",
            f"Limit estimate (as sei -> 0): {eg['limit_estimate']:.4f} "
            f"[{eg['limit_ci_lb']:.4f}, {eg['limit_ci_ub']:.4f}]"]


def _rank_text(rt: dict) -> list[str]:
    return [f"Rank correlation test: Kendall's tau = {rt['tau']:.4f}, p = {_p(rt['p'])}"]


def _trimfill_text(tf: dict) -> list[str]:
    return [f"Trim-and-fill (L0): {tf['k0']} {'study' if tf['k0'] == 1 else 'studies'} "
            f"imputed on the {tf['side']}; estimate {tf['estimate']:.4f} (SE {tf['se']:.4f}, "
            f"{tf['test']} test), tau^2 {tf['tau2']:.4f}"]


def _rows_text(title: str) -> Callable[[list[dict]], list[str]]:
    def fmt(rows: list[dict]) -> list[str]:
        return [f"{title}:", f"{'study':<24} {'k':>4} {'estimate':>9} {'ci.lb':>8} "
                             f"{'ci.ub':>8} {'tau2':>8} {'I2':>7}"] + [
            f"{row['study'][:24]:<24} {row['k']:>4} {row['estimate']:>9.4f} "
            f"{row['ci_lb']:>8.4f} {row['ci_ub']:>8.4f} {row['tau2']:>8.4f} {row['I2']:>7.2f}"
            for row in rows]
    return fmt


def _influence_text(rows: list[dict]) -> list[str]:
    lines = ["Influence diagnostics:", f"{'study':<24} {'rstudent':>9} {'cooks.d':>8} "
                                       f"{'hat':>7} {'dfbetas':>8}"]
    for row in rows:
        first = next(iter(row["dfbetas"].values()))
        mark = " *" if row["influential"] else ""
        lines.append(f"{row['study'][:24]:<24} {_f(row['rstudent']):>9} "
                     f"{_f(row['cooks_d']):>8} {row['hat']:>7.4f} {_f(first):>8}{mark}")
    return lines


_ADDON_FORMATS: dict[str, Callable[[Any], list[str]]] = {
    "subgroup": _subgroup_text, "egger": _egger_text, "ranktest": _rank_text,
    "trimfill": _trimfill_text, "leave1out": _rows_text("Leave-one-out (study omitted)"),
    "cumulative": _rows_text("Cumulative (study added)"), "influence": _influence_text,
}
