"""actions/setup's configure step (configure.sh) in a real DVC repository, outside act."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT, git, sh

CONFIGURE = ROOT / "actions" / "setup" / "configure.sh"


@pytest.fixture
def dvc_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
    return repo


def configure(repo: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    github_env = repo.parent / "github-env"
    github_env.write_text("")
    env = {
        **os.environ,
        "GITHUB_ENV": str(github_env),
        "MLCI_DVC_REMOTE_URL": "",
        "MLCI_DVC_REMOTE_ENDPOINT": "",
        "MLCI_TRACKING_URI": "",
        **inputs,
    }
    done = subprocess.run(
        ["bash", str(CONFIGURE)], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    return done, github_env


def local_config(repo: Path, key: str) -> str:
    """A value of .dvc/config.local, as DVC itself reads it."""
    return sh(str(BIN / "dvc"), "config", "--local", key, cwd=repo).stdout.strip()


def test_remote_and_endpoint_go_to_the_local_config(dvc_repo: Path) -> None:
    committed = (dvc_repo / ".dvc" / "config").read_bytes()
    done, _ = configure(
        dvc_repo,
        MLCI_DVC_REMOTE_URL="s3://dvc/project",
        MLCI_DVC_REMOTE_ENDPOINT="http://127.0.0.1:9000",
    )
    assert done.returncode == 0, done.stderr
    assert local_config(dvc_repo, "remote.mlci-ci.url") == "s3://dvc/project"
    assert local_config(dvc_repo, "remote.mlci-ci.endpointurl") == "http://127.0.0.1:9000"
    assert local_config(dvc_repo, "core.remote") == "mlci-ci"
    assert (dvc_repo / ".dvc" / "config").read_bytes() == committed  # the committed one stays


def test_without_inputs_nothing_is_configured(dvc_repo: Path) -> None:
    done, github_env = configure(dvc_repo)
    assert done.returncode == 0, done.stderr
    assert not (dvc_repo / ".dvc" / "config.local").exists()
    assert github_env.read_text() == ""


def test_an_endpoint_without_a_remote_is_refused(dvc_repo: Path) -> None:
    done, _ = configure(dvc_repo, MLCI_DVC_REMOTE_ENDPOINT="http://127.0.0.1:9000")
    assert done.returncode == 2
    assert "dvc-remote-endpoint is set but dvc-remote-url is not" in done.stderr
    assert not (dvc_repo / ".dvc" / "config.local").exists()


def test_tracking_uri_is_masked_and_exported(dvc_repo: Path) -> None:
    uri = "https://user:secret@mlflow.example.internal"
    done, github_env = configure(dvc_repo, MLCI_TRACKING_URI=uri)
    assert done.returncode == 0, done.stderr
    assert f"::add-mask::{uri}" in done.stdout
    lines = github_env.read_text().splitlines()
    assert lines[0].startswith("MLFLOW_TRACKING_URI<<") and lines[1] == uri
    assert lines[2] == lines[0].removeprefix("MLFLOW_TRACKING_URI<<")
    assert uri not in done.stdout.replace(f"::add-mask::{uri}", "")  # printed only to mask it
