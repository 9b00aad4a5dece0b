"""`mlci release` and `mlci rollback` of models without an MLflow model: what each step says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import api, registry
from mlci.cli import cli
from tests.conftest import commit_all, git
from tests.github_standin import GitHubStandin
from tests.integration.release_helpers import REPO
from tests.integration.release_helpers import github_env as github_env_fixture  # noqa: F401

# the group of test_release.py, whose tests these were: on that group's worker, as before
pytestmark = pytest.mark.xdist_group("release")


# --- what `mlci release` says it did: each step, "released" only when it was ---------


def _dvc_model_repo(path: Path) -> Path:
    """A DVC-tracked model `m` registered as m@v0.0.1; no loader, no service: nothing to build."""
    from tests.conftest import BIN, sh

    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    (path / "m.pkl").write_text("a model\n")
    sh(str(BIN / "dvc"), "add", "-q", "m.pkl", cwd=path)
    (path / "dvc.yaml").write_text("artifacts:\n  m:\n    type: model\n    path: m.pkl\n")
    (path / "pyproject.toml").write_text("[tool.mlci]\n")
    commit_all(path, "a model")
    api.register(path, "m")
    return path


def test_release_with_nothing_to_do_never_says_released(tmp_path: Path) -> None:
    repo = _dvc_model_repo(tmp_path / "m")
    result = CliRunner().invoke(cli, ["-C", str(repo), "release", "m@v0.0.1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "  · MLflow          skipped: no [tool.mlci.model] loader to load the model with" in lines
    )
    assert "  · bento           skipped: no [tool.mlci.release] service to build" in lines
    assert "  · GitHub Release  skipped: no GitHub token or GITHUB_REPOSITORY" in lines
    assert lines[-1] == ("nothing released for m@v0.0.1: every step was skipped or done before")
    assert not any(line.startswith("released") for line in lines)

    as_json = CliRunner().invoke(cli, ["-C", str(repo), "release", "m@v0.0.1", "--format", "json"])
    document = json.loads(as_json.stdout)
    assert document["released"] is False
    assert [o["status"] for o in document["outcomes"]] == ["skipped"] * 3


def test_release_says_the_github_release_was_created_then_updated(
    tmp_path: Path, github_env: GitHubStandin
) -> None:
    repo = _dvc_model_repo(tmp_path / "m")
    github_env.add_commit(REPO, git(repo, "rev-parse", "HEAD"), branch="main")
    first = CliRunner().invoke(cli, ["-C", str(repo), "release", "m@v0.0.1"])
    assert first.exit_code == 0, first.output
    (release,) = github_env.releases(REPO)
    assert f"  ✓ GitHub Release  created: {release['html_url']}" in first.output.splitlines()
    assert first.output.splitlines()[-1] == "released m v0.0.1"
    again = CliRunner().invoke(cli, ["-C", str(repo), "release", "m@v0.0.1"])
    assert f"  ✓ GitHub Release  updated: {release['html_url']}" in again.output.splitlines()


def test_a_stage_tag_without_mlflow_says_the_alias_was_not_moved(
    tmp_path: Path, github_env: GitHubStandin
) -> None:
    repo = _dvc_model_repo(tmp_path / "m")
    github_env.add_commit(REPO, git(repo, "rev-parse", "HEAD"), branch="main")
    tag = api.promote(repo, "m", "v0.0.1", "dev")
    result = api.release(repo, tag)
    outcomes = {o.step: (o.status, o.detail) for o in result.outcomes}
    assert outcomes["alias"] == ("skipped", "no MLflow model version to move it to")
    assert outcomes["deployment"] == ("done", "GitHub deployment to dev: success")
    assert "GitHub Release" not in outcomes
    assert result.released


# --- rollback: the tag, the MLflow alias and a deployment, or nothing -----------------


def _tags_only_repo(path: Path) -> Path:
    """Two versions of `m`, both once in dev; no MLflow model (no [tool.mlci.model] loader)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "dvc.yaml").write_text("artifacts:\n  m:\n    type: model\n    path: m.pkl\n")
    (path / "pyproject.toml").write_text("[tool.mlci]\n")
    for text in ("1", "2"):
        (path / "m.txt").write_text(text)
        commit_all(path, f"m {text}")
        api.register(path, "m")
    return path


def test_rollback_without_mlflow_moves_the_tag_inside_a_deployment(
    tmp_path: Path, github_env: GitHubStandin
) -> None:
    repo = _tags_only_repo(tmp_path / "m")
    first = git(repo, "rev-list", "-n1", "m@v0.0.1")
    github_env.add_commit(REPO, first)
    api.promote(repo, "m", "v0.0.1", "dev")
    current = api.promote(repo, "m", "v0.0.2", "dev")

    result = CliRunner().invoke(cli, ["-C", str(repo), "rollback", "m", "--stage", "dev"])
    assert result.exit_code == 0, result.output
    assert "m#dev#3: m dev is v0.0.1 again (was v0.0.2)" in result.output
    assert "no MLflow model to move" in result.output
    assert registry.load(repo).artifact("m").stages["dev"].current == "v0.0.1"
    (deployment,) = github_env.deployments(REPO)
    assert deployment["environment"] == "dev" and deployment["sha"] == first
    assert deployment["payload"] == {"artifact": "m", "version": "v0.0.1", "rollback_of": current}
    states = [s["state"] for s in github_env.deployment_statuses(REPO, deployment["id"])]
    assert states == ["in_progress", "success"]

    # a second rollback does not flap back: no tag, no deployment
    tags = git(repo, "tag", "--list")
    again = CliRunner().invoke(cli, ["-C", str(repo), "rollback", "m", "--stage", "dev"])
    assert again.exit_code == 0, again.output
    assert "rolled back to v0.0.1 already" in again.output and "nothing to do" in again.output
    assert git(repo, "tag", "--list") == tags
    assert len(github_env.deployments(REPO)) == 1


def test_rollback_without_github_says_so(tmp_path: Path) -> None:
    repo = _tags_only_repo(tmp_path / "m")
    api.promote(repo, "m", "v0.0.1", "dev")
    api.promote(repo, "m", "v0.0.2", "dev")
    result = api.rollback(repo, "m", stage="dev")
    assert result.created and result.version == "v0.0.1" and result.deployment is None
    assert any("no deployment recorded" in note for note in result.notes)


@pytest.mark.parametrize(
    ("promotions", "stage", "message"),
    [
        ([("v0.0.1", "dev")], "dev", "nothing to roll back to: no version held dev before m#dev#1"),
        ([], "staging", "m has no version in staging: nothing to roll back"),
    ],
)
def test_rollback_with_nothing_to_roll_back_to_exits_2(
    tmp_path: Path, promotions: list[tuple[str, str]], stage: str, message: str
) -> None:
    repo = _tags_only_repo(tmp_path / "m")
    for version, to in promotions:
        api.promote(repo, "m", version, to)
    tags = git(repo, "tag", "--list")
    result = CliRunner().invoke(cli, ["-C", str(repo), "rollback", "m", "--stage", stage])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert git(repo, "tag", "--list") == tags


def test_rollback_of_an_unknown_artifact_exits_2(tmp_path: Path) -> None:
    repo = _tags_only_repo(tmp_path / "m")
    result = CliRunner().invoke(cli, ["-C", str(repo), "rollback", "nope", "--stage", "dev"])
    assert result.exit_code == 2, result.output
    assert "unknown artifact 'nope'" in result.output
