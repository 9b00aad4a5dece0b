"""`mlci release` end to end: real tags, DVC, MLflow registry, bentoml build + serve, the GitHub stand-in.

The tests that build on the trained digits project (its module-scoped `released_repo`) are
here, together; releases and rollbacks without MLflow are in test_release_without_mlflow.py,
the `--auto` bump in test_release_bump.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import api, registry, tracking
from mlci.cli import cli
from mlci.errors import ServiceError, UsageError
from mlci.release import deploy
from mlci.release.results import ReleaseResult
from tests.conftest import commit_all, copy_reference_project, git, mlflow_server
from tests.github_standin import GitHubStandin
from tests.integration.release_helpers import REPO, merged_pull
from tests.integration.release_helpers import github_env as github_env_fixture  # noqa: F401

# its module-scoped fixtures are built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("release")


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
    assert {o.step: o.status for o in result.outcomes} == {
        "MLflow": "done",
        "bento": "done",
        "smoke test": "done",
        "GitHub Release": "done",
    }
    assert result.released
    releases = github_env.releases(REPO)
    assert [r["tag_name"] for r in releases] == ["digits@v0.0.1"]
    body = releases[0]["body"]
    assert "accuracy" in body and sha[:12] in body
    assets = {a["name"] for a in github_env.assets(REPO, releases[0]["id"])}
    assert {"digits-v0.0.1.tar.gz", "metrics.json"} <= assets
    assert any(name.endswith(".bento") for name in assets)

    again = api.release(released_repo, "digits@v0.0.1")
    assert again.mlflow and again.mlflow["version"] == "1" and again.mlflow["reused"]
    outcomes = {o.step: (o.status, o.detail) for o in again.outcomes}
    assert outcomes["MLflow"] == (
        "reused",
        "digits version 1 (registered for digits@v0.0.1 already)",
    )
    assert outcomes["GitHub Release"][1].startswith("updated: ")
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
    from mlci import docker

    if docker.available()[0]:
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
def test_auto_releases_only_a_changed_model_whose_gates_pass(
    released_repo: Path, github_env: GitHubStandin
) -> None:
    import yaml

    assert api.release_auto(released_repo) == []  # the model is the one the latest version holds
    params = yaml.safe_load((released_repo / "params.yaml").read_text())
    params["train"]["epochs"] = 15
    (released_repo / "params.yaml").write_text(yaml.safe_dump(params))
    api.run(released_repo, tracking_enabled=False)
    sha = commit_all(released_repo, "fewer epochs")  # no Release-Bump trailer: the label decides
    merged_pull(github_env, sha, 12, ["release:minor"])
    (result,) = api.release_auto(released_repo)
    assert result.version == "v0.1.0" and result.event == "registration"
    assert "minor bump, from the label release:minor of #12" in result.notes
    assert result.mlflow is not None and result.smoke_tested
    assert "digits@v0.1.0" in git(released_repo, "tag", "--list")


# --- rollback with MLflow: the tag, the alias and a deployment, or nothing ----------


def _release_without_bento(repo: Path, tag: str) -> ReleaseResult:
    """The release path minus the bento: what these tests check is MLflow and the tags."""
    cfg = api.load_config(repo)
    cfg = cfg.model_copy(update={"release": cfg.release.model_copy(update={"service": ""})})
    return deploy.release(repo, cfg, tag)


@pytest.mark.slow
def test_rollback_moves_the_mlflow_alias_back_or_changes_nothing(
    released_repo: Path, github_env: GitHubStandin
) -> None:
    uri = f"sqlite:///{released_repo / '.mlci' / 'mlflow.db'}"
    (released_repo / "NOTES.md").write_text("a second version of the same model\n")
    commit_all(released_repo, "notes")
    second = api.register(released_repo, "digits").partition("@")[2]
    for version in ("v0.0.1", second):
        github_env.add_commit(REPO, git(released_repo, "rev-list", "-n1", f"digits@{version}"))
    first_mv = _release_without_bento(released_repo, "digits@v0.0.1").mlflow
    second_mv = _release_without_bento(released_repo, f"digits@{second}").mlflow
    assert first_mv and second_mv and first_mv["version"] != second_mv["version"]
    api.promote(released_repo, "digits", "v0.0.1", "prod", force=True)
    current = api.promote(released_repo, "digits", second, "prod", force=True)
    _release_without_bento(released_repo, current)
    assert tracking.get_alias(uri, "digits", "prod") == second_mv["version"]
    deployments = len(github_env.deployments(REPO))
    tags = git(released_repo, "tag", "--list")

    # the push fails (no origin): the alias goes back, the tag is deleted, the deployment says so
    failed = CliRunner().invoke(
        cli, ["-C", str(released_repo), "rollback", "digits", "--stage", "prod", "--push"]
    )
    assert failed.exit_code == 3, failed.output
    assert "git push origin" in failed.output and "undone" in failed.output
    assert tracking.get_alias(uri, "digits", "prod") == second_mv["version"]
    assert git(released_repo, "tag", "--list") == tags
    deployment = github_env.deployments(REPO)[-1]
    statuses = github_env.deployment_statuses(REPO, deployment["id"])
    assert [s["state"] for s in statuses] == ["in_progress", "failure"]
    assert statuses[-1]["description"].startswith("undone, nothing changed: git push origin")

    done = CliRunner().invoke(
        cli, ["-C", str(released_repo), "rollback", "digits", "--stage", "prod", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["created"] and result["version"] == "v0.0.1" and result["previous"] == second
    assert result["alias"] == f"digits@prod -> {first_mv['version']}"
    assert tracking.get_alias(uri, "digits", "prod") == first_mv["version"]
    assert registry.load(released_repo).artifact("digits").stages["prod"].current == "v0.0.1"
    deployment = github_env.deployments(REPO)[-1]
    assert len(github_env.deployments(REPO)) == deployments + 2
    assert deployment["environment"] == "prod"
    assert deployment["payload"]["rollback_of"] == current
    states = [s["state"] for s in github_env.deployment_statuses(REPO, deployment["id"])]
    assert states == ["in_progress", "success"]

    # again: no new tag, no deployment, the alias stays
    tags = git(released_repo, "tag", "--list")
    again = api.rollback(released_repo, "digits", stage="prod")
    assert not again.created and "nothing to do" in again.notes[-1]
    assert git(released_repo, "tag", "--list") == tags
    assert len(github_env.deployments(REPO)) == deployments + 2
    assert tracking.get_alias(uri, "digits", "prod") == first_mv["version"]

    # a gto-written rollback (the tag only) is caught up with: the alias follows the tag
    tracking.set_alias(uri, "digits", "prod", second_mv["version"])
    caught_up = api.rollback(released_repo, "digits", stage="prod")
    assert not caught_up.created and caught_up.alias == f"digits@prod -> {first_mv['version']}"
    assert tracking.get_alias(uri, "digits", "prod") == first_mv["version"]


@pytest.mark.slow
def test_rollback_to_a_version_never_released_to_mlflow_changes_nothing(
    released_repo: Path,
) -> None:
    uri = f"sqlite:///{released_repo / '.mlci' / 'mlflow.db'}"
    (released_repo / "NOTES.md").write_text("a version that is never released\n")
    commit_all(released_repo, "unreleased")
    unreleased = api.register(released_repo, "digits")
    api.promote(released_repo, "digits", unreleased.partition("@")[2], "staging", force=True)
    api.promote(released_repo, "digits", "v0.0.1", "staging", force=True)
    alias = tracking.get_alias(uri, "digits", "staging")
    tags = git(released_repo, "tag", "--list")
    result = CliRunner().invoke(
        cli, ["-C", str(released_repo), "rollback", "digits", "--stage", "staging"]
    )
    assert result.exit_code == 2, result.output
    assert "was never released to MLflow" in result.output
    assert f"mlci release {unreleased}" in result.output  # the hint
    assert git(released_repo, "tag", "--list") == tags
    assert tracking.get_alias(uri, "digits", "staging") == alias


# --- the tracking-server path: a real `mlflow server` on 127.0.0.1 ----------------------


@pytest.mark.slow
def test_release_against_a_real_mlflow_server(
    released_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    from mlflow.tracking._tracking_service import utils

    sha = git(released_repo, "rev-list", "-n1", "digits@v0.0.1")
    with mlflow_server(tmp_path / "server") as uri:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        global_uri = utils._tracking_uri
        registered = CliRunner().invoke(
            cli, ["-C", str(released_repo), "release", "digits@v0.0.1", "--format", "json"]
        )
        assert registered.exit_code == 0, registered.output
        # MLflow's process-wide URI is the caller's again: a later caller is not sent here
        assert utils._tracking_uri == global_uri and os.environ["MLFLOW_TRACKING_URI"] == uri
        result = json.loads(registered.stdout)
        assert result["mlflow"]["version"] == "1" and not result["mlflow"]["reused"]
        assert result["smoke_tested"]
        client = mlflow.MlflowClient(tracking_uri=uri)
        version = client.get_model_version("digits", "1")
        assert version.tags["mlci.git_tag"] == "digits@v0.0.1"
        assert version.tags["mlci.commit"] == sha
        assert version.tags["mlci.data_version"].startswith("data=")
        assert version.run_id and "accuracy" in client.get_run(version.run_id).data.metrics

        tag = api.promote(released_repo, "digits", "v0.0.1", "dev", force=True)
        assigned = CliRunner().invoke(
            cli, ["-C", str(released_repo), "release", tag, "--format", "json"]
        )
        assert assigned.exit_code == 0, assigned.output
        assert json.loads(assigned.stdout)["alias"] == "digits@dev -> 1"
        assert json.loads(assigned.stdout)["mlflow"]["reused"]
        assert client.get_model_version_by_alias("digits", "dev").version == "1"
        assert len(client.search_model_versions("name = 'digits'")) == 1
