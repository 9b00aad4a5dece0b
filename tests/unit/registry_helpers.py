"""What the registry tests share: a repository declaring three artifacts, and tags made in it.

test_registry.py and test_registry_gto_parity.py import from here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlci.config import ReleaseConfig
from tests.conftest import commit_all, git

DVC_YAML = """\
artifacts:
  digits:
    type: model
    path: models/digits
    desc: handwritten digits
    labels: [vision]
  alpha:
    type: model
    path: models/alpha
  beta:
    type: model
    path: models/beta
"""
CFG = ReleaseConfig()  # dev, staging, prod; prod protected


@pytest.fixture(name="repo")
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "dvc.yaml").write_text(DVC_YAML)
    commit_all(path, "declare the artifacts")
    return path


def new_commit(repo: Path, text: str) -> str:
    (repo / "model.txt").write_text(text)
    return commit_all(repo, f"model {text}")


def raw_tag(repo: Path, tag: str, rev: str = "HEAD", *, date: int | None = None) -> None:
    """An annotated tag written by hand (as GTO or a person would), optionally dated."""
    env = dict(os.environ)
    if date is not None:
        env["GIT_COMMITTER_DATE"] = f"{date} +0000"
    subprocess.run(
        ["git", "tag", "-a", "-m", f"by hand: {tag}", tag, f"{rev}^{{commit}}"],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )
