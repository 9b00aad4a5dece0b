"""The reusable workflows, run for real by `act` against the GitHub stand-in (tests/e2e/act.py).

The test repository is the digits reference project, calling mlci's reusable workflows
the way a user's repository does (`mlci-dev/mlci/.github/workflows/...@main`). Its DVC
remote is a folder shared by every run of a test, so a pull request starts from the
run-cache that the main branch's run filled.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, commit_all, git, set_param, sh
from tests.e2e.act import ROOT, Act, ActResult
from tests.github_standin import ACTIONS_BOT, GitHubStandin, make_event
from tests.github_standin import github as github_fixture  # noqa: F401 - registers `github`

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = "octo-org/mlci-demo"
PR_TOKEN = "pull-request-token"  # a pull_request run's GITHUB_TOKEN: read-only
WRITE_TOKEN = "workflow-run-token"  # the workflow_run and push runs' GITHUB_TOKEN

# What a user's repository holds: a few lines calling the reusable workflows.
CALLERS = {
    "pr.yml": """\
        name: pr
        on:
          pull_request:
        permissions: {}
        jobs:
          mlci:
            permissions:
              contents: read
            uses: mlci-dev/mlci/.github/workflows/mlci-pr.yml@main
            with:
              runner: '["self-hosted", "linux", "gpu"]'
              mlci-version: installed
              dvc-remote-url: ${{ vars.DVC_REMOTE_URL }}
              validate-data: VALIDATE_DATA
        """,
    "pr-comment.yml": """\
        name: pr comment
        on:
          workflow_run:
            workflows: [pr]
            types: [completed]
        permissions: {}
        jobs:
          mlci:
            permissions:
              actions: read
              checks: write
              pull-requests: write
              statuses: write
            uses: mlci-dev/mlci/.github/workflows/mlci-pr-comment.yml@main
            with:
              mlci-version: installed
        """,
    "main.yml": """\
        name: main
        on:
          push:
            branches: [main]
        permissions: {}
        jobs:
          mlci:
            permissions:
              contents: write
            uses: mlci-dev/mlci/.github/workflows/mlci-main.yml@main
            with:
              mlci-version: installed
              dvc-remote-url: ${{ vars.DVC_REMOTE_URL }}
              release: false  # `mlci release` is not part of this test
        """,
}

# this repository's release.yml, as a user's repository calls the reusable workflow
RELEASE_CALLER = """\
    name: release
    on:
      push:
        tags:
          - '*@v*'
          - '*#*#*'
    permissions: {}
    jobs:
      mlci:
        permissions:
          contents: write
          deployments: write
        uses: mlci-dev/mlci/.github/workflows/mlci-release.yml@main
        with:
          mlci-version: installed
          dvc-remote-url: ${{ vars.DVC_REMOTE_URL }}
    """


@dataclass
class Project:
    repo: Path
    remote: Path
    main_sha: str
    main_run: ActResult
    act: Act
    github: GitHubStandin

    @property
    def variables(self) -> dict[str, str]:
        return {"DVC_REMOTE_URL": str(self.remote)}

    def pull_request(
        self, number: int, head_sha: str, *, action: str, before: str | None = None
    ) -> ActResult:
        event = make_event(
            "pull_request",
            action,
            repo=REPO,
            number=number,
            head_sha=head_sha,
            base_sha=self.main_sha,
            head_ref=git(self.repo, "branch", "--show-current"),
            before=before,
            api_url=self.github.url,
        )
        return self.act.run(
            self.repo,
            "pull_request",
            event,
            workflow="pr.yml",
            token=PR_TOKEN,
            variables=self.variables,
        ).check()

    def comment_run(self, number: int, head_sha: str) -> ActResult:
        event = make_event(
            "workflow_run",
            "completed",
            repo=REPO,
            number=number,
            head_sha=head_sha,
            base_sha=self.main_sha,
            head_ref=git(self.repo, "branch", "--show-current"),
            workflow="pr",
            api_url=self.github.url,
        )
        return self.act.run(
            self.repo, "workflow_run", event, workflow="pr-comment.yml", token=WRITE_TOKEN
        ).check()

    def report(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            (self.act.artifact("mlci-report") / "report.json").read_text()
        )
        return document


def _stage_runs(report: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["run"] for s in report["stages"]}


def _configure_validation(repo: Path) -> bool:
    """Gates for `mlci validate model` (the project's, else one); the project's GX suites for
    `mlci validate data` when it declares datasets. True when data validation is set up."""
    pyproject = repo / "pyproject.toml"
    settings = tomllib.loads(pyproject.read_text()).get("tool", {}).get("mlci", {})
    if "gates" not in settings:
        pyproject.write_text(
            pyproject.read_text() + "\n[tool.mlci.gates]\naccuracy = { min = 0.5 }\n"
        )
    if not settings.get("data") or not (ROOT / "gx").is_dir():
        return False
    shutil.copytree(ROOT / "gx", repo / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    return True


@pytest.fixture
def project(digits_repo: Path, tmp_path: Path, github: GitHubStandin) -> Iterator[Project]:
    """The digits project on main with its data in a shared DVC remote, after main's CI run."""
    repo, remote = digits_repo, tmp_path / "dvc-remote"
    sh(str(BIN / "python"), "-m", "pipelines.digits.data", cwd=repo)
    validate_data = _configure_validation(repo)
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name, caller in CALLERS.items():
        text = textwrap.dedent(caller).replace("VALIDATE_DATA", str(validate_data).lower())
        (workflows / name).write_text(text)
    git(repo, "remote", "add", "origin", f"https://github.com/{REPO}.git")
    # the data lives in the remote; dvc.lock comes from a local run, as a developer commits it
    sh(str(BIN / "dvc"), "remote", "add", "--local", "-d", "shared", str(remote), cwd=repo)
    sh(str(BIN / "mlci"), "run", "--no-push", "--no-tracking", cwd=repo)
    sh(str(BIN / "dvc"), "push", "-q", "data.dvc", cwd=repo)
    parent = git(repo, "rev-parse", "HEAD")
    main_sha = commit_all(repo, "digits pipeline with its lock and CI workflows")

    github.add_repo(REPO, head_sha=main_sha)
    github.add_user(PR_TOKEN, ACTIONS_BOT, type="Bot", read_only=True)
    github.add_user(WRITE_TOKEN, ACTIONS_BOT, type="Bot")
    act = Act(tmp_path / "act", github.url)
    push = make_event(
        "push", repo=REPO, ref="refs/heads/main", sha=main_sha, before=parent, api_url=github.url
    )
    main_run = act.run(
        repo,
        "push",
        push,
        workflow="main.yml",
        token=WRITE_TOKEN,
        variables={"DVC_REMOTE_URL": str(remote)},
    )
    yield Project(repo, remote, main_sha, main_run, act, github)
    assert github.violations == []


def test_push_to_main_runs_the_pipeline_and_fills_the_run_cache(project: Project) -> None:
    result = project.main_run.check()
    # a fresh checkout has none of the outputs: every stage runs, and the remote gets them
    for stage in ("prepare", "train", "evaluate"):
        assert f"✓ {stage}" in result.output, result.output[-6000:]
    assert "Job succeeded" in result.output
    assert (project.remote / "runs").is_dir(), "the run-cache was not pushed"
    assert not [r for r in project.github.requests if r.method != "GET"]


def test_pull_request_changing_a_param_reruns_its_stages_and_keeps_one_comment(
    project: Project,
) -> None:
    project.main_run.check()
    repo, github = project.repo, project.github
    git(repo, "checkout", "-q", "-b", "fewer-epochs")
    set_param(repo, "train", "epochs", 12)
    head = commit_all(repo, "train for 12 epochs")
    github.add_pull(REPO, 7, head_sha=head, base_sha=project.main_sha, head_ref="fewer-epochs")

    first = project.pull_request(7, head, action="opened")
    report = project.report()
    assert _stage_runs(report) == {"prepare": "unchanged", "train": "ran", "evaluate": "ran"}
    assert [(p["name"], p["base"], p["head"]) for p in report["params"]] == [
        ("train.epochs", 20, 12)
    ]
    kinds = ["data", "model"] if (repo / "gx").is_dir() else ["model"]
    assert sorted(v["kind"] for v in report["validation"]) == kinds
    assert all(f"mlci validate {kind}" in first.output for kind in kinds)
    # the pull request's run has a read-only token: its only writes (the validations' check
    # runs) are refused, and it posts nothing
    assert {(r.method, r.status) for r in github.requests if r.method != "GET"} == {("POST", 403)}
    assert github.comments(REPO, 7) == []
    assert github.statuses(REPO, head) == []

    project.comment_run(7, head)
    [comment] = github.comments(REPO, 7)
    assert comment["user"]["login"] == ACTIONS_BOT
    # the id is the pull request run's workflow name: under act a called workflow's own name
    # (GitHub gives the caller's, `pr`); the comment job keeps the artifact's, whatever it is
    assert report["id"] == "mlci pull request"
    assert f"<!-- mlci-report:{report['id']} -->" in comment["body"]
    assert "train.epochs" in comment["body"]
    assert "1 params changed" in comment["body"] and "2 stages ran" in comment["body"]
    assert [s["context"] for s in github.statuses(REPO, head)] == ["mlci/report"]
    checks = sorted((c["name"], c["head_sha"]) for c in github.check_runs(REPO))
    assert checks == [(f"mlci/{kind}", head) for kind in kinds]

    # a second push (a README edit): train and evaluate come from the run-cache the first
    # run pushed, and the same comment is updated
    (repo / "README.md").write_text("Fewer epochs train faster.\n")
    second = commit_all(repo, "explain why")
    github.add_commit(REPO, second, parents=[head], branch="fewer-epochs")
    project.pull_request(7, second, action="synchronize", before=head)
    assert _stage_runs(project.report()) == {
        "prepare": "unchanged",
        "train": "cached",
        "evaluate": "cached",
    }
    project.comment_run(7, second)
    [updated] = github.comments(REPO, 7)
    assert updated["id"] == comment["id"]
    assert updated["body"] != comment["body"]
    assert second[:8] in updated["body"] and "History (1 earlier runs)" in updated["body"]
    assert "0 stages ran, 2 from run-cache" in updated["body"]


def test_pull_request_changing_only_the_readme_reruns_nothing(project: Project) -> None:
    project.main_run.check()
    repo, github = project.repo, project.github
    git(repo, "checkout", "-q", "-b", "docs")
    (repo / "README.md").write_text("# digits\n\nA handwritten-digits classifier.\n")
    head = commit_all(repo, "add a README")
    github.add_pull(REPO, 8, head_sha=head, base_sha=project.main_sha, head_ref="docs")

    project.pull_request(8, head, action="opened")
    assert set(_stage_runs(project.report()).values()) == {"unchanged"}
    project.comment_run(8, head)
    [comment] = github.comments(REPO, 8)
    assert "0 metrics changed" in comment["body"]
    assert "0 stages ran, 0 from run-cache" in comment["body"]


def test_release_tag_is_read_like_gto_check_ref(tmp_path: Path) -> None:
    """actions/release reads GTO tags before `mlci release` runs (the release job's environment)."""
    script = ROOT / "actions" / "release" / "check-ref.sh"
    expected = {
        "refs/tags/digits@v1.2.0": "event=registration name=digits version=v1.2.0 stage=",
        "digits#prod#3": "event=assignment name=digits version= stage=prod",
        "digits#staging!#4": "event=unassignment name=digits version= stage=staging",
        "models/cv=digits@v0.1.0!": "event=deregistration name=models/cv:digits version=v0.1.0 stage=",
        "digits@deprecated": "event=deprecation name=digits version= stage=",
    }
    for ref, outputs in expected.items():
        output = tmp_path / "output"
        output.write_text("")
        subprocess.run(
            ["bash", str(script), ref],
            env={"GITHUB_OUTPUT": str(output)},
            check=True,
            capture_output=True,
        )
        lines = [line for line in output.read_text().splitlines() if not line.startswith("tag=")]
        assert " ".join(lines) == outputs
    for bad in ("refs/heads/main", "digits@v1", "digits#prod#"):
        done = subprocess.run(
            ["bash", str(script), bad],
            check=False,
            env={"GITHUB_OUTPUT": str(tmp_path / "o")},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and "not a model registry tag" in done.stderr


def test_release_tags_publish_a_release_and_a_deployment(
    digits_repo: Path, tmp_path: Path, github: GitHubStandin
) -> None:
    """release.yml for `digits@v1.0.0`, then `digits#prod#1`: a GitHub Release, a deployment."""
    repo, remote = digits_repo, tmp_path / "dvc-remote"
    sh(str(BIN / "python"), "-m", "pipelines.digits.data", cwd=repo)
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "release.yml").write_text(textwrap.dedent(RELEASE_CALLER))
    git(repo, "remote", "add", "origin", f"https://github.com/{REPO}.git")
    # the model and the smoke test's sample reach the release job through the DVC remote only
    sh(str(BIN / "dvc"), "remote", "add", "--local", "-d", "shared", str(remote), cwd=repo)
    sh(str(BIN / "mlci"), "run", "--no-tracking", cwd=repo)
    sha = commit_all(repo, "digits pipeline with its lock and the release workflow")
    github.add_repo(REPO, head_sha=sha)
    github.add_user(WRITE_TOKEN, ACTIONS_BOT, type="Bot")
    act = Act(tmp_path / "act", github.url)

    def push(tag: str) -> ActResult:
        event = make_event(
            "push",
            repo=REPO,
            ref=f"refs/tags/{tag}",
            sha=sha,
            before="0" * 40,
            api_url=github.url,
            created=True,
            base_ref="refs/heads/main",
        )
        result = act.run(
            repo,
            "push",
            event,
            workflow="release.yml",
            token=WRITE_TOKEN,
            variables={"DVC_REMOTE_URL": str(remote)},
            timeout=600,
        ).check()
        assert act.processes() == [], "the smoke test's server outlived the job"
        return result

    assert git(repo, "tag", "--list") == ""
    sh(str(BIN / "mlci"), "register", "digits", "--version", "v1.0.0", cwd=repo)
    registration = push("digits@v1.0.0")
    # the job `tag` read the tag; the release job, named after it, built and served the bento
    assert "[mlci/mlci release/registration digits v1.0.0] 🏁  Job succeeded" in registration.output
    assert "passed: 20 served predictions as expected" in registration.output, registration.output[
        -6000:
    ]
    [release] = github.releases(REPO)
    assert release["tag_name"] == "digits@v1.0.0" and release["name"] == "digits v1.0.0"
    assert "## digits v1.0.0" in release["body"] and sha[:12] in release["body"]
    # the metrics come from the DVC remote: the release job's checkout has no DVC cache
    assert re.search(r"^\| accuracy \| 0\.\d+ \| — \|", release["body"], re.MULTILINE)
    assets = {a["name"]: a for a in github.assets(REPO, release["id"])}
    assert set(assets) == {"digits-v1.0.0.tar.gz", "metrics.json", "digits-v1.0.0.bento"}
    metrics = json.loads(assets["metrics.json"]["content"])
    assert metrics["metrics/metrics.json"]["accuracy"] > 0.5
    assert github.deployments(REPO) == []

    sh(str(BIN / "mlci"), "promote", "digits", "v1.0.0", "prod", "--force", cwd=repo)
    assert git(repo, "tag", "--list", "digits#*") == "digits#prod#1"
    assignment = push("digits#prod#1")
    assert "[mlci/mlci release/assignment digits prod] 🏁  Job succeeded" in assignment.output
    assert "passed: 20 served predictions as expected" in assignment.output
    assert "MLflow alias digits@prod -> 1" in assignment.output
    [deployment] = github.deployments(REPO)
    assert deployment["environment"] == "prod" and deployment["sha"] == sha
    states = [s["state"] for s in github.deployment_statuses(REPO, deployment["id"])]
    assert states == ["in_progress", "success"]
    assert len(github.releases(REPO)) == 1  # a stage tag publishes no release
    assert github.violations == []
