"""`mscfm bundle` and `mscfm validate` on hostile or odd input: only declared files are packed,
no symlink leads out of the project, `schema` paths stay inside data/, and an existing folder is
never taken as the zip to write."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from mscfm import bundle
from mscfm.cli import main as cli_main
from mscfm.data import validate
from mscfm.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "datapkg"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    return root


def names(payload: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return {n.removeprefix(f"{bundle.TOP_FOLDER}/") for n in archive.namelist()}


def edit_descriptor(root: Path, index: int, **changes: str) -> None:
    path = root / "data" / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    descriptor["resources"][index].update(changes)
    path.write_text(json.dumps(descriptor), encoding="utf-8")


def test_only_declared_resources_are_packed(project: Path) -> None:
    (project / "data" / "registry_2025-01-02.csv").write_text("nct_id\nNCT1\n", encoding="utf-8")
    (project / "data" / "schema" / "draft.schema.json").write_text("{}", encoding="utf-8")
    packed = names(bundle.build_bundle(project))
    assert "data/registry_2025-01-02.csv" not in packed
    assert "data/schema/draft.schema.json" not in packed
    assert {"data/studies.csv", "data/schema/studies.schema.json"} <= packed


def test_a_symlink_out_of_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    shutil.copy(project / "data" / "studies.csv", outside)
    (project / "data" / "studies.csv").unlink()
    (project / "data" / "studies.csv").symlink_to(outside)
    out = tmp_path / "bundle.zip"
    with pytest.raises(DataError, match=r"data/studies.csv.*outside the project"):
        bundle.write_bundle(project, out)
    assert not out.exists()


def test_a_symlinked_register_out_of_the_project_is_refused(project: Path,
                                                            tmp_path: Path) -> None:
    outside = tmp_path / "secret.bib"
    shutil.copy(project / "references.bib", outside)
    (project / "references.bib").unlink()
    (project / "references.bib").symlink_to(outside)
    with pytest.raises(DataError, match=r"references.bib.*outside the project"):
        bundle.build_bundle(project)


def test_a_symlink_inside_the_project_is_followed(project: Path) -> None:
    kept = project / "curated" / "studies.csv"
    kept.parent.mkdir()
    shutil.move(project / "data" / "studies.csv", kept)
    (project / "data" / "studies.csv").symlink_to(kept)
    payload = bundle.build_bundle(project)
    assert "data/studies.csv" in names(payload)
    assert bundle.validate_bundle(payload) == []


@pytest.mark.parametrize("schema", ["../../outside.schema.json", "/etc/outside.schema.json"])
def test_schema_paths_stay_inside_data(project: Path, tmp_path: Path, schema: str) -> None:
    shutil.copy(project / "data" / "schema" / "claim_evidence.schema.json",
                tmp_path / "outside.schema.json")
    edit_descriptor(project, 2, schema=schema)  # claim_evidence: no other table points at it
    problems = validate(project)
    assert [(p.file, p.column) for p in problems] == [("data/datapackage.json", "resources[2]")]
    assert f"schema {schema!r} must stay inside data/" in problems[0].message
    with pytest.raises(DataError, match="must stay inside data/"):
        bundle.build_bundle(project)


def test_an_existing_folder_is_refused_as_out(project: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("kept", encoding="utf-8")
    monkeypatch.setenv("MSCFM_ROOT", str(project))
    assert cli_main(["bundle", "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{folder} is a folder" in err
    assert sorted(p.name for p in folder.iterdir()) == ["index.html"]
    assert not list(tmp_path.glob("*.incoming"))
