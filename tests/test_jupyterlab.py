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
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def lab(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    folder = base / "work"
    folder.mkdir()
    for sub in ("config", "runtime", "data", "workspaces", "settings"):
        (base / sub).mkdir()
    _write_settings(base / "settings")
    jupyter = Path(sys.executable).with_name("jupyter")  # the venv running the tests
    token = os.urandom(16).hex()
    port = _free_port()
    env = {
        **os.environ,
        "MSCFM_ROOT": str(project_root),  # the chapter is a copy outside the project
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    env.pop("MSCFM_DECLARED_INPUTS", None)  # not a build
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
def browser(lab: Lab) -> Iterator[playwright_sync.Browser]:
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


def _run_in_lab(browser: playwright_sync.Browser, lab: Lab, source: Path) -> RunView:
    shutil.copy(source, lab.folder / source.name)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        # A workspace of its own, reset: only this chapter is open (and current).
        page.goto(f"{lab.url}lab/workspaces/{source.stem}/tree/{source.name}"
                  f"?reset&token={lab.token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=START_TIMEOUT_S * 1000)
        running = page.evaluate(RUN_ALL)
        assert running == source.name, f"JupyterLab ran {running}, not {source.name}"
        try:
            page.wait_for_function(ALL_RUN, timeout=RUN_TIMEOUT_S * 1000, polling=500)
        except playwright_sync.TimeoutError:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{source.stem}-timeout.png"))
            pytest.fail(f"{source.stem} did not finish in {RUN_TIMEOUT_S} s in JupyterLab; "
                        f"state: {page.evaluate(RUN_STATE)}; server log: {lab.log}")
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
        # A window as tall as the notebook, so one screenshot shows every cell.
        height = page.evaluate(f"() => document.querySelector('{SCROLLER}').scrollHeight")
        page.set_viewport_size({"width": 1280, "height": min(height + 200, MAX_SCREENSHOT_PX)})
        page.wait_for_timeout(500)  # let the layout follow the new size
        page.evaluate(f"() => {{ document.querySelector('{SCROLLER}').scrollTop = 0; }}")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{source.stem}.png"
        page.screenshot(path=str(shot))
        return RunView(images, errors, text, shot)
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
