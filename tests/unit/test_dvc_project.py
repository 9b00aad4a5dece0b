"""Reading DVC's declarations without importing DVC."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlci import dvc
from mlci.errors import UsageError
from tests.conftest import ROOT


def test_reference_project_declarations() -> None:
    project = dvc.load_project(ROOT)
    assert project.stages == ["prepare", "train", "evaluate"]
    assert project.metrics == ["metrics/metrics.json"]
    assert "plots/confusion.csv" in project.plots
    assert project.artifacts["digits"]["type"] == "model"
    assert project.params == {"params.yaml": ["prepare", "train"]}
    params = project.read_params()
    assert params["prepare.seed"] == 42
    assert params["train.backend"] == "sklearn"


def test_params_forms(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  a:\n    cmd: x\n    params:\n      - lr\n      - other.yaml:\n          - depth\n"
        "      - whole.yaml:\n"
        "metrics:\n  - m.json\n"
    )
    (tmp_path / "params.yaml").write_text("lr: 0.1\nunused: 1\n")
    (tmp_path / "other.yaml").write_text("depth: 3\nwidth: 4\n")
    (tmp_path / "whole.yaml").write_text("a:\n  b: [1, 2]\n")
    project = dvc.load_project(tmp_path)
    assert project.read_params() == {
        "lr": 0.1,
        "other.yaml:depth": 3,
        "whole.yaml:a.b": [1, 2],
    }
    assert project.metrics == ["m.json"]


def test_flatten_like_dvc() -> None:
    assert dvc.flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}, "f": {}}) == {
        "a": 1,
        "b.c": 2,
        "b.d.e": 3,
        "f": {},
    }


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  a:\n    cmd: [x\n")
    with pytest.raises(UsageError, match=r"^dvc\.yaml:4:1: malformed YAML"):
        dvc.load_project(tmp_path)


def test_missing_params_file(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  a:\n    cmd: x\n    params:\n      - p.yaml:\n          - k\n"
    )
    with pytest.raises(UsageError, match=r"p\.yaml: params file declared in dvc.yaml is missing"):
        dvc.load_project(tmp_path).read_params()


def test_stage_must_be_mapping(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  a: just a string\n")
    with pytest.raises(UsageError, match="stage 'a' must be a mapping"):
        dvc.load_project(tmp_path)


def test_reading_declarations_does_not_import_dvc() -> None:
    import subprocess

    code = (
        "import sys; from pathlib import Path; from mlci import dvc;"
        f"dvc.load_project(Path({str(ROOT)!r})).read_params();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'dvc','mlflow','git','pandas'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_yaml_like_dvc_reads_it() -> None:
    # DVC reads YAML 1.2: exponents without a dot are numbers, on/yes and dates stay strings
    assert dvc.parse(
        "lr: 1e-4\nshuffle: on\nask: yes\nday: 2024-01-01\nn: 42\nx: 1.5\nok: true\n"
    ) == {
        "lr": 0.0001,
        "shuffle": "on",
        "ask": "yes",
        "day": "2024-01-01",
        "n": 42,
        "x": 1.5,
        "ok": True,
    }
    assert dvc.parse('{"loss": 1e-05}', "metrics.json") == {"loss": 1e-05}
