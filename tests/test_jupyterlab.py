"""A researcher's view: a chapter opened and run in JupyterLab, in a real browser.

JupyterLab is started from the project's venv on localhost (a free port, a token, no browser of
its own, settings and runtime files in a temporary folder); Playwright drives Debian's chromium.
Each chapter is copied to a temporary folder first, so nothing the session does (autosave,
checkpoints) can touch the notebooks in git. A screenshot of the whole run notebook is kept in
test-artifacts/jupyterlab/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import playwright.sync_api as playwright_sync
import pytest
from chromium import CHROMIUM_ARGS, chromium_path
from minibook import ARTIFACTS, glue_figure_names

pytestmark = pytest.mark.slow

SCREENSHOTS = ARTIFACTS / "jupyterlab"
CHAPTERS = ("07_efficacy", "06_trial_landscape")  # the pooling chapter, and one with no pooling
START_TIMEOUT_S = 90
RUN_TIMEOUT_S = 300
MAX_SCREENSHOT_PX = 30000
SCROLLER = ".jp-NotebookPanel .jp-WindowedPanel-outer"  # the notebook's scrolling box
# User settings for this session only: no autosave (the copy stays as copied), no news prompt
# over the outputs, and every cell kept in the page (windowing would drop off-screen outputs).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    folder: Path
    log: Path


def _write_settings(folder: Path) -> None:
    for relative, values in SETTINGS.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _wait_until_up(proc: subprocess.Popen, lab: Lab) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n"
                        + lab.log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(f"{lab.url}api/status?token={lab.token}", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT_S} s; log: {lab.log}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its kernels (its own process group, started by this test)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def serving(folder: Path, base: Path, mscfm_root: Path | None) -> Iterator[Lab]:
    """JupyterLab on ``folder`` (its settings, runtime files and log under ``base``), stopped
    on leaving, also on failure. ``mscfm_root`` is the report for chapters copied out of it."""
    for sub in ("config", "runtime", "data", "workspaces", "settings"):
        (base / sub).mkdir(parents=True)
    _write_settings(base / "settings")
    jupyter = Path(sys.executable).with_name("jupyter")  # the venv running the tests
    token = os.urandom(16).hex()
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    env.pop("MSCFM_DECLARED_INPUTS", None)  # not a build
    env.pop("MSCFM_ROOT", None)
    if mscfm_root is not None:
        env["MSCFM_ROOT"] = str(mscfm_root)
    command = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={folder}", "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:  # CI runs as root
        command.append("--allow-root")
    log = base / "server.log"
    lab = Lab(f"http://127.0.0.1:{port}/", token, folder, log)
    with log.open("w") as log_file:
        proc = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_until_up(proc, lab)
        yield lab
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def lab(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a folder of chapter copies (the chapters in git are never touched)."""
    base = tmp_path_factory.mktemp("jupyterlab")
    (base / "work").mkdir()
    with serving(base / "work", base, mscfm_root=project_root) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_sync.Browser]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# JupyterLab's own command, as Run > Run All Cells does it, once the kernel is ready.
RUN_ALL = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.sessionContext.ready;
    await window.jupyterapp.commands.execute('notebook:run-all-cells');
    return panel.context.path;
}"""
# The kernel's status and each code cell's prompt ("[3]:" once run, "[*]:" while running).
RUN_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return {kernel: kernel ? kernel.status : 'none',
            prompts: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'),
                                p => p.textContent.trim())};
}"""
# Done when every code cell shows an execution count and the kernel is idle.
ALL_RUN = f"""() => {{
    const state = ({RUN_STATE})();
    return state.kernel === 'idle' && state.prompts.length > 0
        && state.prompts.every(p => /^\\[\\d+\\]:$/.test(p));
}}"""


@dataclass
class RunView:
    images: int
    errors: list[str]
    text: str
    screenshot: Path


def _open(page: playwright_sync.Page, lab: Lab, path: str) -> None:
    """Open ``path`` (relative to the served folder) alone, in a fresh workspace of its own."""
    page.goto(f"{lab.url}lab/workspaces/{Path(path).stem}/tree/{path}?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=START_TIMEOUT_S * 1000)


def _run_all(page: playwright_sync.Page, lab: Lab, path: str) -> None:
    """Run all cells; wait until the kernel is idle and every cell has run."""
    name = Path(path).stem
    running = page.evaluate(RUN_ALL)
    assert running == path, f"JupyterLab ran {running}, not {path}"
    try:
        page.wait_for_function(ALL_RUN, timeout=RUN_TIMEOUT_S * 1000, polling=500)
    except playwright_sync.TimeoutError:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-timeout.png"))
        pytest.fail(f"{path} did not finish in {RUN_TIMEOUT_S} s in JupyterLab; "
                    f"state: {page.evaluate(RUN_STATE)}; server log: {lab.log}")


def _screenshot_whole_notebook(page: playwright_sync.Page, name: str) -> Path:
    """A window as tall as the notebook, so one screenshot shows every cell."""
    height = page.evaluate(f"() => document.querySelector('{SCROLLER}').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(height + 200, MAX_SCREENSHOT_PX)})
    page.wait_for_timeout(500)  # let the layout follow the new size
    page.evaluate(f"() => {{ document.querySelector('{SCROLLER}').scrollTop = 0; }}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(shot))
    return shot


def _run_in_lab(browser: playwright_sync.Browser, lab: Lab, source: Path) -> RunView:
    shutil.copy(source, lab.folder / source.name)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        _open(page, lab, source.name)
        _run_all(page, lab, source.name)
        page.evaluate("""async () => {  // every output image decoded before counting
            for (const img of document.querySelectorAll('.jp-OutputArea-output img')) {
                try { await img.decode(); } catch (e) {}
            }
        }""")
        images = page.eval_on_selector_all(
            ".jp-OutputArea-output img", "els => els.filter(i => i.naturalWidth > 0).length")
        errors = page.eval_on_selector_all(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]',
            "els => els.map(e => e.innerText.slice(0, 500))")
        text = page.inner_text(".jp-NotebookPanel .jp-Notebook")
        return RunView(images, errors, text, _screenshot_whole_notebook(page, source.stem))
    finally:
        context.close()


@pytest.fixture(scope="module")
def runs(project_root: Path, lab: Lab, browser: playwright_sync.Browser) -> dict[str, RunView]:
    return {name: _run_in_lab(browser, lab, project_root / "notebooks" / f"{name}.ipynb")
            for name in CHAPTERS}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_without_errors(runs: dict[str, RunView], chapter: str) -> None:
    assert not runs[chapter].errors, f"{chapter} raised in JupyterLab: {runs[chapter].errors}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_figure_of_the_chapter_is_rendered(
    project_root: Path, runs: dict[str, RunView], chapter: str
) -> None:
    figures = glue_figure_names(project_root / "notebooks" / f"{chapter}.ipynb")
    assert figures, f"{chapter} has no figure to look for"
    assert runs[chapter].images == len(figures), (
        f"{chapter}: {runs[chapter].images} images in the outputs, {len(figures)} figures "
        f"in the chapter ({', '.join(figures)}); see {runs[chapter].screenshot}")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_raw_glue_markup_is_visible(runs: dict[str, RunView], chapter: str) -> None:
    view = runs[chapter]
    assert "Key numbers" in view.text  # the numbers the prose names are there
    lines = [line for line in view.text.splitlines() if "{glue" in line]
    assert not lines, f"{chapter} shows raw glue markup: {lines[:5]}; see {view.screenshot}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_screenshot_is_kept(runs: dict[str, RunView], chapter: str) -> None:
    assert runs[chapter].screenshot.stat().st_size > 10_000


# --------------------------------------------------------------------------- parameters


# The researcher's edit: the parameters cell gets new text, as typing it would give.
SET_PARAMETERS = """async (text) => {
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.context.ready;
    const cell = panel.content.widgets.find(
        c => (c.model.getMetadata('tags') || []).includes('parameters'));
    if (!cell) {
        return panel.content.widgets.map(c => JSON.stringify(c.model.toJSON().metadata));
    }
    cell.model.sharedModel.setSource(text);
    return 'set';
}"""
NEW_PARAMETERS = ('scale: float = 3.0  # multiply the values by this\n'
                  'label: str = "values"  # name shown in the text\n')
SAVE = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await window.jupyterapp.commands.execute('docmanager:save');
    return panel.context.model.dirty;
}"""


def test_parameters_changed_in_jupyterlab_are_what_the_book_shows(
    tmp_path: Path, browser: playwright_sync.Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Build; change a parameter in JupyterLab, run, save (outputs and all); build again."""
    from conftest import make_mini_project

    from mscfm.pipeline import book
    from mscfm.pipeline.build import BuildOptions, run_build

    root = make_mini_project(tmp_path / "mini")
    chapter = root / "notebooks" / "01_good.ipynb"
    page_path = root / book.HTML_DIR / "book" / "_executed" / "01_good.html"
    monkeypatch.setenv("MSCFM_ROOT", str(root))
    run_build(root, BuildOptions(pdf=False, jobs=1))
    assert "4.0" in page_path.read_text(encoding="utf-8")  # the sum at the default scale 1
    monkeypatch.delenv("MSCFM_ROOT")
    with serving(root, tmp_path / "lab", mscfm_root=None) as lab:  # root found from notebooks/
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            _open(page, lab, "notebooks/01_good.ipynb")
            edited = page.evaluate(SET_PARAMETERS, NEW_PARAMETERS)
            assert edited == "set", f"no cell tagged 'parameters' in JupyterLab: {edited}"
            _run_all(page, lab, "notebooks/01_good.ipynb")
            assert page.evaluate(SAVE) is False, "JupyterLab did not save the notebook"
            _screenshot_whole_notebook(page, "mini_01_good_scale_3")
        finally:
            context.close()
    saved = json.loads(chapter.read_text(encoding="utf-8"))
    assert any(c.get("outputs") for c in saved["cells"]), "saved without outputs: not a real run"

    monkeypatch.setenv("MSCFM_ROOT", str(root))
    run_build(root, BuildOptions(pdf=False, jobs=1))
    page_html = page_path.read_text(encoding="utf-8")
    # The mini chapter glues the sum of its values (1.5 + 2.5) times `scale`.
    assert "12.0" in page_html and "4.0" not in page_html
    rows = [row for row in re.findall(r"<tr.*?</tr>", page_html, re.DOTALL) if ">scale<" in row]
    assert len(rows) == 1 and ">3.0<" in rows[0], f"'Parameters used' row of scale: {rows}"
