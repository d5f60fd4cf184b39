"""Publishing: the CI workflow, the citation and licence files, the data bundle, the colophon.

The workflow cannot run here, so these tests check what can be checked: it parses, it runs only
the README's commands, and what it publishes is where the build writes it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tomllib
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy
import pandas
import pytest
import yaml

from mscfm import bundle, colophon
from mscfm.cli import main as cli_main
from mscfm.cli.bundle import DEFAULT_OUT
from mscfm.errors import DataError
from mscfm.pipeline import book
from mscfm.pipeline.book import HTML_DIR, PDF_PATH

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
FIXTURE = Path(__file__).parent / "fixtures" / "datapkg"
SITE_PDF = f"{HTML_DIR}/book.pdf"
README_COMMANDS = ["make book", "make test"]
# Lines a `run:` step may hold besides the README's commands: staging files into the site.
STAGING_LINES = {f"cp {PDF_PATH} {SITE_PDF}", f".venv/bin/mscfm bundle --out {DEFAULT_OUT}"}
ALLOWED_ACTIONS = {
    "actions/checkout", "actions/setup-python", "actions/cache", "actions/upload-pages-artifact",
    "actions/deploy-pages", "actions/upload-artifact", "actions/download-artifact",
    "softprops/action-gh-release",
}


# --------------------------------------------------------------------------- the workflow


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _step_using(job: dict, action: str) -> dict:
    matches = [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]
    assert len(matches) == 1, f"expected one step using {action}"
    return matches[0]


def _run_lines(workflow: dict) -> list[str]:
    return [line.strip() for step in _steps(workflow) if "run" in step
            for line in step["run"].splitlines() if line.strip()]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_workflow_triggers_on_main_pull_requests_and_version_tags(workflow):
    triggers = _triggers(workflow)
    assert "main" in triggers["push"]["branches"]
    assert "v*" in triggers["push"]["tags"]
    assert "pull_request" in triggers


def test_workflow_runs_only_the_readme_commands_in_order(workflow):
    lines = _run_lines(workflow)
    assert [line for line in lines if line.startswith("make")] == README_COMMANDS
    assert set(lines) - set(README_COMMANDS) <= STAGING_LINES
    # Staging happens after the tests, so nothing is published from a failing build.
    assert lines.index("make test") < min(lines.index(line) for line in STAGING_LINES)


def test_readme_commands_exist_in_makefile_and_readme():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in README_COMMANDS:
        target = command.split()[1]
        assert any(line.startswith(f"{target}:") for line in makefile.splitlines()), target
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md not written yet")
    text = readme.read_text(encoding="utf-8")
    for command in README_COMMANDS:
        assert command in text


def test_workflow_uses_only_known_actions_and_python_311(workflow):
    used = {step["uses"].split("@")[0] for step in _steps(workflow) if "uses" in step}
    assert used <= ALLOWED_ACTIONS
    setup = _step_using(workflow["jobs"]["build"], "actions/setup-python")
    assert str(setup["with"]["python-version"]) == "3.11"


def test_workflow_caches_pip_keyed_on_the_lock(workflow):
    cache = _step_using(workflow["jobs"]["build"], "actions/cache")
    assert cache["with"]["path"] == "~/.cache/pip"
    assert "hashFiles('constraints.txt')" in cache["with"]["key"]


def test_workflow_publishes_what_the_build_produces(workflow):
    build = workflow["jobs"]["build"]
    site = _step_using(build, "actions/upload-pages-artifact")
    assert site["with"]["path"] == HTML_DIR
    kept = _step_using(build, "actions/upload-artifact")
    assert _lines(kept["with"]["path"]) == [SITE_PDF, DEFAULT_OUT]
    assert DEFAULT_OUT.startswith(HTML_DIR + "/")  # served by Pages beside the book


def test_publish_writes_the_paths_the_workflow_reads(tmp_path):
    html, pdf = tmp_path / "work" / "html", tmp_path / "work" / "book.pdf"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<html></html>")
    pdf.write_bytes(b"%PDF-1.5")
    book.publish(tmp_path, html, pdf)
    assert (tmp_path / HTML_DIR / "index.html").is_file()
    assert (tmp_path / PDF_PATH).read_bytes() == b"%PDF-1.5"


def test_deploy_job_runs_on_main_with_pages_permissions(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    _step_using(deploy, "actions/deploy-pages")


def test_release_job_attaches_pdf_and_bundle_on_tags(workflow):
    release = workflow["jobs"]["release"]
    assert release["needs"] == "build"
    assert "refs/tags/v" in release["if"]
    assert release["permissions"] == {"contents": "write"}
    attach = _step_using(release, "softprops/action-gh-release")
    names = [Path(p).name for p in (SITE_PDF, DEFAULT_OUT)]
    assert _lines(attach["with"]["files"]) == names
    assert workflow["permissions"] == {"contents": "read"}  # least privilege elsewhere


# --------------------------------------------------------------------------- citation, licences


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_citation_cff_has_required_keys_and_matches_the_package(pyproject):
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert {"cff-version", "message", "title", "authors"} <= set(cff)
    assert cff["cff-version"] == "1.2.0"
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert str(cff["version"]) == pyproject["version"]
    assert cff["license"] == pyproject["license"]
    datetime.strptime(str(cff["date-released"]), "%Y-%m-%d")
    preferred = cff["preferred-citation"]
    assert preferred["type"] == "report"
    assert preferred["title"] == cff["title"] and preferred["authors"]


def test_zenodo_json_has_title_creators_licence_and_matches_citation():
    zenodo = json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert zenodo["title"] == cff["title"]
    assert zenodo["creators"] and all(c["name"] for c in zenodo["creators"])
    assert zenodo["license"]
    assert (zenodo["upload_type"], zenodo["publication_type"]) == ("publication", "report")


def test_licences_name_mit_for_code_and_the_data_package_licence_for_data(pyproject):
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert pyproject["license"] == bundle.CODE_LICENCE
    package = json.loads((ROOT / "data" / "datapackage.json").read_text(encoding="utf-8"))
    data_licence = package["licenses"][0]["name"]
    assert data_licence == bundle.DATA_LICENCE
    assert data_licence in (ROOT / "LICENSE-DATA.md").read_text(encoding="utf-8")
    assert bundle.DATA_LICENCE_URL in (ROOT / "LICENSE-DATA.md").read_text(encoding="utf-8")
    page = (ROOT / "book" / "licence.md").read_text(encoding="utf-8")
    assert "MIT" in page and data_licence in page


def test_environment_yml_reuses_the_pip_lock(workflow):
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["name"] == "mscfm"
    deps = env["dependencies"]
    setup = _step_using(workflow["jobs"]["build"], "actions/setup-python")
    assert f"python={setup['with']['python-version']}" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-r requirements.txt", "-c constraints.txt", "-e ."]
    for line in pip[:2]:
        assert (ROOT / line.split()[1]).is_file()


# --------------------------------------------------------------------------- the data bundle


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    descriptor = json.loads((root / "data" / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"][0]["sources"] = [
        {"title": "Registry download", "path": "raw/registry_2022-10.json.gz"}]
    (root / "data" / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return root


def _names(payload: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return archive.namelist()


def test_bundle_is_byte_identical_across_runs_and_file_times(project):
    first = bundle.build_bundle(project)
    for path in (project / "data").rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    assert bundle.build_bundle(project) == first


def test_bundle_holds_every_resource_schema_and_the_references(project):
    payload = bundle.build_bundle(project)
    names = _names(payload)
    assert names == sorted(names)
    descriptor = json.loads((project / "data" / "datapackage.json").read_text(encoding="utf-8"))
    prefix = bundle.TOP_FOLDER + "/"
    for resource in descriptor["resources"]:
        assert f"{prefix}data/{resource['path']}" in names
        assert f"{prefix}data/{resource['schema']}" in names
    assert {f"{prefix}references.bib", f"{prefix}README.md",
            f"{prefix}data/datapackage.json"} <= set(names)


def test_bundle_readme_describes_tables_dates_and_licences(project):
    with zipfile.ZipFile(io.BytesIO(bundle.build_bundle(project))) as archive:
        readme = archive.read(f"{bundle.TOP_FOLDER}/README.md").decode("utf-8")
    descriptor = json.loads((project / "data" / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        assert resource["description"] in readme
    assert "2022-10" in readme and descriptor["created"][:10] in readme
    assert "CC-BY-4.0" in readme and "MIT" in readme and "references.bib" in readme


def test_bundle_extracted_copy_validates(project):
    assert bundle.validate_bundle(bundle.build_bundle(project)) == []


def test_invalid_data_is_not_bundled(project, tmp_path):
    studies = project / "data" / "studies.csv"
    lines = studies.read_text(encoding="utf-8").splitlines()
    studies.write_text("\n".join([lines[0], lines[1], lines[1], *lines[2:]]) + "\n",
                       encoding="utf-8")  # a duplicated primary key
    out = tmp_path / "bundle.zip"
    with pytest.raises(DataError, match="studies.csv"):
        bundle.write_bundle(project, out)
    assert not out.exists()


def test_cli_bundle_writes_the_default_path_the_workflow_publishes(project, monkeypatch,
                                                                    capsys):
    monkeypatch.setenv("MSCFM_ROOT", str(project))
    assert cli_main(["bundle"]) == 0
    written = project / DEFAULT_OUT
    assert written.read_bytes() == bundle.build_bundle(project)
    assert str(written) in capsys.readouterr().out


def test_real_project_bundle_contains_every_resource():
    names = set(_names(bundle.build_bundle(ROOT)))
    descriptor = json.loads((ROOT / "data" / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        assert f"{bundle.TOP_FOLDER}/data/{resource['path']}" in names


# --------------------------------------------------------------------------- the colophon


def _notebook(cells: list[tuple[str, str]]) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {"tags": [tag]}, "source": src, "outputs": [],
         "execution_count": None} for tag, src in cells]}


@pytest.fixture
def built(project) -> Path:
    """A project with one executed chapter whose `method` was overridden to DL."""
    executed = project / colophon.EXECUTED_DIR / "07_efficacy.ipynb"
    executed.parent.mkdir(parents=True)
    nb = _notebook([
        ("parameters", 'method: str = "REML"  # estimator\nlevels: list[int] = [1, 2]  # x\n'),
        ("injected-parameters", '# Parameters\nmethod = "DL"\nlevels = [1, 2]\n'),
    ])
    executed.write_text(json.dumps(nb), encoding="utf-8")
    (project / "notebooks").mkdir(exist_ok=True)  # the colophon lists chapters of the book only
    (project / "notebooks" / executed.name).write_text(json.dumps(nb), encoding="utf-8")
    return project


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                           "-c", "commit.gpgsign=false", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


NOW = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)


def test_colophon_names_commit_versions_dates_and_parameters(built):
    _git(built, "init", "-q")
    _git(built, "add", "-A")
    _git(built, "commit", "-q", "-m", "snapshot")
    commit = _git(built, "rev-parse", "HEAD")
    text = colophon.write_colophon(built, now=NOW).read_text(encoding="utf-8")
    assert f"`{commit}`" in text and "uncommitted" not in text
    assert "2026-11-27" in text  # the build date and the curation date
    assert "2022-10" in text
    assert f"| pandas | {pandas.__version__} |" in text
    assert f"| numpy | {numpy.__version__} |" in text
    assert "| 07_efficacy | `method` | `DL` | `REML` |" in text
    assert f"git checkout {commit}" in text
    assert "-p 07_efficacy.method=DL" in text and "levels=" not in text


def test_colophon_flags_uncommitted_changes(built):
    _git(built, "init", "-q")
    _git(built, "add", "-A")
    _git(built, "commit", "-q", "-m", "snapshot")
    (built / "data" / "studies.csv").write_text("changed\n", encoding="utf-8")
    assert colophon.git_state(built).dirty


def test_colophon_outside_git_says_so_and_uses_source_date_epoch(built, monkeypatch):
    monkeypatch.setattr(colophon, "git_state", lambda root: colophon.GitState(None))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 UTC
    text = colophon.render_colophon(colophon.gather(built))
    assert f"Git commit: {colophon.NOT_GIT}" in text and "\ngit checkout" not in text
    assert "Built on 2023-11-14" in text


def test_colophon_from_pipeline_parameters_uses_notebook_defaults(built):
    (built / "notebooks").mkdir(exist_ok=True)
    shutil.copy(built / colophon.EXECUTED_DIR / "07_efficacy.ipynb",
                built / "notebooks" / "07_efficacy.ipynb")
    info = colophon.gather(built, {"07_efficacy": {"method": "REML", "levels": [3, 4]}}, NOW)
    assert colophon.reproduce_command(info.chapters).endswith("-p 07_efficacy.levels=3,4")


def test_reproduce_command_is_plain_make_book_with_defaults():
    run = colophon.ChapterRun("01_a", {"x": 1, "flag": True}, {"x": 1, "flag": True})
    assert colophon.reproduce_command([run]) == "make book"
    changed = colophon.ChapterRun("01_a", {"x": 1, "flag": False}, {"x": 1, "flag": True})
    assert "-p 01_a.flag=false" in colophon.reproduce_command([changed])


def test_colophon_markdown_has_one_title_and_no_skipped_heading_levels(built):
    text = colophon.render_colophon(colophon.gather(built, now=NOW))
    in_code = False
    levels = []
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif line.startswith("#") and not in_code:
            levels.append(len(line) - len(line.lstrip("#")))
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert "{" not in text.replace("{}", "")  # no MyST roles or directives that could warn
