"""`mlci init` in a fresh DVC repository, then its pull-request workflows run by `act`.

The workflows are the files init wrote, unedited: they call
`mlci-dev/mlci/.github/workflows/mlci-*.yml` at the commit of init's default ref (a tag
that a local bare repository resolves), which act maps to a copy of this working tree (tests/e2e/act.py), against the GitHub stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlci.init import DEFAULT_REF
from tests.conftest import BIN, commit_all, git, serve_mlci_repo, set_param, sh
from tests.e2e.act import Act
from tests.github_standin import ACTIONS_BOT, GitHubStandin, make_event
from tests.github_standin import github as github_fixture  # noqa: F401 - registers `github`

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = "octo-org/tiny-ml"
PR_TOKEN = "pull-request-token"
WRITE_TOKEN = "workflow-run-token"
DATA = "n,kind\n1,a\n2,b\n3,a\n4,b\n"


def test_init_then_the_pull_request_workflows_post_the_report(
    tiny: Path, tmp_path: Path, github: GitHubStandin
) -> None:
    repo, remote = tiny, tmp_path / "dvc-remote"
    (repo / "data").mkdir()
    (repo / "data" / "rows.csv").write_text(DATA)
    git(repo, "remote", "add", "origin", f"https://github.com/{REPO}.git")
    sh(str(BIN / "dvc"), "remote", "add", "-d", "shared", str(remote), cwd=repo)
    # `installed`: act runs the jobs on this machine, with this venv's mlci (nothing to fetch)
    # init pins its release tag to the commit the "server" ($GITHUB_SERVER_URL) gives
    server = tmp_path / "git-server"
    server.mkdir()
    pinned = serve_mlci_repo(server, DEFAULT_REF)
    init = subprocess.run(
        [str(BIN / "mlci"), "init", "--data", "data/rows.csv", "--mlci-version", "installed"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GITHUB_SERVER_URL": server.as_uri()},
    )
    assert init.returncode == 0, init.stderr
    workflows = repo / ".github" / "workflows"
    uses = f"mlci-pr.yml@{pinned} # {DEFAULT_REF}\n"
    assert uses in (workflows / "mlci-pr.yml").read_text()
    sh(str(BIN / "mlci"), "run", "--no-tracking", cwd=repo)  # dvc.lock and the remote's objects
    main_sha = commit_all(repo, "mlci init, and the pipeline's lock")

    github.add_repo(REPO, head_sha=main_sha)
    github.add_user(PR_TOKEN, ACTIONS_BOT, type="Bot", read_only=True)
    github.add_user(WRITE_TOKEN, ACTIONS_BOT, type="Bot")
    act = Act(tmp_path / "act", github.url, mlci_refs=[pinned])

    git(repo, "checkout", "-q", "-b", "triple")
    set_param(repo, "double", "factor", 3)
    head = commit_all(repo, "triple instead of double")
    github.add_pull(REPO, 3, head_sha=head, base_sha=main_sha, head_ref="triple")
    common = {
        "repo": REPO,
        "number": 3,
        "head_sha": head,
        "base_sha": main_sha,
        "head_ref": "triple",
        "api_url": github.url,
    }

    pr = act.run(
        repo,
        "pull_request",
        make_event("pull_request", "opened", **common),  # type: ignore[arg-type]
        workflow="mlci-pr.yml",
        token=PR_TOKEN,
    ).check()
    assert "mlci validate data" in pr.output and "mlci validate model" in pr.output
    report = json.loads((act.artifact("mlci-report") / "report.json").read_text())
    assert {s["name"]: s["run"] for s in report["stages"]} == {"double": "ran", "score": "ran"}
    assert [(p["name"], p["base"], p["head"]) for p in report["params"]] == [
        ("double.factor", 2, 3)
    ]
    data = next(v for v in report["validation"] if v["kind"] == "data")
    assert data["success"], data
    assert github.comments(REPO, 3) == []  # the read-only run posts nothing

    act.run(
        repo,
        "workflow_run",
        make_event("workflow_run", "completed", workflow="mlci pr", **common),  # type: ignore[arg-type]
        workflow="mlci-pr-comment.yml",
        token=WRITE_TOKEN,
    ).check()
    [comment] = github.comments(REPO, 3)
    assert comment["user"]["login"] == ACTIONS_BOT
    assert "<!-- mlci-report:" in comment["body"]
    assert "double.factor" in comment["body"]
    assert [s["context"] for s in github.statuses(REPO, head)] == ["mlci/report"]
    assert github.violations == []
