"""`mscfm meta FILE.csv`: pool the studies of a CSV that uses metafor's escalc column names.

Columns by measure (an optional ``study`` column labels the rows):

- GEN: ``yi, vi``
- RR, OR, RD: ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i`` (group 1 = treatment)
- SMD, MD: ``m1i, sd1i, n1i, m2i, sd2i, n2i``

Rows are numbered as a spreadsheet shows them (header = row 1) in error messages.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from mscfm import effects, meta
from mscfm.errors import InputError

FIRST_DATA_ROW = 2  # the header is row 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "meta", help="meta-analysis of a CSV of studies (metafor-compatible)",
        description="Pool the studies in FILE.csv with an equal- or random-effects model. "
                    "Columns use metafor's escalc names: yi, vi (GEN); ai, bi, ci, di or ai, "
                    "n1i, ci, n2i (RR, OR, RD); m1i, sd1i, n1i, m2i, sd2i, n2i (SMD, MD); "
                    "optional 'study' labels.")
    parser.add_argument("file", metavar="FILE.csv", type=Path, help="one row per study")
    parser.add_argument("--measure", choices=effects.MEASURES, default="GEN",
                        help="effect measure (default: GEN, precomputed yi and vi)")
    parser.add_argument("--method", choices=meta.METHODS, default="REML",
                        help="tau^2 estimator, or EE for equal effects (default: REML)")
    parser.add_argument("--test", choices=meta.TESTS, default="z",
                        help="z, or Knapp-Hartung t (knha) (default: z)")
    parser.add_argument("--egger", action="store_true", help="Egger's regression test")
    parser.add_argument("--trimfill", action="store_true", help="trim-and-fill (L0)")
    parser.add_argument("--leave1out", action="store_true", help="leave-one-out analysis")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV; an unreadable or empty file is an InputError."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = [name.strip() for name in (reader.fieldnames or [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the CSV file ({exc})") from None
    if not header:
        raise InputError(f"{path}: the file is empty (expected a header row)")
    if not rows:
        raise InputError(f"{path}: no data rows below the header")
    for i, row in enumerate(rows):
        if None in row:
            raise InputError(f"{path}: row {i + FIRST_DATA_ROW}: more cells than header columns")
    rows = [{key.strip(): (value or "").strip() for key, value in row.items()} for row in rows]
    return header, rows


def effect_sizes(path: Path, measure: str) -> effects.EffectSizes:
    header, rows = read_table(path)
    needed = _needed(measure, header)
    missing = [name for name in needed if name not in header]
    if missing:
        raise InputError(f"{path}: missing column '{missing[0]}' (measure {measure} needs "
                         f"{', '.join(needed)}; found {', '.join(header)})")
    numeric = [name for name in header if name != "study"]
    columns: dict[str, list[str]] = {name: [row[name] for row in rows] for name in numeric}
    for name, values in columns.items():
        for i, value in enumerate(values):
            if value == "" and name in _needed(measure, header):
                raise InputError(f"{path}: row {i + FIRST_DATA_ROW}, column '{name}': "
                                 f"empty cell (expected a number)")
    labels = [row["study"] or f"Study {i + 1}" for i, row in enumerate(rows)] \
        if "study" in header else None
    wanted = {name: columns[name] for name in _needed(measure, header) if name in columns}
    return effects.escalc(measure, **wanted, labels=labels, source=str(path),
                          first_row=FIRST_DATA_ROW)


def _needed(measure: str, header: list[str]) -> tuple[str, ...]:
    if measure == "GEN":
        return ("yi", "vi")
    if measure in ("SMD", "MD"):
        return ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    if "bi" in header or "di" in header:
        return ("ai", "bi", "ci", "di")
    return ("ai", "n1i", "ci", "n2i")


def analyse(args: argparse.Namespace) -> dict:
    es = effect_sizes(args.file, args.measure)
    if args.method != "EE" and es.k < 2:
        raise InputError(f"{args.file}: a random-effects model ({args.method}) needs at least "
                         f"2 studies, found {es.k}"
                         + (f" after dropping {len(es.dropped)} double-zero"
                            if es.dropped else ""))
    result = meta.rma(es.yi, es.vi, method=args.method, test=args.test, labels=es.labels,
                      measure=es.measure)
    out: dict = {key: result.summary()[key] for key in (
        "k", "estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "I2", "Q")}
    out.update({"measure": es.measure, "method": result.method, "test": result.test,
                "pval": result.pval, "Q_df": result.Q_df, "Q_p": result.Q_p, "H2": result.H2,
                "dropped": list(es.dropped), "_result": result})
    if args.egger:
        eg = meta.egger_test(result)
        out["egger"] = {"t": eg.t, "p": eg.p, "df": eg.df}
    if args.trimfill:
        tf = meta.trimfill(result)
        out["trimfill"] = {"k0": tf.k0, "side": tf.side, "estimate": tf.result.estimate,
                           "se": tf.result.se, "tau2": tf.result.tau2}
    if args.leave1out:
        out["leave1out"] = [{"study": row.label, "estimate": row.estimate, "tau2": row.tau2,
                             "I2": row.I2} for row in meta.leave1out(result)]
    return out


def run(args: argparse.Namespace) -> int:
    out = analyse(args)
    result: meta.MetaResult = out.pop("_result")
    if args.json:
        print(json.dumps(meta.jsonable(out), indent=2, sort_keys=False))
    else:
        print(format_summary(result, out))
    return 0


def _f(value: float | None, digits: int = 4) -> str:
    return "NA" if value is None else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return "<.0001" if value < 1e-4 else f"{value:.4f}"


def format_summary(r: meta.MetaResult, out: dict) -> str:
    """A plain-text summary laid out like metafor's print.rma.uni."""
    model = "Equal-Effects Model" if r.method == "EE" else \
        f"Random-Effects Model (tau^2 estimator: {r.method})"
    lines = [f"{model} (k = {r.k}; measure: {r.measure})", ""]
    if out["dropped"]:
        lines += [f"Dropped (no events or only events in both groups): "
                  f"{', '.join(out['dropped'])}", ""]
    if r.method != "EE":
        lines += [f"tau^2 (estimated amount of total heterogeneity): {_f(r.tau2)}"
                  f" (SE = {_f(r.se_tau2)})",
                  f"tau (square root of estimated tau^2 value):      {_f(r.tau)}"]
    lines += [f"I^2 (total heterogeneity / total variability):   {r.I2:.2f}%",
              f"H^2 (total variability / sampling variability):  {r.H2:.2f}", "",
              "Test for Heterogeneity:", f"Q(df = {r.Q_df}) = {_f(r.Q)}, p-val {_p(r.Q_p)}",
              "", "Model Results:", ""]
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
    if "egger" in out:
        eg = out["egger"]
        lines += ["", f"Egger's regression test (predictor: sei): t = {eg['t']:.4f}, "
                      f"df = {eg['df']}, p = {_p(eg['p'])}"]
    if "trimfill" in out:
        tf = out["trimfill"]
        lines += ["", f"Trim-and-fill (L0): {tf['k0']} "
                      f"{'study' if tf['k0'] == 1 else 'studies'} imputed on the {tf['side']}; "
                      f"estimate {tf['estimate']:.4f} (SE {tf['se']:.4f}), tau^2 "
                      f"{tf['tau2']:.4f}"]
    if "leave1out" in out:
        lines += ["", "Leave-one-out:", f"{'omitted':<24} {'estimate':>9} {'tau2':>8} "
                                        f"{'I2':>7}"]
        lines += [f"{row['study'][:24]:<24} {row['estimate']:>9.4f} {row['tau2']:>8.4f} "
                  f"{row['I2']:>7.2f}" for row in out["leave1out"]]
    return "\n".join(lines)
