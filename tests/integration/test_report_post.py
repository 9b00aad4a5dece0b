"""`mlci report --post` against the GitHub stand-in (checked against GitHub's OpenAPI description)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import api
from mlci.cli import cli
from tests.conftest import git
from tests.github_standin import GitHubStandin, validate_event
from tests.integration.pull_request import REPO, open_pull, pull_request_env, running_standin

TOKEN = "ghs_workflowtoken0123456789"


@pytest.fixture
def standin() -> Iterator[GitHubStandin]:
    yield from running_standin()


@pytest.fixture
def actions_env(
    history: Path, standin: GitHubStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    standin.add_user(TOKEN, "github-actions[bot]", type="Bot")
    head, event = open_pull(history, standin)
    validate_event("pull_request", event)
    files = {name: tmp_path / name for name in ("event.json", "summary.md", "output.txt")}
    env = {
        **pull_request_env(standin, head, event, files["event.json"]),
        "GITHUB_HEAD_REF": "feature",
        "GITHUB_BASE_REF": "main",
        "GITHUB_WORKFLOW": "pr",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_STEP_SUMMARY": str(files["summary.md"]),
        "GITHUB_OUTPUT": str(files["output.txt"]),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return files


def post(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["-C", str(repo), "report", "--head", "feature", "--post", *args]
    )
    return result.exit_code, result.output


def ours(standin: GitHubStandin) -> list[dict[str, object]]:
    return [c for c in standin.comments(REPO, 7) if "<!-- mlci-report:pr -->" in str(c["body"])]


def test_post_then_update_in_place(
    history: Path, standin: GitHubStandin, actions_env: dict[str, Path]
) -> None:
    code, output = post(history)
    assert code == 0, output
    assert "report posted on #7" in output
    comments = ours(standin)
    assert len(comments) == 1
    body = str(comments[0]["body"])
    assert "| total | 18 | 27 | +9 (+50.0%) |" in body
    assert "History" not in body
    statuses = standin.statuses(REPO, git(history, "rev-parse", "feature"))
    assert statuses[-1]["context"] == "mlci/report" and statuses[-1]["state"] == "success"
    assert statuses[-1]["target_url"] == f"https://github.example/{REPO}/actions/runs/4242"
    assert "| total | 18 | 27 |" in actions_env["summary.md"].read_text()
    assert "metrics-changed<<" in actions_env["output.txt"].read_text()

    code, output = post(history)
    assert code == 0, output
    assert "report updated on #7" in output
    comments = ours(standin)
    assert len(comments) == 1
    body = str(comments[0]["body"])
    assert "History (1 earlier runs)" in body
    assert "total 27 (+9)" in body.split("<!-- mlci-history -->")[1]


def test_racing_posters_leave_one_comment(
    history: Path, standin: GitHubStandin, actions_env: dict[str, Path]
) -> None:
    report = api.report(history, head="feature")
    errors: list[BaseException] = []

    def poster() -> None:
        try:
            api.post_report(report, token=TOKEN)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poster) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(ours(standin)) == 1


def test_other_users_comments_are_never_edited(
    history: Path, standin: GitHubStandin, actions_env: dict[str, Path]
) -> None:
    from github import Auth, Github

    standin.add_user("ghp_someoneelse", "mallory")
    other = Github(auth=Auth.Token("ghp_someoneelse"), base_url=standin.url, retry=None)
    fake = other.get_repo(REPO).get_issue(7).create_comment("<!-- mlci-report:pr --> fake numbers")
    code, output = post(history)
    assert code == 0, output
    bodies = [str(c["body"]) for c in ours(standin)]
    assert len(bodies) == 2
    assert fake.body in bodies


def test_no_pull_request_is_not_an_error(
    history: Path,
    standin: GitHubStandin,
    actions_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "GITHUB_REF"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("GITHUB_SHA", "c" * 40)
    git(history, "checkout", "-q", "main")  # a commit no pull request has
    result = CliRunner().invoke(
        cli, ["-C", str(history), "report", "--base", "HEAD", "--head", "HEAD", "--post"]
    )
    code, output = result.exit_code, result.output
    assert code == 0, output
    assert "no pull request found" in output
    assert standin.comments(REPO, 7) == []
    assert "mlci report" in actions_env["summary.md"].read_text()


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(500, None), (502, None), (503, None), (403, 1)],
    ids=["500", "502", "503", "secondary-rate-limit-with-retry-after"],
)
def test_transient_errors_are_retried(
    history: Path,
    standin: GitHubStandin,
    actions_env: dict[str, Path],
    status: int,
    retry_after: int | None,
) -> None:
    standin.fail_next("POST", r"/issues/7/comments$", status, retry_after=retry_after)
    code, output = post(history)
    assert code == 0, output
    assert len(ours(standin)) == 1


def test_persistent_failure_exits_3(
    history: Path, standin: GitHubStandin, actions_env: dict[str, Path]
) -> None:
    standin.fail_next("POST", r"/issues/7/comments$", 500, times=20)
    code, output = post(history)
    assert code == 3
    assert "GitHub" in output and "comment on #7" in output
    assert TOKEN not in output


def test_bad_token_exits_3_without_printing_it(
    history: Path,
    standin: GitHubStandin,
    actions_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_notavalidtoken")
    code, output = post(history)
    assert code == 3
    assert "401" in output
    assert "ghs_notavalidtoken" not in output


def test_read_only_token_of_a_fork_exits_3(
    history: Path,
    standin: GitHubStandin,
    actions_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    standin.add_user("ghs_forktoken", "github-actions[bot]", type="Bot", read_only=True)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_forktoken")
    code, output = post(history)
    assert code == 3
    assert "403" in output
