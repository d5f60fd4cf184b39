"""What keeps builds near their physical limit (issue: builds near the physical limit).

- A chapter kernel, started as the pipeline starts it, does not import rfc3987-syntax (its grammars
  cost seconds per kernel) and has the heavy modules imported without a name bound for them.
- An executed copy is a pure function of its inputs: papermill's injected cell gets a fixed id,
  timestamps and durations go, and an identical copy is not rewritten (Sphinx goes by mtime).
- LaTeX runs only when the LaTeX source changed.
- The executor registry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from mscfm.errors import BuildError
from mscfm.pipeline import book, kernels
from mscfm.pipeline.execute import INJECTED, _tidy_executed, cell_seconds, replace_if_changed
from mscfm.pipeline.executors import LocalPool, executor_for, executors
from mscfm.pipeline.notebooks import Chapter, Parameter

ROOT = Path(__file__).resolve().parents[1]

# What the efficacy chapter imports and reads, run in the kernel; then what the kernel holds.
CHAPTER_CODE = """
from mscfm import claims, data, efficacy, report
from mscfm.plots import forest, funnel
report.setup()
data.load("pooled")
import sys
seen = {
    "grammars": "rfc3987_syntax.syntax_helpers" in sys.modules,
    "real": getattr(sys.modules.get("rfc3987_syntax"), "__file__", None) is not None,
    "jsonschema": "jsonschema" in sys.modules,
    "bound": sorted({"pandas", "scipy", "matplotlib", "mscfm"} & set(dir())),
}
import jsonschema  # the deferred module still does its work when asked
checker = jsonschema.FormatChecker()
seen["iri"] = [checker.conforms(text, "iri") for text in ("http://example.org/a", "not an iri")]
print(json.dumps(seen))
"""


def _run_in_kernel(km, code: str) -> dict:
    from jupyter_core.utils import run_sync

    async def run() -> list[str]:
        kc = km.client()
        kc.start_channels()
        printed: list[str] = []
        try:
            await kc.wait_for_ready(timeout=kernels.READY_TIMEOUT_S)
            reply = await kc.execute_interactive(
                "import json\n" + code,
                timeout=120,
                output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
            )
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            kc.stop_channels()
        return printed

    return json.loads("".join(run_sync(run)()).strip().splitlines()[-1])


def test_a_chapter_kernel_does_not_import_rfc3987_syntax() -> None:
    km = kernels.start_kernel(ROOT)
    try:
        declared = json.dumps(["data/pooled.csv"])
        kernels.prepare(km, {"MSCFM_ROOT": str(ROOT), "MSCFM_DECLARED_INPUTS": declared})
        seen = _run_in_kernel(km, CHAPTER_CODE)
    finally:
        kernels.shutdown(km)
    assert seen["jsonschema"], "the chapter checked no schema: the test would prove nothing"
    assert not seen["grammars"] and not seen["real"], seen
    assert seen["bound"] == [], "start-up imports must not bind names the notebook did not import"
    assert seen["iri"] == [True, False]


def _papermill_output(path: Path) -> None:
    """A notebook as papermill leaves it: the stored cells keep their ids, the injected cell
    has a random one; timestamps and durations."""
    nb = nbformat.v4.new_notebook()
    title = nbformat.v4.new_markdown_cell("# Title")
    params = nbformat.v4.new_code_cell("scale: float = 1.0  # a scale")
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell("# Parameters\nscale = 2.0\n")
    injected.metadata["tags"] = ["injected-parameters"]
    work = nbformat.v4.new_code_cell("print(scale)")
    nb.cells = [title, params, injected, work]
    for cell_id, cell in zip(("title", "params", None, "work"), nb.cells, strict=True):
        cell.id = cell_id or cell.id
    for index, cell in enumerate(nb.cells):
        cell.metadata["papermill"] = {"start_time": f"2026-01-01T00:00:0{index}", "duration": 0.5}
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    nb.metadata["papermill"] = {"start_time": "2026-01-01T00:00:00", "duration": 2.0}
    nbformat.write(nb, path)


def _chapter(tmp_path: Path) -> Chapter:
    params = {"scale": Parameter("scale", "float", 1.0, "a scale")}
    return Chapter("01_x", tmp_path / "01_x.ipynb", (), 60, params)


def test_an_executed_copy_is_the_same_bytes_for_the_same_inputs(tmp_path: Path) -> None:
    chapter = _chapter(tmp_path)
    copies = []
    for run in ("a", "b"):
        path = tmp_path / f"{run}.ipynb"
        _papermill_output(path)  # a fresh random id for the injected cell each time
        assert cell_seconds(path) == 2.0
        _tidy_executed(path, chapter, {"scale": 2.0})
        copies.append(path.read_bytes())
    assert copies[0] == copies[1]
    nb = json.loads(copies[0])
    assert [c["id"] for c in nb["cells"] if INJECTED in c["metadata"]["tags"]] == [INJECTED]
    assert "papermill" not in nb["metadata"]
    assert not any({"papermill", "execution"} & set(c["metadata"]) for c in nb["cells"])


def test_an_identical_copy_keeps_the_old_file_and_its_modification_time(tmp_path: Path) -> None:
    target, new = tmp_path / "out.ipynb", tmp_path / "new.ipynb"
    target.write_text("same")
    os.utime(target, ns=(10**18, 10**18))
    new.write_text("same")
    assert replace_if_changed(new, target) is False
    assert target.stat().st_mtime_ns == 10**18 and not new.exists()
    new.write_text("other")
    assert replace_if_changed(new, target) is True
    assert target.read_text() == "other"


def test_the_main_process_keeps_an_identical_executed_copy_and_its_modification_time(
    tmp_path: Path,
) -> None:
    """The worker leaves its run staged; publishing an identical run rewrites nothing."""
    from mscfm.pipeline.execute import Job, publish_executed, staged_path

    chapter = _chapter(tmp_path)
    job = Job(chapter, {}, tmp_path, publish=False)
    out, staged = chapter.executed_path(tmp_path), staged_path(chapter, tmp_path)
    out.parent.mkdir(parents=True)
    out.write_text("same")
    os.utime(out, ns=(10**18, 10**18))
    staged.write_text("same")
    assert publish_executed(job) is False
    assert out.stat().st_mtime_ns == 10**18 and not staged.exists()
    staged.write_text("changed")
    assert publish_executed(job) is True
    assert out.read_text() == "changed" and not staged.exists()


@pytest.fixture
def latex_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work folder as Sphinx's LaTeX builder leaves it; Sphinx and make are stand-ins."""
    latex = tmp_path / book.WORK_DIR / "_build" / "latex"
    latex.mkdir(parents=True)
    (latex / "book.tex").write_text("\\documentclass{book}")
    (latex / "figure.png").write_bytes(b"png")
    monkeypatch.setattr(book, "check_tex", lambda: None)
    monkeypatch.setattr(book, "_run_sphinx", lambda *args: None)
    return tmp_path


def test_latex_runs_only_when_its_source_changed(
    latex_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    latex = latex_project / book.WORK_DIR / "_build" / "latex"
    runs: list[str] = []

    def make(cmd, cwd, **kwargs):
        runs.append(cwd)
        for suffix in (".pdf", ".aux", ".log"):  # what LaTeX writes is not its source
            (Path(cwd) / f"book{suffix}").write_text(f"made {len(runs)}")
        return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    monkeypatch.setattr(book.subprocess, "run", make)
    (latex_project / "_build" / "reports").mkdir(parents=True)
    assert book.build_pdf(latex_project)[1] is True
    assert book.build_pdf(latex_project)[1] is False  # same source: the PDF is kept
    assert len(runs) == 1
    (latex / "figure.png").write_bytes(b"another png")
    assert book.build_pdf(latex_project)[1] is True
    (latex / "book.pdf").unlink()
    assert book.build_pdf(latex_project)[1] is True  # no PDF: LaTeX runs whatever the hash
    assert len(runs) == 3


def test_executors_are_registered_by_name_and_an_unknown_one_is_refused() -> None:
    assert isinstance(executor_for(jobs=3), LocalPool) and executor_for(jobs=3).workers == 3
    assert type(executor_for(scheduler="tcp://127.0.0.1:1")).__name__ == "DaskCluster"
    with pytest.raises(BuildError, match="no executor named 'slurm'; executors: dask, local"):
        executors.get("slurm")


def test_a_build_on_dask_gets_back_the_staged_run_and_publishes_it_itself(
    mini_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build's worker leaves its run staged (``publish=False``), possibly on a file system of
    its own: the client writes the run that came back at the staged path, and the main process
    publishes and records it (`build.accept`). Dask is a stand-in that runs each task at once."""
    import sys
    import types

    from mscfm.pipeline import build
    from mscfm.pipeline import executors as executors_module
    from mscfm.pipeline.execute import Outcome, staged_path
    from mscfm.pipeline.state import BuildState

    def run_on_worker(job):
        staged = staged_path(job.chapter, job.root)
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(json.dumps({"run": job.chapter.name}), encoding="utf-8")
        assert job.publish is False  # a build publishes in its main process
        return Outcome(job.chapter.name, True, 0.1)

    class Done:
        def __init__(self, key: str, value: object) -> None:
            self.key, self.value = key, value

        def result(self) -> object:
            return self.value

    class Client:
        def __init__(self, address: str, timeout: str) -> None:
            self.address = address

        def __enter__(self) -> Client:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def map(self, fn, jobs, pure, key):
            done = []
            for job, task_key in zip(jobs, key, strict=True):
                done.append(Done(task_key, fn(job)))
                staged_path(job.chapter, job.root).unlink()  # the worker's disk is not ours
            return done

    fake = types.ModuleType("distributed")
    fake.Client, fake.as_completed = Client, iter
    monkeypatch.setitem(sys.modules, "distributed", fake)
    monkeypatch.setattr(executors_module, "execute_job", run_on_worker)
    decisions = build.plan(mini_project, build.BuildOptions())
    assert decisions and all(d.rerun for d in decisions)
    outcomes = build.execute(mini_project, decisions, 1, scheduler="tcp://scheduler:8786")
    assert [o.ok for o in outcomes] == [True] * len(decisions)
    state = BuildState(mini_project)
    for decision in decisions:
        executed = decision.chapter.executed_path(mini_project)
        assert json.loads(executed.read_text(encoding="utf-8")) == {"run": decision.chapter.name}
        assert not staged_path(decision.chapter, mini_project).exists()
        assert not state.decide(decision.chapter, decision.parameters, mini_project).rerun
