"""This repository's retrain.yml (workflow_dispatch → mlci-retrain.yml → `mlci retrain`), run
for real by `act` (tests/e2e/act.py) against the GitHub stand-in.

The test repository is the digits reference project with both workflow files copied in, as
in this repository. Its `origin` is https://github.com/octo-org/digits.git, which act reads
as GITHUB_REPOSITORY; the test's global git config rewrites that URL to a local bare
repository (`url.<bare>.insteadOf`), so the job's `git push` lands there and the stand-in,
which follows it, sees the branch when the pull request is opened. The DVC remote is a
folder, committed in .dvc/config, that already has the data.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.digits.common import HEADER, csv_bytes
from tests.conftest import BIN, commit_all, git, sh
from tests.e2e.act import ROOT, Act, ActResult
from tests.github_standin import ACTIONS_BOT, GitHubStandin, make_event
from tests.github_standin import github as github_fixture  # noqa: F401 - registers `github`

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = "octo-org/digits"
TOKEN = "workflow-dispatch-token"  # the dispatched run's GITHUB_TOKEN: contents and PRs write
FEEDBACK_COLUMNS = [*HEADER, "predicted"]  # as pipelines/digits/service.py writes them
IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


@dataclass
class Project:
    repo: Path
    origin: Path
    remote: Path
    main_sha: str
    rows: list[list[str]]
    act: Act
    github: GitHubStandin
    tmp: Path

    def feedback(self, folder: str, batches: dict[str, list[list[str]]]) -> Path:
        """Feedback files as the served model's /feedback writes them: one file per request,
        `feedback-<UTC time>.<ns>Z-<random>.csv`, the dataset's columns plus `predicted`."""
        store = self.tmp / folder
        store.mkdir()
        for stamp, rows in batches.items():
            # the model said the label, except for the first row of each batch
            table = [
                [*row, row[-1] if i else str((int(row[-1]) + 1) % 10)] for i, row in enumerate(rows)
            ]
            (store / f"feedback-{stamp}.csv").write_bytes(csv_bytes(FEEDBACK_COLUMNS, table))
        return store

    def new_rows(self, count: int) -> list[list[str]]:
        """Rows not in the dataset: real digits with the last pixel changed."""
        return [
            [*row[:63], "16" if row[63] != "16" else "15", row[64]] for row in self.rows[:count]
        ]

    def dispatch(self, source: Path) -> ActResult:
        result = self.act.run(
            self.repo,
            "workflow_dispatch",
            dispatch_event(self.github.url, str(source)),
            workflow="retrain.yml",
            token=TOKEN,
            schema=False,
        )
        assert self.act.processes() == [], "a process of the job outlived it"
        return result.check()

    def pulls(self) -> list[dict[str, Any]]:
        return [
            r.body
            for r in self.github.requests
            if r.method == "POST" and r.path.endswith("/pulls") and isinstance(r.body, dict)
        ]

    def branches(self) -> list[str]:
        return git(self.origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()

    def remote_files(self) -> set[str]:
        return {str(p.relative_to(self.remote)) for p in self.remote.rglob("*") if p.is_file()}


def dispatch_event(api_url: str, source: str) -> dict[str, Any]:
    """A workflow_dispatch payload. The webhooks subset in tests/contracts/github has no schema for it,
    so make_event cannot build it: its repository and sender come from a create event that
    make_event builds and validates, the rest is GitHub's documented shape."""
    create = make_event("create", repo=REPO, ref="main", ref_type="branch", api_url=api_url)
    return {
        "inputs": {"source": source},
        "ref": "refs/heads/main",
        "repository": create["repository"],
        "sender": create["sender"],
        "workflow": ".github/workflows/retrain.yml",
    }


def _workflows(repo: Path) -> None:
    """retrain.yml and the reusable mlci-retrain.yml it calls, as in this repository; the one
    change: `mlci-version: installed`, so that actions/setup uses this venv's mlci (act runs
    the job on this machine, offline) instead of installing it from the action's checkout."""
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy2(ROOT / ".github" / "workflows" / "mlci-retrain.yml", workflows)
    caller = (ROOT / ".github" / "workflows" / "retrain.yml").read_text()
    assert "uses: ./.github/workflows/mlci-retrain.yml\n    with:\n" in caller
    (workflows / "retrain.yml").write_text(
        caller.replace("    with:\n", "    with:\n      mlci-version: installed\n", 1)
    )


@pytest.fixture
def project(
    digits_repo: Path, tmp_path: Path, github: GitHubStandin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    repo, origin, remote = digits_repo, tmp_path / "origin.git", tmp_path / "dvc-remote"
    sh(str(BIN / "python"), "-m", "pipelines.digits.data", cwd=repo)
    shutil.copytree(ROOT / "gx", repo / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    _workflows(repo)
    sh(str(BIN / "dvc"), "remote", "add", "-d", "storage", str(remote), cwd=repo)
    sh(str(BIN / "dvc"), "add", "-q", "data", cwd=repo)
    sh(str(BIN / "dvc"), "push", "-q", "data.dvc", cwd=repo)
    main_sha = commit_all(repo, "digits data in the DVC remote, the retrain workflows")
    url = f"https://github.com/{REPO}.git"
    sh("git", "init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    # GIT_CONFIG_GLOBAL is the test's own file (tests/conftest.py), and the job inherits it
    git(repo, "config", "--global", f"url.{origin}.insteadOf", url)
    git(repo, "remote", "add", "origin", url)
    git(repo, "push", "-q", "origin", "main")
    assert git(origin, "rev-parse", "main") == main_sha

    github.add_repo(REPO, head_sha=main_sha)
    github.follow_git(REPO, origin)
    github.add_user(TOKEN, ACTIONS_BOT, type="Bot")
    # a runner has no git identity: mlci commits as the Actions bot
    for name in IDENTITY:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    act = Act(tmp_path / "act", github.url)
    header, *rows = csv.reader(io.StringIO((repo / "data" / "digits.csv").read_text()))
    assert header == HEADER
    yield Project(repo, origin, remote, main_sha, rows, act, github, tmp_path)
    assert github.violations == []


def test_dispatch_opens_one_pull_request_with_the_data_diff(
    project: Project, tmp_path: Path
) -> None:
    new = project.new_rows(4)
    # the second request repeats a row of the first; the first has a row of the dataset
    store = project.feedback(
        "feedback",
        {
            "20240501T100000.000000001Z-aaaa0001": [new[0], new[1], new[2], project.rows[5]],
            "20240502T100000.000000001Z-bbbb0002": [new[2], new[3]],
        },
    )
    before = project.remote_files()

    first = project.dispatch(store)

    assert "🏁  Job succeeded" in first.output
    assert "opened #1" in first.output, first.output[-6000:]
    # the job's outputs (docs/retrain.md), as act shows what the step wrote to $GITHUB_OUTPUT
    assert "::set-output:: status=opened" in first.output
    assert f"::set-output:: pull-request={project.github.url}/{REPO}/pull/1" in first.output
    (body,) = project.pulls()
    branch = str(body["head"])
    assert re.fullmatch(r"mlci/retrain-digits-[0-9a-f]{8}", branch)
    assert body["base"] == "main"
    assert body["title"] == "mlci retrain: 4 new rows for digits"
    text = str(body["body"])
    for line in (
        "| before | 1797 |",
        "| added | 4 |",
        "| duplicates dropped | 2 (1 already in the dataset, 1 repeated in the new data) |",
        "| after | 1801 |",
        "Columns not in the dataset, dropped: `predicted`",
        "feedback-20240502T100000.000000001Z-bbbb0002.csv",
    ):
        assert line in text, text
    # the stand-in holds the pull request, from the branch the job pushed
    assert project.github.refs(REPO)[f"refs/heads/{branch}"] == git(
        project.origin, "rev-parse", branch
    )

    # on origin: one commit on main, by the Actions bot, changing only data.dvc
    assert sorted(project.branches()) == sorted(["main", branch])
    assert git(project.origin, "rev-list", f"main..{branch}").split() == [
        git(project.origin, "rev-parse", branch)
    ]
    assert git(project.origin, "rev-parse", f"{branch}^") == project.main_sha
    assert git(project.origin, "diff", "--name-only", "main", branch).split() == ["data.dvc"]
    author = git(project.origin, "log", "-1", "--format=%an <%ae>", branch)
    assert author == f"{ACTIONS_BOT} <41898282+{ACTIONS_BOT}@users.noreply.github.com>"

    # the DVC remote has the new data: a fresh clone of the branch pulls it from there alone
    assert project.remote_files() - before
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", "--branch", branch, str(project.origin), str(clone), cwd=tmp_path)
    sh(str(BIN / "dvc"), "pull", "-q", "data.dvc", cwd=clone)
    lines = (clone / "data" / "digits.csv").read_text().splitlines()
    assert len(lines) == 1 + 1797 + 4
    assert lines[-4:] == [",".join(row) for row in new]

    # the same feedback again: the branch is on origin with its pull request, nothing new
    second = project.dispatch(store)
    assert "🏁  Job succeeded" in second.output
    assert "this data is already proposed in #1 (open)" in second.output, second.output[-6000:]
    assert "::set-output:: status=exists" in second.output
    assert len(project.pulls()) == 1
    assert sorted(project.branches()) == sorted(["main", branch])


def test_dispatch_with_nothing_new_opens_nothing(project: Project) -> None:
    before = project.remote_files()

    empty = project.dispatch(project.feedback("empty", {}))
    assert "🏁  Job succeeded" in empty.output
    assert "nothing to retrain: no new data in" in empty.output, empty.output[-6000:]

    duplicates = project.feedback(
        "duplicates", {"20240501T100000.000000001Z-cccc0003": project.rows[:3]}
    )
    only_duplicates = project.dispatch(duplicates)
    assert "🏁  Job succeeded" in only_duplicates.output
    assert "are all in data/digits.csv already" in only_duplicates.output
    for result in (empty, only_duplicates):
        assert "::set-output:: status=nothing-new" in result.output

    assert project.pulls() == []
    assert project.branches() == ["main"]
    assert project.remote_files() == before
    assert [r for r in project.github.requests if r.method != "GET"] == []
