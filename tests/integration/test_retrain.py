"""`mlci retrain`: real git (with a bare origin), real DVC (local-directory remote), real Great
Expectations on the digits data, and the GitHub stand-in whose branches follow the origin."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlci.cli import cli
from tests.conftest import BIN, ROOT, commit_all, git, sh
from tests.github_standin import GitHubStandin

REPO = "octo-org/digits"
TOKEN = "ghs_retraintoken0123456789"
PIXELS = [f"pixel_{i}" for i in range(64)]


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if (ROOT / "data" / "digits.csv").is_file():
        return (ROOT / "data" / "digits.csv").read_bytes()
    out = tmp_path_factory.mktemp("digits-data")
    subprocess.run(
        [sys.executable, "-m", "pipelines.digits.data", "--out", str(out)], cwd=ROOT, check=True
    )
    return (out / "digits.csv").read_bytes()


class Project:
    def __init__(self, tmp: Path, digits: bytes) -> None:
        self.origin = tmp / "origin.git"
        self.remote = tmp / "dvc-remote"
        self.feedback = tmp / "feedback"
        self.repo = tmp / "repo"
        self.digits = digits
        self.header, *self.rows = list(csv.reader(io.StringIO(digits.decode())))
        sh("git", "init", "-q", "--bare", "-b", "main", str(self.origin), cwd=tmp)
        repo = self.repo
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
        shutil.copytree(ROOT / "gx", repo / "gx", ignore=shutil.ignore_patterns("uncommitted"))
        (repo / "data").mkdir()
        (repo / "data" / "digits.csv").write_bytes(digits)
        (repo / ".gitignore").write_text("/.mlci/\n")
        (repo / "pyproject.toml").write_text(
            '[tool.mlci.data.digits]\npath = "data/digits.csv"\nsuite = "digits"\n\n'
            f'[tool.mlci.release]\nfeedback_store = "{self.feedback}"\n'
        )
        sh(str(BIN / "dvc"), "remote", "add", "-q", "-d", "storage", str(self.remote), cwd=repo)
        sh(str(BIN / "dvc"), "add", "-q", "data", cwd=repo)
        sh(str(BIN / "dvc"), "push", "-q", cwd=repo)
        commit_all(repo, "digits data")
        git(repo, "remote", "add", "origin", str(self.origin))
        git(repo, "push", "-q", "origin", "main")

    def new_rows(self, count: int, *, start: int = 0, pixel: str = "16") -> list[list[str]]:
        """Rows not in the dataset: real digits with the last pixel changed."""
        made = []
        for row in self.rows[start : start + count]:
            changed = [*row]
            changed[63] = pixel if row[63] != pixel else "15"
            made.append(changed)
        return made

    def write_feedback(
        self, name: str, rows: list[list[str]], *, columns: list[str] | None = None
    ) -> Path:
        """A feedback file as the served model writes it: the dataset's columns plus `predicted`."""
        self.feedback.mkdir(exist_ok=True)
        header = columns or [*self.header, "predicted"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([*row, row[-1]][: len(header)])
        path = self.feedback / f"feedback-{name}.csv"
        path.write_text(out.getvalue())
        return path

    def remote_objects(self) -> set[str]:
        return {p.name for p in self.remote.rglob("*") if p.is_file()}


@pytest.fixture
def project(tmp_path: Path, digits_csv: bytes) -> Project:
    return Project(tmp_path, digits_csv)


@pytest.fixture
def github(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandin]:
    with GitHubStandin() as standin:
        standin.add_user(TOKEN, "github-actions[bot]", type="Bot")
        standin.add_repo(REPO)
        standin.follow_git(REPO, project.origin)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        monkeypatch.setenv("GITHUB_API_URL", standin.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield standin
        assert standin.violations == []


def retrain(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(repo), "retrain", *args])


def pulls(standin: GitHubStandin) -> list[dict[str, object]]:
    return [
        r.body
        for r in standin.requests
        if r.method == "POST" and r.path.endswith("/pulls") and isinstance(r.body, dict)
    ]


def branches(origin: Path) -> list[str]:
    return git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def assert_nothing_proposed(project: Project, github: GitHubStandin) -> None:
    """No pull request opened, no branch pushed, no mlci/* branch made in the checkout."""
    assert pulls(github) == []
    assert branches(project.origin) == ["main"]
    assert git(project.repo, "branch", "--list", "mlci/*") == ""


def test_feedback_becomes_a_pull_request(
    project: Project, github: GitHubStandin, tmp_path: Path
) -> None:
    # a fresh clone, as in CI: the data is only in the DVC remote
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(project.origin), str(clone), cwd=tmp_path)
    before_objects = project.remote_objects()
    new = project.new_rows(6)
    project.write_feedback("20240501T100000.000000001Z-aaaa", [*new[:4], project.rows[0]])
    # the second file repeats a new row and brings two more
    project.write_feedback("20240502T100000.000000001Z-bbbb", [new[1], *new[4:]])

    result = retrain(clone)

    assert result.exit_code == 0, result.output
    assert "opened #1" in result.output
    (body,) = pulls(github)
    branch = str(body["head"])
    assert branch.startswith("mlci/retrain-digits-")
    assert body["base"] == "main"
    text = str(body["body"])
    assert "| before | 1797 |" in text
    assert "| added | 6 |" in text
    assert (
        "| duplicates dropped | 2 (1 already in the dataset, 1 repeated in the new data) |" in text
    )
    assert "| after | 1803 |" in text
    assert "Per `label`" in text
    assert "feedback-20240502T100000.000000001Z-bbbb.csv" in text
    assert "Columns not in the dataset, dropped: `predicted`" in text
    # the branch is on origin, with one commit changing only data.dvc
    assert branch in branches(project.origin)
    changed = git(project.origin, "diff", "--name-only", "main", branch).split()
    assert changed == ["data.dvc"]
    # the new data is in the DVC remote
    assert project.remote_objects() - before_objects
    # the clone is where it was: main, clean, no data written into it
    assert git(clone, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(clone, "status", "--porcelain") == ""
    assert not (clone / "data").exists()

    # a second run finds its pull request and opens none
    again = retrain(clone)
    assert again.exit_code == 0, again.output
    assert "already proposed in #1" in again.output
    assert len(pulls(github)) == 1


def test_new_data_lands_in_the_remote_and_the_branch(
    project: Project, github: GitHubStandin
) -> None:
    project.write_feedback("20240501T100000.000000001Z-aaaa", project.new_rows(3))
    repo = project.repo
    head = git(repo, "rev-parse", "HEAD")

    result = retrain(repo)

    assert result.exit_code == 0, result.output
    (body,) = pulls(github)
    branch = str(body["head"])
    # the workspace is untouched: same branch, same commit, same data, clean
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "data" / "digits.csv").read_bytes() == project.digits
    assert git(repo, "status", "--porcelain") == ""
    # the branch's data, checked out from the DVC remote alone, is the old data plus 3 rows
    shutil.rmtree(repo / ".dvc" / "cache")
    git(repo, "checkout", "-q", branch)
    sh(str(BIN / "dvc"), "pull", "-q", "--force", cwd=repo)
    data = (repo / "data" / "digits.csv").read_bytes()
    assert data.startswith(project.digits)
    assert data.count(b"\n") == project.digits.count(b"\n") + 3


def test_nothing_new_is_a_quiet_success(project: Project, github: GitHubStandin) -> None:
    result = retrain(project.repo)
    assert result.exit_code == 0, result.output
    assert "nothing to retrain" in result.output
    assert_nothing_proposed(project, github)


def test_duplicates_only_is_nothing_new(project: Project, github: GitHubStandin) -> None:
    project.write_feedback("20240501T100000.000000001Z-aaaa", project.rows[:5])
    result = retrain(project.repo)
    assert result.exit_code == 0, result.output
    assert "nothing to retrain" in result.output
    assert "are all in data/digits.csv already" in result.output
    assert_nothing_proposed(project, github)


def test_bad_columns_are_refused(project: Project, github: GitHubStandin) -> None:
    before = project.remote_objects()
    project.write_feedback("20240501T100000.000000001Z-good", project.new_rows(2))
    bad = project.write_feedback(
        "20240502T100000.000000001Z-bad", project.new_rows(2), columns=PIXELS
    )
    result = retrain(project.repo)
    assert result.exit_code == 2, result.output
    assert bad.name in result.output
    assert "missing label" in result.output
    assert_nothing_proposed(project, github)
    assert project.remote_objects() == before
    assert git(project.repo, "status", "--porcelain") == ""


def test_failing_validation_pushes_nothing(project: Project, github: GitHubStandin) -> None:
    before = project.remote_objects()
    project.write_feedback("20240501T100000.000000001Z-aaaa", project.new_rows(3, pixel="99"))
    result = retrain(project.repo)
    assert result.exit_code == 1, result.output
    assert "fails its expectation suite" in result.output
    assert "pixel_63" in result.output
    assert_nothing_proposed(project, github)
    assert project.remote_objects() == before
    assert (project.repo / "data" / "digits.csv").read_bytes() == project.digits


def test_explicit_source_dry_run_and_no_push(
    project: Project, github: GitHubStandin, tmp_path: Path
) -> None:
    extra = tmp_path / "labelled.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([project.header, *project.new_rows(2)])
    extra.write_text(out.getvalue())

    dry = retrain(project.repo, str(extra), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run: 2 new rows" in dry.output
    assert git(project.repo, "branch", "--list", "mlci/*") == ""

    local = retrain(project.repo, str(extra), "--no-push", "--branch", "retrain/local")
    assert local.exit_code == 0, local.output
    assert "retrain/local" in git(project.repo, "branch", "--list", "retrain/*")
    assert_nothing_proposed(project, github)

    missing = retrain(project.repo, str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "nope.csv: no such file or folder" in missing.output


def test_in_actions_the_bot_commits_and_outputs_are_set(
    project: Project, github: GitHubStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a runner has no git identity: the commit is the Actions bot's
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    project.write_feedback("20240501T100000.000000001Z-aaaa", project.new_rows(2))

    result = retrain(project.repo)

    assert result.exit_code == 0, result.output
    (body,) = pulls(github)
    author = git(project.origin, "log", "-1", "--format=%an <%ae>", str(body["head"]))
    assert author == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    outputs = output.read_text()  # heredoc syntax: name<<delimiter, value, delimiter
    assert "\nopened\n" in outputs
    assert f"\n{github.url}/{REPO}/pull/1\n" in outputs
    assert "| added | 2 |" in summary.read_text()
