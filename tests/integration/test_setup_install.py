"""actions/setup's install step (install.sh): which extras and requirements it asks pip for.

pip itself is the edge here (it would reach the package index): a `python` on PATH records
the `-m pip install ...` arguments instead of installing, and `mlci --version` answers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

INSTALL = ROOT / "actions" / "setup" / "install.sh"


@pytest.fixture
def shims(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "$PIP_LOG"\n', encoding="utf-8"
    )
    (bin_dir / "mlci").write_text('#!/usr/bin/env bash\necho "mlci, version 9.9.9"\n')
    for shim in bin_dir.iterdir():
        shim.chmod(0o755)
    return bin_dir


def install(repo: Path, shims: Path, **inputs: str) -> tuple[list[str], str]:
    log = repo.parent / "pip.log"
    log.write_text("")
    output = repo.parent / "github-output"
    output.write_text("")
    env = {
        **os.environ,
        "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
        "PIP_LOG": str(log),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_ACTION_PATH": str(ROOT / "actions" / "setup"),
        "MLCI_VERSION": "1.2.3",
        "MLCI_EXTRAS": "",
        "MLCI_REQUIREMENTS": "requirements.txt",
        "MLCI_DVC_REMOTE_URL": "",
        **inputs,
    }
    done = subprocess.run(
        ["bash", str(INSTALL)], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    assert "version=9.9.9" in output.read_text()
    return log.read_text().splitlines(), done.stdout


def test_the_job_extras_are_cleaned_and_the_requirements_follow(
    tmp_path: Path, shims: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("scikit-learn\n")
    calls, _ = install(repo, shims, MLCI_EXTRAS="dvc,tracking,gx,,dvc")
    assert calls == [
        "-m pip install --disable-pip-version-check mlci[dvc,tracking,gx]==1.2.3",
        "-m pip install --disable-pip-version-check -r requirements.txt",
    ]


def test_an_s3_remote_adds_the_s3_extra(tmp_path: Path, shims: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (repo / ".dvc" / "config").write_text(
        "[core]\n    remote = team\n['remote \"team\"']\n    url = s3://bucket/dvc\n"
    )
    calls, _ = install(repo, shims, MLCI_EXTRAS="dvc,")
    assert calls == ["-m pip install --disable-pip-version-check mlci[dvc,s3]==1.2.3"]
    calls, _ = install(repo, shims, MLCI_EXTRAS="", MLCI_DVC_REMOTE_URL="s3://other/x")
    assert calls == ["-m pip install --disable-pip-version-check mlci[s3]==1.2.3"]


def test_no_extras_is_the_light_core_and_a_missing_requirements_file_is_said(
    tmp_path: Path, shims: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    calls, stdout = install(repo, shims)
    assert calls == ["-m pip install --disable-pip-version-check mlci==1.2.3"]
    assert "no requirements.txt" in stdout


def test_installed_installs_nothing(tmp_path: Path, shims: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("scikit-learn\n")
    calls, stdout = install(repo, shims, MLCI_VERSION="installed", MLCI_EXTRAS="dvc")
    assert calls == []
    assert "mlci, version 9.9.9" in stdout
