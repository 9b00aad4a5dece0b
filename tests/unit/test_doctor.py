from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci.cli import cli
from tests.conftest import BIN, sh


def doctor(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-C", str(path), "doctor", *args])
    return result.exit_code, result.output


def test_healthy_repo(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_supersecretvalue123")
    code, output = doctor(tiny)
    assert code == 0, output
    assert "ghs_supersecretvalue123" not in output
    code, output = doctor(tiny, "--format", "json")
    assert "ghs_supersecretvalue123" not in output
    rows = {row["name"]: row for row in json.loads(output)}
    assert rows["git"]["status"] == "ok" and "on main @ " in rows["git"]["detail"]
    assert rows["dvc"]["detail"] == "dvc.yaml found"
    remote = rows["dvc remote"]["detail"]
    assert remote.startswith("embedded 'mlci-embedded'") and "created on the first push" in remote
    assert rows["mlflow"]["detail"].startswith("local store sqlite:///")
    assert rows["github token"]["detail"] == "GITHUB_TOKEN is set"
    assert "CPUs" in rows["runner"]["detail"] and "RAM" in rows["runner"]["detail"]
    assert rows["docker"]["status"] in {"ok", "info"}


def test_json_output(tiny: Path) -> None:
    code, output = doctor(tiny, "--format", "json")
    assert code == 0
    rows = json.loads(output)
    assert {row["name"] for row in rows} >= {
        "config",
        "git",
        "dvc",
        "dvc remote",
        "mlflow",
        "runner",
        "docker",
    }
    assert all(row["status"] in {"ok", "warn", "fail", "info"} for row in rows)


def test_not_a_dvc_repo_fails(tmp_path: Path) -> None:
    sh("git", "init", "-q", cwd=tmp_path)
    code, output = doctor(tmp_path)
    assert code == 1
    assert "not a DVC repository" in output


def test_unreachable_remote_and_tracking_server(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sh(str(BIN / "dvc"), "remote", "add", "-d", "store", "http://127.0.0.1:9/dvc", cwd=tiny)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    code, output = doctor(tiny)
    assert code == 1
    assert "✗ dvc remote" in output and "'store' (http://127.0.0.1:9/dvc) is unreachable" in output
    assert "✗ mlflow" in output and "http://127.0.0.1:9 is unreachable" in output


def test_require_gpu_without_gpu_is_a_failure(make_tiny: object) -> None:
    repo = make_tiny(pyproject="[tool.mlci]\nrequire_gpu = true\n")  # type: ignore[operator]
    code, output = doctor(repo)
    gpu_line = next(line for line in output.splitlines() if " gpu" in line[:6])
    if gpu_line.startswith("✓"):
        pytest.skip("this machine has a GPU")
    assert code == 1
    assert gpu_line.startswith("✗")
