"""What the workspace's pipelines declare: every dvc.yaml, read once, without importing DVC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlci import workspace
from mlci.errors import UsageError
from tests.conftest import ROOT


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_reference_project_declarations() -> None:
    project = workspace.load_project(ROOT)
    assert project.pipelines == ["dvc.yaml"]
    assert project.stages == ["prepare", "train", "evaluate"]
    assert project.metrics == ["metrics/metrics.json"]
    assert "plots/confusion.csv" in project.plots
    assert project.artifacts["digits"]["type"] == "model"
    assert project.params == {"params.yaml": ["prepare", "train"]}
    params = project.read_params()
    assert params["prepare.seed"] == 42
    assert params["train.backend"] == "sklearn"


def test_params_forms_as_dvc_params_show_gives_them(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: x\n    params:\n      - lr\n"
            "      - other.yaml:\n          - depth\n      - whole.yaml:\n"
            "metrics:\n  - m.json\n",
            "params.yaml": "lr: 0.1\nunused: 1\n",
            "other.yaml": "depth: 3\nwidth: 4\n",
            "whole.yaml": "a:\n  b: [1, 2]\n",
        },
    )
    project = workspace.load_project(tmp_path)
    # the whole root params.yaml, as `dvc params diff --all` shows it; elsewhere what is declared
    assert project.read_params() == {
        "lr": 0.1,
        "unused": 1,
        "other.yaml:depth": 3,
        "whole.yaml:a.b": [1, 2],
    }
    assert project.params == {"params.yaml": ["lr"], "other.yaml": ["depth"], "whole.yaml": []}
    assert project.metrics == ["m.json"]


def test_sub_folder_pipelines_are_read_with_repo_relative_paths(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "a/dvc.yaml": "stages:\n  train:\n    cmd: x\n    params: [lr]\n"
            "    outs: [model.pkl]\n    metrics: [m.json]\n"
            "artifacts:\n  clf:\n    path: model.pkl\n    type: model\n"
            "  remote:\n    path: s3://bucket/model.pkl\n",
            "a/params.yaml": "lr: 0.1\n",
            "b/sub/dvc.yaml": "stages:\n  s:\n    cmd: y\n    wdir: ..\n    plots: [p.csv]\n",
        },
    )
    project = workspace.load_project(tmp_path)
    assert project.pipelines == ["a/dvc.yaml", "b/sub/dvc.yaml"]
    assert project.stages == ["a/dvc.yaml:train", "b/sub/dvc.yaml:s"]
    assert project.params == {"a/params.yaml": ["lr"]}
    assert project.read_params() == {"a/params.yaml:lr": 0.1}
    assert project.metrics == ["a/m.json"]
    assert project.plots == ["b/p.csv"]
    # named as GTO's tags name them (`dir:name`); a path in the repository made repo-relative
    assert project.artifacts == {
        "a:clf": {"path": "a/model.pkl", "type": "model"},
        "a:remote": {"path": "s3://bucket/model.pkl"},
    }
    assert project.declared_in == {"a/m.json": "a/dvc.yaml", "b/p.csv": "b/sub/dvc.yaml"}


def test_no_dvc_yaml_anywhere(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("lr: 1\n")
    assert workspace.find_project(tmp_path) is None
    with pytest.raises(UsageError, match=r"^no dvc\.yaml in ") as info:
        workspace.load_project(tmp_path)
    assert info.value.exit_code == 2


def test_without_targets_and_no_root_dvc_yaml_the_pipelines_are_named(tmp_path: Path) -> None:
    for folder in ("b", "a"):
        _write(tmp_path, {f"{folder}/dvc.yaml": "stages:\n  s:\n    cmd: x\n"})
    project = workspace.load_project(tmp_path)
    project.refuse_without_targets(("a/dvc.yaml",), "run")  # a target: DVC takes it
    with pytest.raises(UsageError, match=r"the pipelines are in a/dvc\.yaml, b/dvc\.yaml") as info:
        project.refuse_without_targets((), "run")
    assert info.value.hint == "name the pipelines to run: mlci run a/dvc.yaml b/dvc.yaml"
    _write(tmp_path, {"dvc.yaml": "stages:\n  root:\n    cmd: x\n"})
    workspace.load_project(tmp_path).refuse_without_targets((), "run")  # the root one runs


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, {"dvc.yaml": "stages: {}\n", "a/dvc.yaml": "stages:\n  a:\n    cmd: [x\n"})
    with pytest.raises(UsageError, match=r"^a/dvc\.yaml:4: malformed YAML") as info:
        workspace.load_project(tmp_path)
    assert info.value.exit_code == 2


def test_missing_params_file_names_its_pipeline(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "sub/dvc.yaml": "stages:\n  a:\n    cmd: x\n    params:\n      - p.yaml:\n          - k\n"
        },
    )
    with pytest.raises(
        UsageError, match=r"^sub/p\.yaml: params file declared in sub/dvc\.yaml is missing"
    ):
        workspace.load_project(tmp_path).read_params()


def test_malformed_params_names_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, {"dvc.yaml": "stages:\n  a:\n    cmd: x\n", "params.yaml": "a: [1\n"})
    project = workspace.load_project(tmp_path)  # the declarations read; the params do not
    with pytest.raises(UsageError, match=r"^params\.yaml:2: malformed YAML"):
        project.read_params()


def test_stage_must_be_mapping(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  a: just a string\n")
    with pytest.raises(UsageError, match=r"^dvc\.yaml:2: stage 'a' must be a mapping"):
        workspace.load_project(tmp_path)


def test_reading_declarations_does_not_import_dvc() -> None:
    code = (
        "import sys; from pathlib import Path; from mlci import workspace;"
        f"workspace.load_project(Path({str(ROOT)!r})).read_params();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'dvc','mlflow','git','pandas'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
