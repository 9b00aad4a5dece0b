"""Library output (MLflow's warnings, log records, prints) goes to `.mlci/logs/<command>.log`.

The installed `mlci` runs as a user types it; stderr is what a terminal would show.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, commit_all, git, make_tiny_project, sh

pytestmark = pytest.mark.slow

# what MLflow prints or logs while it registers a model: none of it is for the terminal
LIBRARY_LINES = ("Successfully registered model", "Created version", "WARNING mlflow", "Warning:")


def mlci(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlci"), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "COLUMNS": "80"},
    )


def mlflow_model_repo(path: Path) -> Path:
    """A DVC-tracked model with a loader: `mlci release` registers it in MLflow, nothing else."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    (path / "tinymodel").mkdir()
    (path / "tinymodel" / "__init__.py").write_text(
        "class Model:\n"
        "    def predict(self, rows):\n"
        "        return [0 for _ in rows]\n\n\n"
        "def load(path):\n"
        "    return Model()\n"
    )
    (path / "m.pkl").write_text("a model\n")
    sh(str(BIN / "dvc"), "add", "-q", "m.pkl", cwd=path)
    (path / "dvc.yaml").write_text("artifacts:\n  m:\n    type: model\n    path: m.pkl\n")
    (path / "pyproject.toml").write_text('[tool.mlci.model]\nloader = "tinymodel:load"\n')
    (path / ".gitignore").write_text("/.mlci/\n")
    commit_all(path, "a model and its loader")
    registered = mlci(path, "register", "m")
    assert registered.returncode == 0, registered.stderr
    return path


def test_release_keeps_mlflow_output_in_the_log_file(tmp_path: Path) -> None:
    repo = mlflow_model_repo(tmp_path / "m")
    result = mlci(repo, "release", "m@v0.0.1")
    assert result.returncode == 0, result.stderr
    shown = [line for line in result.stderr.splitlines() if any(s in line for s in LIBRARY_LINES)]
    assert shown == []
    assert "  ✓ MLflow          registered m version 1" in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1] == (
        "library warnings and messages: .mlci/logs/release.log (-v shows them)"
    )
    log = (repo / ".mlci" / "logs" / "release.log").read_text()
    assert "Successfully registered model 'm'." in log
    assert "Created version '1' of model 'm'." in log


def test_release_with_v_shows_the_library_output(tmp_path: Path) -> None:
    repo = mlflow_model_repo(tmp_path / "m")
    result = mlci(repo, "release", "m@v0.0.1", "-v")
    assert result.returncode == 0, result.stderr
    assert "Successfully registered model 'm'." in result.stderr
    assert "library warnings and messages" not in result.stderr
    # and the file has them all the same
    assert (
        "Successfully registered model 'm'."
        in (repo / ".mlci" / "logs" / "release.log").read_text()
    )


def test_json_output_stays_json(tmp_path: Path) -> None:
    import json

    repo = mlflow_model_repo(tmp_path / "m")
    result = mlci(repo, "release", "m@v0.0.1", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["released"] is True


MLCI_LINES = ("› ", "  ✓ ", "  ↺ ", "  · ", "library warnings and messages: ")


def check_only_mlci_lines(repo: Path, stderr: str) -> None:
    """Progress steps, stage lines and mlci's own notes; a library's lines are in the log."""
    for line in stderr.splitlines():
        assert line.startswith(MLCI_LINES), line
    log = repo / ".mlci" / "logs" / "run.log"
    if log.exists():
        assert stderr.splitlines()[-1] == (
            "library warnings and messages: .mlci/logs/run.log (-v shows them)"
        )
        assert log.read_text().strip()


def test_default_run_prints_only_mlci_lines(tmp_path: Path) -> None:
    repo = make_tiny_project(tmp_path / "tiny")
    result = mlci(repo, "run")
    assert result.returncode == 0, result.stderr
    check_only_mlci_lines(repo, result.stderr)


def test_default_run_of_the_reference_project_prints_only_mlci_lines(digits_repo: Path) -> None:
    subprocess.run(
        [str(BIN / "python"), "-m", "pipelines.digits.data"],
        cwd=digits_repo,
        check=True,
        capture_output=True,
    )
    result = mlci(digits_repo, "run")
    assert result.returncode == 0, result.stderr
    check_only_mlci_lines(digits_repo, result.stderr)
