"""`mlci run TARGET...` on a fresh clone: it fetches what the targets need, as `dvc fetch
--with-deps` does, and speaks only of their outputs.

Real git clones and real DVC with a local-folder remote: tests/e2e/fanout_project.py's
pipeline (a `prepare` stage and a four-item `foreach` train -> evaluate, its sleep off),
whose branches are what a fanned-out workflow runs one per job. DVC is the
oracle: the clone's cache after `mlci run train@a evaluate@a` holds what `dvc fetch
train@a evaluate@a --with-deps` fetches into another clone, and not the other branch's.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from mlci import api, reproduce, workspace
from mlci.progress import Progress
from tests.conftest import BIN, commit_all, git, git_repo, sh
from tests.e2e import fanout_project

BRANCH = ("train@a", "evaluate@a")


class Warnings(Progress):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str) -> None:
        self.lines.append(message)


def cache_files(repo: Path) -> set[str]:
    cache = repo / ".dvc" / "cache" / "files"
    return {str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()}


@pytest.fixture
def origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every stage run once and pushed to a shared remote folder; dvc.lock committed."""
    monkeypatch.setenv("SLEEP_S", "0")
    remote = tmp_path / "shared-remote"
    files = {name: textwrap.dedent(text) for name, text in fanout_project.FILES.items()}
    files["dvc.yaml"] = fanout_project.DVC_YAML
    files["pyproject.toml"] += f'\n[tool.mlci.dvc]\nembedded_remote = "{remote}"\n'
    repo = git_repo(tmp_path / "origin", files)
    sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
    api.run(repo, tracking_enabled=False)
    commit_all(repo, "dvc.lock of the first run")
    return repo


def clone(origin: Path, name: str) -> Path:
    path = origin.parent / name
    git(origin.parent, "clone", "-q", str(origin), str(path))
    return path


def test_a_targeted_run_fetches_what_dvc_fetch_with_deps_fetches(origin: Path) -> None:
    oracle = clone(origin, "oracle")
    remote = origin.parent / "shared-remote"
    sh(str(BIN / "dvc"), "remote", "add", "-d", "shared", str(remote), cwd=oracle)
    sh(str(BIN / "dvc"), "fetch", *BRANCH, "--with-deps", cwd=oracle)
    expected = cache_files(oracle)

    branch = clone(origin, "branch")
    result = api.run(branch, targets=BRANCH, tracking_enabled=False, push=False)

    assert {s.name: s.status for s in result.record.stages} == {
        "prepare": "unchanged",
        "train@a": "unchanged",
        "evaluate@a": "unchanged",
    }
    assert cache_files(branch) == expected
    assert len(expected) == 3  # prepare's, train@a's and evaluate@a's outputs
    assert not (branch / "models" / "b.txt").exists()
    assert result.record.remote is not None and result.record.remote["pulled"] == 3

    # the whole pipeline, for the contrast: every output comes down
    whole = api.run(clone(origin, "whole"), tracking_enabled=False, push=False)
    assert whole.record.remote is not None and whole.record.remote["pulled"] == 9


def test_a_targeted_run_warns_only_of_its_own_metrics(origin: Path) -> None:
    branch = clone(origin, "branch")
    warned = Warnings()
    result = api.run(branch, targets=BRANCH, tracking_enabled=False, push=False, progress=warned)
    assert result.record.metrics == {"score": 0.152542}
    assert [line for line in warned.lines if "metrics/" in line] == []

    # the other branch's metrics file is not here: a run of the whole pipeline would say so
    project = workspace.load_project(branch)
    whole = Warnings()
    reproduce.read_metrics(project, whole)
    assert [line for line in whole.lines if line.startswith("metrics/b.json:")] != []
    # ... and a targeted run still warns of a metrics file of its own that is missing
    # (from the workspace and from the cache, where DVC would read it next)
    (branch / "metrics" / "a.json").unlink()
    shutil.rmtree(branch / ".dvc" / "cache")
    own = Warnings()
    reproduce.read_metrics(project, own, within=("models/a.txt", "metrics/a.json"))
    assert [line for line in own.lines if line.startswith("metrics/a.json:")] != []
    assert [line for line in own.lines if line.startswith("metrics/b.json:")] == []


def _mlci_run(cwd: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlci"), "run", "--no-tracking", "--no-push", *targets],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_line_of_a_branch(origin: Path) -> None:
    branch = clone(origin, "branch")
    done = _mlci_run(branch, *BRANCH)
    assert done.returncode == 0, done.stderr
    assert "metrics/b.json" not in done.stderr
    assert "3 pulled" in done.stdout


@pytest.mark.parametrize("target", ["train@e", "nosuch", "sub/dvc.yaml"])
def test_an_unknown_target_is_bad_input_before_any_fetch(origin: Path, target: str) -> None:
    # DVC's fetch refuses it too: that was reported as the remote failing (exit 3)
    branch = clone(origin, "branch")
    done = _mlci_run(branch, "train@a", target)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-2].startswith(f"error: unknown target '{target}': ")
    assert "Traceback" not in done.stderr
    assert "pulling" not in done.stderr and not (branch / ".dvc" / "cache").exists()
