"""`mlci release` end to end: real tags, DVC, MLflow registry, bentoml build + serve, the GitHub stand-in."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import api, tracking
from mlci.cli import cli
from mlci.errors import ServiceError, UsageError
from tests.conftest import commit_all, copy_reference_project, git
from tests.github_standin import GitHubStandin

REPO = "octo-org/digits"
TOKEN = "ghs_releasetoken0123456789"


@pytest.fixture(scope="module")
def released_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The digits project, run once and committed, with `digits@v0.0.1` registered."""
    repo = copy_reference_project(tmp_path_factory.mktemp("release") / "digits")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setenv("DVC_NO_ANALYTICS", "1")
        git(repo, "init", "-q", "-b", "main")
        subprocess.run(
            [sys.executable, "-m", "pipelines.digits.data"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
        api.run(repo)
        commit_all(repo, "trained")
        api.register(repo, "digits")
    yield repo


@pytest.fixture
def github_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandin]:
    with GitHubStandin() as standin:
        standin.add_user(TOKEN, "github-actions[bot]", type="Bot")
        standin.add_repo(REPO)
        for key, value in {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": standin.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_RUN_ID": "7",
            "GITHUB_SERVER_URL": "https://github.example",
        }.items():
            monkeypatch.setenv(key, value)
        yield standin
        assert standin.violations == []


@pytest.mark.slow
def test_registration_tag_releases_everything(
    released_repo: Path, github_env: GitHubStandin
) -> None:
    sha = git(released_repo, "rev-parse", "HEAD")
    github_env.add_commit(REPO, sha, branch="main")
    result = api.release(released_repo, "digits@v0.0.1")
    assert result.event == "registration" and result.version == "v0.0.1" and result.commit == sha
    assert (
        result.mlflow is not None
        and result.mlflow["version"] == "1"
        and not result.mlflow["reused"]
    )
    assert result.smoke_tested and result.bento
    releases = github_env.releases(REPO)
    assert [r["tag_name"] for r in releases] == ["digits@v0.0.1"]
    body = releases[0]["body"]
    assert "accuracy" in body and sha[:12] in body
    assets = {a["name"] for a in github_env.assets(REPO, releases[0]["id"])}
    assert {"digits-v0.0.1.tar.gz", "metrics.json"} <= assets
    assert any(name.endswith(".bento") for name in assets)

    again = api.release(released_repo, "digits@v0.0.1")
    assert again.mlflow and again.mlflow["version"] == "1" and again.mlflow["reused"]
    assert len(github_env.releases(REPO)) == 1  # updated, not duplicated
    assert len(github_env.assets(REPO, releases[0]["id"])) == len(assets)


@pytest.mark.slow
def test_stage_tag_moves_the_alias_inside_a_deployment(
    released_repo: Path, github_env: GitHubStandin
) -> None:
    sha = git(released_repo, "rev-parse", "HEAD")
    github_env.add_commit(REPO, sha, branch="main")
    tag = api.promote(released_repo, "digits", "v0.0.1", "dev")
    result = api.release(released_repo, tag)
    assert result.event == "assignment" and result.stage == "dev"
    assert result.alias == "digits@dev -> 1"
    uri = f"sqlite:///{released_repo / '.mlci' / 'mlflow.db'}"
    assert tracking.get_alias(uri, "digits", "dev") == "1"
    (deployment,) = github_env.deployments(REPO)
    assert deployment["environment"] == "dev"
    states = [s["state"] for s in github_env.deployment_statuses(REPO, deployment["id"])]
    assert states[-1] == "success" and "in_progress" in states


@pytest.mark.slow
def test_failed_release_leaves_the_alias_and_says_failure(
    released_repo: Path, github_env: GitHubStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    github_env.add_commit(REPO, git(released_repo, "rev-parse", "HEAD"), branch="main")
    uri = f"sqlite:///{released_repo / '.mlci' / 'mlflow.db'}"
    before = tracking.get_alias(uri, "digits", "staging")
    tag = api.promote(released_repo, "digits", "v0.0.1", "staging", force=True)
    # the model is in neither the cache nor the remote any more
    cache = released_repo / ".dvc" / "cache"
    remote = released_repo / ".mlci" / "dvc-remote"
    shutil.move(cache, released_repo / "cache-away")
    shutil.move(remote, released_repo / "remote-away")
    try:
        with pytest.raises(UsageError, match="neither the local DVC cache nor the remote"):
            api.release(released_repo, tag)
    finally:
        shutil.move(released_repo / "cache-away", cache)
        shutil.move(released_repo / "remote-away", remote)
    assert tracking.get_alias(uri, "digits", "staging") == before
    deployment = next(d for d in github_env.deployments(REPO) if d["environment"] == "staging")
    states = [s["state"] for s in github_env.deployment_statuses(REPO, deployment["id"])]
    assert "failure" in states and "success" not in states


def test_containerize_without_docker_exits_3_first(released_repo: Path) -> None:
    from mlci.release import bento

    if bento.docker_available()[0]:
        pytest.skip("a Docker engine is available here")
    with pytest.raises(ServiceError, match="--containerize needs a Docker engine"):
        api.release(released_repo, "no-such-tag@v9.9.9", containerize=True)


@pytest.mark.parametrize(
    ("tag", "message"),
    [("digits@1.0", "vX.Y.Z"), ("digits#prod", "#N"), ("nope@v1.0.0", "no such tag")],
)
def test_bad_tags_exit_2(released_repo: Path, tag: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["-C", str(released_repo), "release", tag])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_models_lists_the_registry(released_repo: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(released_repo), "models", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"digits"' in result.output and "v0.0.1" in result.output


@pytest.mark.slow
def test_auto_releases_only_a_changed_model_whose_gates_pass(released_repo: Path) -> None:
    import yaml

    assert api.release_auto(released_repo) == []  # the model is the one v0.0.1 holds
    params = yaml.safe_load((released_repo / "params.yaml").read_text())
    params["train"]["epochs"] = 15
    (released_repo / "params.yaml").write_text(yaml.safe_dump(params))
    api.run(released_repo, tracking_enabled=False)
    commit_all(released_repo, "fewer epochs\n\nRelease-Bump: minor")
    (result,) = api.release_auto(released_repo)
    assert result.version == "v0.1.0" and result.event == "registration"
    assert result.mlflow is not None and result.smoke_tested
    assert "digits@v0.1.0" in git(released_repo, "tag", "--list")
