"""Benchmark of `mscfm build` against its physical limit and its peers, on a copy of the report.

Run from the project root (takes many minutes; uses every core):

    .venv/bin/python benchmarks/bench_build.py [--jobs N] [--no-pdf] [--no-peers] [--keep]

In one run, on a throw-away copy of the project (the tree minus .venv, .git, _build and the
executed notebooks; MSCFM_ROOT and PYTHONPATH point at it), it measures

  (a) cold HTML build          `mscfm build --no-pdf` with no build state
  (b) no-op rebuild            the same command again
  (c) one data value changed   one number in one data file (pooled.csv, else registry.csv);
                               asserts that exactly the chapters declaring the file re-ran
  (d) one parameter changed    `mscfm build --no-pdf -p NAME=VALUE`; asserts the declaring chapters
  (e) one module edited        a line appended to a package module one chapter imports
                               (`mscfm/power.py`); asserts that only the chapters importing it
                               (read from the notebooks' import lines) re-ran
  (f) with the PDF             `mscfm build` after (e): the PDF's share of a cold build with PDF
  (g) book module edited, PDF  a line appended to `mscfm/colophon.py` (run by the book step):
                               the book is rebuilt, its LaTeX source stays the same, and LaTeX
                               must not run
  peers, on the same notebooks: `jupyter-book build` with `execute_notebooks: force` (the
  baseline of the ratios) and with `cache` (jupyter-cache), each cold and after the same
  one-parameter change made in the notebook; Quarto (quarto-cli from PyPI, installed in a
  throw-away venv), cold and with `freeze`, or the reason it cannot render here.

It prints the per-chapter execution (wall time, the cells' own time, the time until the kernel
was ready with its imports done, and the fixed overhead = wall - cells), the physical limit (sum
of the chapters' cell time / cores + one Sphinx HTML write, the cold build's HTML step), a table of
every build with its ratios to the baseline and to that limit, and the goals table. Peak memory =
the largest sum of the resident set sizes (RSS) of the command's whole process tree, sampled every
0.1 s with psutil (shared pages counted once per process, so it over-states the footprint).

A chapter that fails to execute is dropped from every build (and named in the output), so the
comparison stays like for like.
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


def make_peer_copy(ours: Path, dest: Path, mode: str) -> Path:
    """The same book for plain Jupyter Book: unexecuted notebooks, executed by the book build
    (``mode`` = ``force`` or ``cache``, jupyter-book's ``execute_notebooks``)."""
    shutil.copytree(ours, dest, ignore=shutil.ignore_patterns(*NOT_COPIED))
    executed = dest / EXECUTED
    executed.mkdir(parents=True, exist_ok=True)
    for name in chapter_names(dest):
        # The stored notebooks carry their default parameters in the parameters cell.
        shutil.copy(dest / "notebooks" / f"{name}.ipynb", executed / f"{name}.ipynb")
    config_path = dest / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("execute", {}).update(
        execute_notebooks=mode, timeout=BASELINE_TIMEOUT_S, allow_errors=False
    )
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["nb_execution_mode"] = mode
    sphinx_config["nb_execution_timeout"] = BASELINE_TIMEOUT_S
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest


def set_parameter(notebook: Path, name: str, value: str) -> None:
    """Change a parameter's default in a notebook's parameters cell (what a peer without
    `-p` needs to run with another value)."""
    from mscfm.pipeline.notebooks import convert_value, read_chapter

    declared = read_chapter(notebook).parameters[name]
    literal = repr(convert_value(value, declared.type))
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"])
            pattern = rf"^({re.escape(name)}\s*:\s*[^=]+=\s*)([^#\n]*?)(\s*#.*)?$"
            cell["source"] = re.sub(
                pattern, lambda m: m.group(1) + literal + (m.group(3) or ""), source, flags=re.M
            )
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


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


MODULE_EDITED = "power"  # imported by one chapter (10_future_trial) and by no other module
# Run by the book step (the colophon page): an edit that changes nothing it writes rebuilds the
# book (Sphinx re-reads nothing) and the LaTeX source stays the same, so LaTeX must not run.
BOOK_MODULE_EDITED = "colophon"
TIMINGS = re.compile(r"built in [\d.]+ s \((.*)\)")


def mscfm_build(jobs: int, extra: list[str], pdf: bool = False) -> list[str]:
    return [str(BIN / "mscfm"), "build", *([] if pdf else ["--no-pdf"]), "--jobs", str(jobs),
            *extra]


def steps(output: str) -> dict[str, float]:
    """The build's own step timings: 'built in 12.3 s (validate 0.1 s, execute 9.0 s, ...)'."""
    match = TIMINGS.search(output)
    if not match:
        return {}
    found = re.findall(r"(\w+) ([\d.]+) s", match.group(1))
    return {name: float(value) for name, value in found}


def cold_build(root: Path, env: dict[str, str], jobs: int) -> tuple[Measure, list[str]]:
    """(a); a chapter that fails is dropped (from ours and the peers' copies) and (a) re-run."""
    dropped: list[str] = []
    while True:
        shutil.rmtree(root / ".mscfm", ignore_errors=True)
        shutil.rmtree(root / "_build", ignore_errors=True)
        shutil.rmtree(root / EXECUTED, ignore_errors=True)
        measure = run_measured("(a) cold HTML build", mscfm_build(jobs, []), root, env)
        failed = failing_chapters(measure.output) if not measure.ok else []
        if measure.ok or not failed:
            break
        print(f"  chapters failing to execute, dropped from every build: {', '.join(failed)}")
        dropped += failed
        keep_chapters(root, [c for c in chapter_names(root) if c not in failed])
    if not measure.ok:
        raise SystemExit(f"the cold build failed:\n{measure.output[-3000:]}")
    measure.ran = ran_chapters(measure.output)
    if dropped:
        measure.note = f"dropped (failing): {', '.join(dropped)}"
    return measure, dropped


def check(measure: Measure) -> Measure:
    if not measure.ok:
        raise SystemExit(f"{measure.label} failed:\n{measure.output[-3000:]}")
    measure.ran = ran_chapters(measure.output)
    return measure


def _environment(root: Path) -> dict[str, str]:
    """Point the build, its workers and kernels at the copy, including the copy's package source:
    the package is part of the chapters' fingerprints, and the live tree may change meanwhile."""
    python_path = os.pathsep.join(filter(None, [str(root / "src"), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "MSCFM_ROOT": str(root),
        "PYTHONPATH": python_path,
        "PYTHONWARNINGS": "ignore",
    }


def importing_chapters(root: Path, module: str) -> list[str]:
    """Chapters whose code imports ``mscfm.<module>`` (read from their import lines)."""
    found = []
    for name in chapter_names(root):
        nb = json.loads((root / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        if re.search(rf"^\s*from mscfm import [^\n]*\b{module}\b", code, re.M) or re.search(
            rf"^\s*(?:from|import) mscfm\.{module}\b", code, re.M
        ):
            found.append(name)
    return found


def edit_module(root: Path, module: str, count: int) -> None:
    path = root / "src" / "mscfm" / f"{module}.py"
    path.write_text(path.read_text(encoding="utf-8") + f"\n# edit {count}\n", encoding="utf-8")


@dataclass
class Execution:
    """The cold build's per-chapter report (``_build/reports/execution.json``)."""

    rows: dict[str, dict[str, float]]

    @property
    def cell_total(self) -> float:
        return sum(r["cell_seconds"] for r in self.rows.values())

    def table(self) -> str:
        lines = [
            "| chapter | wall (s) | cells (s) | kernel ready (s) | overhead = wall - cells (s) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, r in sorted(self.rows.items()):
            lines.append(
                f"| {name} | {r['seconds']:.2f} | {r['cell_seconds']:.2f} | "
                f"{r['ready_seconds']:.2f} | {r['seconds'] - r['cell_seconds']:.2f} |"
            )
        n = len(self.rows) or 1
        ready = [r["ready_seconds"] for r in self.rows.values()] or [0.0]
        over = [r["seconds"] - r["cell_seconds"] for r in self.rows.values()] or [0.0]
        lines.append(
            f"| mean | | {self.cell_total / n:.2f} | {sum(ready) / n:.2f} | {sum(over) / n:.2f} |"
        )
        lines.append(f"| max | | | {max(ready):.2f} | {max(over):.2f} |")
        return "\n".join(lines)


def jupyter_book(label: str, root: Path) -> Measure:
    measure = run_measured(
        label,
        [str(BIN / "jupyter-book"), "build", str(root), "--builder", "html"],
        root,
        _environment(root),
    )
    if not measure.ok:
        raise SystemExit(f"{label} failed:\n{measure.output[-3000:]}")
    return measure


def peers_jupyter_book(ours: Path, work: Path, name: str, value: str, takers: set[str]):
    results = []
    for mode in ("force", "cache"):
        print(f"peer: jupyter-book, execute_notebooks: {mode} (cold) ...", flush=True)
        root = make_peer_copy(ours, work / f"jb-{mode}", mode)
        cold = jupyter_book(f"jupyter-book {mode}, cold", root)
        cold.ran = chapter_names(root)
        cold.note = "serial, in-book execution of every notebook"
        results.append(cold)
        print(f"peer: jupyter-book {mode}, after -p {name}={value} ...", flush=True)
        for chapter in sorted(takers):
            set_parameter(root / EXECUTED / f"{chapter}.ipynb", name, value)
        again = jupyter_book(f"jupyter-book {mode}, one parameter", root)
        # Sphinx re-reads only the changed notebooks, and myst-nb executes what it reads: in
        # both modes only the notebooks declaring the parameter execute again.
        again.ran = sorted(takers)
        again.note = f"{name}={value} set in the notebooks declaring it; Sphinx re-reads those"
        results.append(again)
    return results


QUARTO_VENV_TIMEOUT_S = 600


def quarto_binary(work: Path) -> tuple[Path | None, str]:
    """quarto-cli from PyPI in a throw-away venv; (binary, "") or (None, why not)."""
    venv = work / "quarto-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    try:
        install = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "quarto-cli"],
            capture_output=True, text=True, timeout=QUARTO_VENV_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return None, f"pip install quarto-cli did not finish in {QUARTO_VENV_TIMEOUT_S} s"
    found = sorted(venv.rglob("bin/quarto"))
    if install.returncode == 0 and found:
        return found[0], ""
    text = install.stdout + install.stderr
    why = [ln.strip() for ln in text.splitlines() if "Error downloading Quarto" in ln]
    reason = why[0] if why else (text.strip().splitlines() or ["no output"])[-1]
    return None, (
        "quarto-cli on PyPI is a source package whose setup.py downloads the Quarto binary from "
        f"github.com at install time, and this machine is offline: {reason[:300]}"
    )


def quarto_project(ours: Path, dest: Path) -> Path:
    """The same notebooks as a Quarto book, executed by Quarto (``execute: enabled``)."""
    dest.mkdir(parents=True)
    names = chapter_names(ours)
    for name in names:
        shutil.copy(ours / "notebooks" / f"{name}.ipynb", dest / f"{name}.ipynb")
    shutil.copytree(ours / "data", dest / "data")
    config = {
        "project": {"type": "book", "output-dir": "_book"},
        "book": {"title": "benchmark", "chapters": ["index.qmd", *(f"{n}.ipynb" for n in names)]},
        "execute": {"enabled": True, "freeze": "auto"},
    }
    (dest / "_quarto.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (dest / "index.qmd").write_text("# Benchmark\n", encoding="utf-8")
    return dest


def peer_quarto(ours: Path, work: Path, name: str, value: str, takers: set[str]):
    print("peer: Quarto (quarto-cli from PyPI in a throw-away venv) ...", flush=True)
    binary, reason = quarto_binary(work)
    if binary is None:
        return [], reason
    root = quarto_project(ours, work / "quarto")
    env = {**_environment(ours), "QUARTO_PYTHON": sys.executable}
    results = []
    for label in ("Quarto, cold", "Quarto freeze, one parameter"):
        if label.endswith("parameter"):
            for chapter in sorted(takers):
                set_parameter(root / f"{chapter}.ipynb", name, value)
        measure = run_measured(label, [str(binary), "render", str(root)], root, env)
        if not measure.ok:
            return results, f"quarto render failed: {measure.output.strip()[-300:]}"
        results.append(measure)
    return results, ""


@dataclass
class Run:
    ours: dict[str, Measure]
    peers: list[Measure]
    execution: Execution
    cores: int
    html_cold: float
    pdf_seconds: float | None = None
    latex_skipped: bool | None = None
    quarto_reason: str = ""
    asserts: dict[str, tuple[str, bool]] = field(default_factory=dict)

    @property
    def limit(self) -> float:
        return self.execution.cell_total / self.cores + self.html_cold


def benchmark(work: Path, jobs: int, only: list[str], pdf: bool, peers: bool) -> Run:
    ours_root = copy_project(work / "ours")
    if only:
        keep_chapters(ours_root, [c for c in chapter_names(ours_root) if c in only])
    env = _environment(ours_root)
    print(f"project copy: {ours_root} ({len(chapter_names(ours_root))} chapters)", flush=True)
    ours: dict[str, Measure] = {}
    asserts: dict[str, tuple[str, bool]] = {}

    print("(a) cold build ...", flush=True)
    cold, _ = cold_build(ours_root, env, jobs)
    ours["cold"] = cold
    report = json.loads((ours_root / "_build" / "reports" / "execution.json").read_text())
    execution = Execution(report)
    html_cold = steps(cold.output).get("html", 0.0)
    print(f"    {cold.seconds:.1f} s; executed {len(cold.ran)}", flush=True)

    print("(b) no-op rebuild ...", flush=True)
    ours["noop"] = check(run_measured("(b) no-op rebuild", mscfm_build(jobs, []), ours_root, env))

    data_file, described = change_one_value(ours_root)
    expected = sorted(c for c, files in declared_inputs(ours_root).items() if data_file in files)
    print(f"(c) changed {described} ...", flush=True)
    data = check(run_measured("(c) one data value", mscfm_build(jobs, []), ours_root, env))
    data.note = f"{described}; re-ran: {', '.join(data.ran) or 'none'}"
    asserts["(c) re-runs exactly the chapters declaring the file"] = (
        f"expected {', '.join(expected)}", data.ran == expected)
    ours["data"] = data

    name, value, takers = choose_parameter(ours_root)
    print(f"(d) -p {name}={value} ...", flush=True)
    param = check(run_measured(
        "(d) one parameter", mscfm_build(jobs, ["-p", f"{name}={value}"]), ours_root, env))
    param.note = f"-p {name}={value}; re-ran: {', '.join(param.ran) or 'none'}"
    asserts["(d) re-runs exactly the chapters declaring the parameter"] = (
        f"expected {', '.join(sorted(takers))}", param.ran == sorted(takers))
    ours["param"] = param

    importers = importing_chapters(ours_root, MODULE_EDITED)
    print(f"(e) mscfm/{MODULE_EDITED}.py edited ...", flush=True)
    edit_module(ours_root, MODULE_EDITED, 1)
    # The same -p as (d): the parameter stays, only the module changed.
    extra = ["-p", f"{name}={value}"]
    module = check(run_measured("(e) one module edited", mscfm_build(jobs, extra), ours_root, env))
    module.note = f"mscfm/{MODULE_EDITED}.py; re-ran: {', '.join(module.ran) or 'none'}"
    asserts["(e) re-runs only the chapters importing the module"] = (
        f"expected {', '.join(importers)}", module.ran == importers)
    ours["module"] = module

    run = Run(ours, [], execution, os.cpu_count() or 1, html_cold, asserts=asserts)
    if pdf and shutil.which("latexmk"):
        print("(f) with the PDF ...", flush=True)
        with_pdf = check(run_measured("(f) PDF added", mscfm_build(jobs, extra, pdf=True),
                                      ours_root, env))
        run.pdf_seconds = steps(with_pdf.output).get("pdf", with_pdf.seconds)
        ours["pdf"] = with_pdf
        print(f"(g) mscfm/{BOOK_MODULE_EDITED}.py edited, with the PDF ...", flush=True)
        edit_module(ours_root, BOOK_MODULE_EDITED, 1)
        again = check(run_measured("(g) book module edited, with PDF",
                                   mscfm_build(jobs, extra, pdf=True), ours_root, env))
        run.latex_skipped = "LaTeX source unchanged" in again.output
        again.note = f"re-ran: {', '.join(again.ran) or 'none'}; LaTeX skipped: {run.latex_skipped}"
        ours["pdf_again"] = again
    if peers:
        run.peers = peers_jupyter_book(ours_root, work, name, value, takers)
        quarto, run.quarto_reason = peer_quarto(ours_root, work, name, value, takers)
        run.peers += quarto
    return run


def table(run: Run) -> str:
    base = next((m.seconds for m in run.peers if m.label == "jupyter-book force, cold"), None)
    lines = [
        "| build | seconds | ratio to jupyter-book force | ratio to physical limit "
        "| peak memory (MB) | chapters executed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in [*run.ours.values(), *run.peers]:
        ratio = f"{m.seconds / base:.2f}" if base else "-"
        lines.append(
            f"| {m.label} | {m.seconds:.1f} | {ratio} | {m.seconds / run.limit:.2f} | "
            f"{m.peak_mb:.0f} | {len(m.ran)} |"
        )
    return "\n".join(lines)


def goals(run: Run) -> str:
    ours = run.ours
    cold, noop, param = ours["cold"], ours["noop"], ours["param"]
    base = next((m for m in run.peers if m.label == "jupyter-book force, cold"), None)
    peer_colds = [m for m in run.peers if "cold" in m.label]
    rows: list[tuple[str, str, str]] = []

    def row(goal: str, measured: str, met: bool | None) -> None:
        rows.append((goal, measured, "-" if met is None else ("yes" if met else "NO")))

    if base:
        row("cold HTML <= 0.35 x jupyter-book force", f"{cold.seconds / base.seconds:.2f} x",
            cold.seconds <= 0.35 * base.seconds)
        slower = [m.label for m in peer_colds if m.seconds <= cold.seconds]
        row("cold HTML below every peer's cold build",
            "faster than " + ", ".join(m.label for m in peer_colds), not slower)
        row("one parameter -> HTML <= 0.10 x jupyter-book force",
            f"{param.seconds / base.seconds:.2f} x", param.seconds <= 0.10 * base.seconds)
    for goal, (measured, met) in run.asserts.items():
        row(goal, measured, met)
    over = [r["seconds"] - r["cell_seconds"] for r in run.execution.rows.values()] or [0.0]
    ready = [r["ready_seconds"] for r in run.execution.rows.values()] or [0.0]
    row("fixed overhead per chapter <= 1.0 s (kernel ready, imports done)",
        f"ready: mean {sum(ready) / len(ready):.2f} s, max {max(ready):.2f} s; wall - cells: "
        f"mean {sum(over) / len(over):.2f} s", max(ready) <= 1.0)
    if run.pdf_seconds is not None:
        share = run.pdf_seconds / (cold.seconds + run.pdf_seconds)
        row("PDF's share of a cold build with PDF (reported)",
            f"{run.pdf_seconds:.1f} s of {cold.seconds + run.pdf_seconds:.1f} s = "
            f"{100 * share:.0f} %", None)
        row("LaTeX runs only when its source changed ((g) kept the PDF)",
            f"LaTeX skipped in (g): {run.latex_skipped}", bool(run.latex_skipped))
    row("no-op build <= 2 % of cold", f"{100 * noop.seconds / cold.seconds:.1f} %",
        noop.seconds <= 0.02 * cold.seconds)
    peak = max(m.peak_mb for m in run.ours.values())
    row("peak memory of mscfm build < 1.5 GB", f"{peak:.0f} MB", peak < 1536)
    lines = ["| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {g} | {v} | {m} |" for g, v, m in rows]
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
    parser.add_argument("--no-pdf", action="store_true", help="skip (f) and (g)")
    parser.add_argument("--no-peers", action="store_true", help="skip jupyter-book and Quarto")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away copies")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mscfm-bench-"))
    try:
        only = [c.strip() for c in args.chapters.split(",")] if args.chapters else []
        run = benchmark(work, args.jobs, only, pdf=not args.no_pdf, peers=not args.no_peers)
    finally:
        if args.keep:
            print(f"copies kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n## Build benchmark ({run.cores} cores, mscfm build --jobs {args.jobs})\n")
    print("### Per chapter, cold build\n")
    print(run.execution.table())
    print(
        f"\nPhysical limit: sum of the chapters' cell time {run.execution.cell_total:.1f} s / "
        f"{run.cores} cores + one Sphinx HTML write {run.html_cold:.1f} s = {run.limit:.1f} s\n"
    )
    print("### Builds\n")
    print(table(run))
    print()
    for m in [*run.ours.values(), *run.peers]:
        own = ", ".join(f"{k} {v:.1f} s" for k, v in steps(m.output).items() if k != "total")
        if m.note or own:
            print(f"- {m.label}: {m.note}" + (f" (steps: {own})" if own else ""))
    if run.quarto_reason:
        print(f"- Quarto: not measured: {run.quarto_reason}")
    print(
        "- peak memory: largest sum of RSS over the command's process tree, sampled every "
        f"{SAMPLE_S} s (psutil); shared pages are counted once per process"
    )
    print("\n### Goals\n")
    print(goals(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
