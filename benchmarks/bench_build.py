"""Benchmark of `mscfm build` against the naive Jupyter Book build, on a copy of the real report.

Run from the project root (takes several minutes; uses every core):

    .venv/bin/python benchmarks/bench_build.py [--jobs N] [--keep]

In one run, on a throw-away copy of the project (the tree minus .venv, .git, _build and the
executed notebooks; MSCFM_ROOT points at it), it measures

  (a) cold HTML build          `mscfm build --no-pdf` with no build state
  (b) no-op rebuild            the same command again
  (c) one data value changed   one number in one data file (pooled.csv, else registry.csv);
                               lists the chapters that re-ran and the ones declaring the file
  (d) one parameter changed    `mscfm build --no-pdf -p NAME=VALUE`
  baseline                     `jupyter-book build` of the same notebooks, unexecuted, with
                               `execute_notebooks: force` (serial, in-book execution), cold

and prints a markdown table: seconds, ratio to the baseline, and peak memory = the largest sum
of the resident set sizes (RSS) of the command's whole process tree (workers, kernels, Sphinx),
sampled every 0.1 s with psutil. Summing RSS counts shared pages once per process, so it
over-states the true footprint; a process living less than 0.1 s can be missed.

Chapters are being added while the report is written: the copy's table of contents keeps only the
chapters whose notebooks exist, and a chapter that fails to execute is dropped from both builds
(and named in the output), so the comparison stays like for like.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOT_COPIED = (".venv", ".git", "_build", "_executed", ".mscfm", "__pycache__", ".pytest_cache")
EXECUTED = "book/_executed/"
SAMPLE_S = 0.1
BASELINE_TIMEOUT_S = 1800
# Preferred change for (c): a count that any valid row may hold, so the data stay valid.
DATA_CHANGES = (("data/pooled.csv", "n"), ("data/registry.csv", "enrollment"))
# Preferred parameter for (d), with a value that keeps the chapter meaningful.
PARAMETER_CHANGES = (("method", "DL"), ("include_non_fm_models", "false"))


@dataclass
class Measure:
    label: str
    seconds: float
    peak_mb: float
    ok: bool
    output: str
    ran: list[str] = field(default_factory=list)
    note: str = ""


# --- running a command and watching its memory ------------------------------------------------


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for proc in (process, *process.children(recursive=True)):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass  # ended between listing and reading
    return total


def run_measured(label: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> Measure:
    """Run ``cmd``; wall time and the peak summed RSS of its process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    watched = psutil.Process(proc.pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, _tree_rss(watched))
            except psutil.Error:
                return
            stop.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - start
    return Measure(label, seconds, peak / 2**20, proc.returncode == 0, output)


# --- the throw-away copies --------------------------------------------------------------------


def chapter_names(root: Path) -> list[str]:
    return [p.stem for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def copy_project(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*NOT_COPIED))
    keep_chapters(dest, chapter_names(dest))
    return dest


def keep_chapters(root: Path, keep: list[str]) -> None:
    """Drop other notebooks and every table-of-contents entry of a chapter not in ``keep``."""
    for name in chapter_names(root):
        if name not in keep:
            (root / "notebooks" / f"{name}.ipynb").unlink()
    toc_path = root / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))

    def prune(entries: list[dict]) -> list[dict]:
        kept = []
        for entry in entries:
            file = entry.get("file", "")
            if file.startswith(EXECUTED) and file.removeprefix(EXECUTED) not in keep:
                continue
            if "sections" in entry:
                entry["sections"] = prune(entry["sections"])
            kept.append(entry)
        return kept

    if "parts" in toc:
        for part in toc["parts"]:
            part["chapters"] = prune(part["chapters"])
        toc["parts"] = [p for p in toc["parts"] if p["chapters"]]
    else:
        toc["chapters"] = prune(toc.get("chapters", []))
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")


def make_baseline_copy(ours: Path, dest: Path) -> Path:
    """The same book for plain Jupyter Book: unexecuted notebooks, executed by the book build."""
    shutil.copytree(ours, dest, ignore=shutil.ignore_patterns(*NOT_COPIED))
    executed = dest / EXECUTED
    executed.mkdir(parents=True, exist_ok=True)
    for name in chapter_names(dest):
        # The stored notebooks carry their default parameters in the parameters cell.
        shutil.copy(dest / "notebooks" / f"{name}.ipynb", executed / f"{name}.ipynb")
    config_path = dest / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("execute", {}).update(
        execute_notebooks="force", timeout=BASELINE_TIMEOUT_S, allow_errors=False
    )
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["nb_execution_mode"] = "force"
    sphinx_config["nb_execution_timeout"] = BASELINE_TIMEOUT_S
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest


# --- the changes for (c) and (d) --------------------------------------------------------------


def declared_inputs(root: Path) -> dict[str, set[str]]:
    found = {}
    for name in chapter_names(root):
        nb = json.loads((root / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        found[name] = set(nb.get("metadata", {}).get("mscfm", {}).get("inputs", []))
    return found


def change_one_value(root: Path) -> tuple[str, str]:
    """Add 1 to one count in one declared data file; returns (file, description)."""
    inputs = declared_inputs(root)
    declared = set().union(*inputs.values()) if inputs else set()
    for data_file, column in DATA_CHANGES:
        if data_file in declared and (root / data_file).exists():
            described = _increment_first(root / data_file, column)
            if described:
                return data_file, described
    raise SystemExit(f"no chapter declares any of {[f for f, _ in DATA_CHANGES]}; cannot run (c)")


def _increment_first(path: Path, column: str) -> str:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), list(reader)
    for index, row in enumerate(rows):
        if column in row and re.fullmatch(r"\d+", row[column] or ""):
            old = row[column]
            row[column] = str(int(old) + 1)
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fields, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            key = row.get("id") or row.get("nct_id") or f"data row {index + 2}"
            return f"{path.name} {key}.{column}: {old} -> {row[column]}"
    return ""


def choose_parameter(root: Path) -> tuple[str, str, set[str]]:
    """A parameter to change for (d): NAME, VALUE and the chapters declaring it."""
    from mscfm.pipeline.notebooks import discover_chapters

    chapters = discover_chapters(root)

    def takers(name: str) -> set[str]:
        return {c.name for c in chapters if name in c.parameters}

    for name, value in PARAMETER_CHANGES:
        if takers(name):
            return name, value, takers(name)
    for chapter in chapters:  # else any int parameter: one more than its default
        for param in chapter.parameters.values():
            if param.type == "int":
                return param.name, str(param.default + 1), takers(param.name)
    raise SystemExit("no chapter declares a parameter this benchmark knows how to change")


def ran_chapters(output: str) -> list[str]:
    match = re.search(r"executed \d+ of \d+ chapters: (.+)", output)
    return [n.strip() for n in match.group(1).split(",")] if match else []


def failing_chapters(output: str) -> list[str]:
    return sorted(set(re.findall(r"chapter (\w+) failed", output)))


# --- the benchmark ----------------------------------------------------------------------------


def mscfm_build(jobs: int, extra: list[str]) -> list[str]:
    return [str(BIN / "mscfm"), "build", "--no-pdf", "--jobs", str(jobs), *extra]


def cold_build(root: Path, env: dict[str, str], jobs: int) -> Measure:
    """(a); a chapter that fails is dropped (from ours and the baseline copy) and (a) re-run."""
    dropped: list[str] = []
    while True:
        shutil.rmtree(root / ".mscfm", ignore_errors=True)
        shutil.rmtree(root / "_build", ignore_errors=True)
        shutil.rmtree(root / EXECUTED, ignore_errors=True)
        measure = run_measured("(a) cold build", mscfm_build(jobs, []), root, env)
        failed = failing_chapters(measure.output) if not measure.ok else []
        if measure.ok or not failed:
            break
        print(f"  chapters failing to execute, dropped from both builds: {', '.join(failed)}")
        dropped += failed
        keep_chapters(root, [c for c in chapter_names(root) if c not in failed])
    if not measure.ok:
        raise SystemExit(f"the cold build failed:\n{measure.output[-3000:]}")
    measure.ran = ran_chapters(measure.output)
    if dropped:
        measure.note = f"dropped (failing): {', '.join(dropped)}"
    return measure


def check(measure: Measure) -> Measure:
    if not measure.ok:
        raise SystemExit(f"{measure.label} failed:\n{measure.output[-3000:]}")
    measure.ran = ran_chapters(measure.output)
    return measure


def _environment(root: Path) -> dict[str, str]:
    """Point the build, its workers and kernels at the copy, including the copy's package source:
    the package is part of every chapter's fingerprint, and the live tree may change meanwhile."""
    python_path = os.pathsep.join(filter(None, [str(root / "src"), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "MSCFM_ROOT": str(root),
        "PYTHONPATH": python_path,
        "PYTHONWARNINGS": "ignore",
    }


def benchmark(work: Path, jobs: int, only: list[str]) -> list[Measure]:
    ours = copy_project(work / "ours")
    if only:
        keep_chapters(ours, [c for c in chapter_names(ours) if c in only])
    env = _environment(ours)
    print(f"project copy: {ours} ({len(chapter_names(ours))} chapters)", flush=True)
    results = []

    print("(a) cold build ...", flush=True)
    cold = cold_build(ours, env, jobs)
    results.append(cold)
    print(f"    {cold.seconds:.1f} s; executed {len(cold.ran)}", flush=True)

    print("(b) no-op rebuild ...", flush=True)
    results.append(check(run_measured("(b) no-op rebuild", mscfm_build(jobs, []), ours, env)))

    data_file, described = change_one_value(ours)
    expected = sorted(c for c, files in declared_inputs(ours).items() if data_file in files)
    print(f"(c) changed {described} ...", flush=True)
    data = check(run_measured("(c) one data value", mscfm_build(jobs, []), ours, env))
    data.note = (
        f"{described}; re-ran: {', '.join(data.ran) or 'none'}; declaring "
        f"{data_file}: {', '.join(expected)}; exact: {data.ran == expected}"
    )
    results.append(data)

    name, value, takers = choose_parameter(ours)
    print(f"(d) -p {name}={value} ...", flush=True)
    param = check(
        run_measured("(d) one parameter", mscfm_build(jobs, ["-p", f"{name}={value}"]), ours, env)
    )
    param.note = (
        f"-p {name}={value}; re-ran: {', '.join(param.ran) or 'none'}; declaring: "
        f"{', '.join(sorted(takers))}; exact: {param.ran == sorted(takers)}"
    )
    results.append(param)

    print("baseline: jupyter-book build, execute_notebooks: force (cold) ...", flush=True)
    shutil.rmtree(work / "baseline", ignore_errors=True)
    base_root = make_baseline_copy(ours, work / "baseline")
    base_env = _environment(base_root)
    base = run_measured(
        "baseline: jupyter-book, execute force",
        [str(BIN / "jupyter-book"), "build", str(base_root), "--builder", "html"],
        base_root,
        base_env,
    )
    if not base.ok:
        raise SystemExit(f"the baseline build failed:\n{base.output[-3000:]}")
    base.ran = chapter_names(base_root)
    base.note = "serial, in-book execution of every notebook"
    results.append(base)
    return results


def table(results: list[Measure]) -> str:
    base = results[-1].seconds
    lines = [
        "| build | seconds | ratio to baseline | peak memory (MB) | chapters executed |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in results:
        lines.append(
            f"| {m.label} | {m.seconds:.1f} | {m.seconds / base:.2f} | "
            f"{m.peak_mb:.0f} | {len(m.ran)} |"
        )
    return "\n".join(lines)


def goals(results: list[Measure]) -> str:
    cold, noop, data, param, base = results
    peak = max(m.peak_mb for m in results[:4])
    rows = [
        (
            "cold HTML build <= 0.6 x baseline",
            f"{cold.seconds / base.seconds:.2f} x",
            cold.seconds <= 0.6 * base.seconds,
        ),
        (
            "no-op rebuild <= 10 % of cold",
            f"{100 * noop.seconds / cold.seconds:.1f} %",
            noop.seconds <= 0.1 * cold.seconds,
        ),
        (
            "(c) re-runs exactly the declaring chapters",
            data.note.rsplit("; ", 1)[-1],
            data.note.endswith("exact: True"),
        ),
        (
            "(d) re-runs exactly the declaring chapters",
            param.note.rsplit("; ", 1)[-1],
            param.note.endswith("exact: True"),
        ),
        ("peak memory of mscfm build < 1.5 GB", f"{peak:.0f} MB", peak < 1536),
    ]
    lines = ["| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {goal} | {value} | {'yes' if met else 'NO'} |" for goal, value, met in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="mscfm build --jobs (default: one per core)",
    )
    parser.add_argument(
        "--chapters", metavar="A,B", help="benchmark only these chapters (for a quick trial)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the throw-away copies")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mscfm-bench-"))
    try:
        only = [c.strip() for c in args.chapters.split(",")] if args.chapters else []
        results = benchmark(work, args.jobs, only)
    finally:
        if args.keep:
            print(f"copies kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n## Build benchmark ({os.cpu_count()} cores, mscfm build --jobs {args.jobs})\n")
    print(table(results))
    print()
    for m in results:
        if m.note:
            print(f"- {m.label}: {m.note}")
    print(
        "- peak memory: largest sum of RSS over the command's process tree, sampled every "
        f"{SAMPLE_S} s (psutil); shared pages are counted once per process"
    )
    print()
    print(goals(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
