"""GitHub's faults on the stand-in, as PyGithub meets them: bad and read-only tokens, a body over
the limit, injected errors, rate limits and delays, requests off the contract, two clients at once.

The fixtures and the valid flows: test_github_standin.py.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from github import GithubException
from github.GithubException import BadCredentialsException, RateLimitExceededException

from tests.github_standin import COMMENT_BODY_LIMIT, GitHubStandin
from tests.github_standin import github as github_fixture  # noqa: F401 - registers `github`
from tests.unit.test_github_standin import FORK, REPO, Client, raw
from tests.unit.test_github_standin import client as client_fixture  # noqa: F401
from tests.unit.test_github_standin import standin as standin_fixture  # noqa: F401

# --------------------------------------------------------------------------- GitHub's faults


def test_bad_token_is_401(standin: GitHubStandin, client: Client) -> None:
    with pytest.raises(BadCredentialsException) as denied:
        client("ghp_wrong").get_repo(REPO)
    assert denied.value.status == 401
    assert denied.value.data["message"] == "Bad credentials"
    assert "documentation_url" in denied.value.data
    assert raw(standin, "GET", f"/repos/{REPO}", token=None)[0] == 401
    assert standin.violations == []


def test_read_only_token_cannot_write(standin: GitHubStandin, client: Client) -> None:
    pr = client(FORK).get_repo(REPO).get_pull(7)  # reading works
    with pytest.raises(GithubException) as denied:
        pr.create_issue_comment("report")
    assert denied.value.status == 403
    assert denied.value.data["message"] == "Resource not accessible by integration"
    assert standin.comments(REPO, 7) == []
    assert standin.violations == []


def test_comment_longer_than_65536_characters_is_422(
    standin: GitHubStandin, client: Client
) -> None:
    pr = client().get_repo(REPO).get_pull(7)
    with pytest.raises(GithubException) as too_long:
        pr.create_issue_comment("x" * 66_000)
    assert too_long.value.status == 422
    assert too_long.value.data["message"] == "Validation Failed"
    [error] = too_long.value.data["errors"]
    assert error == {
        "resource": "IssueComment",
        "code": "custom",
        "field": "body",
        "message": "body is too long (maximum is 65536 characters)",
    }
    longest = pr.create_issue_comment("x" * COMMENT_BODY_LIMIT)
    with pytest.raises(GithubException) as edit:
        longest.edit("y" * (COMMENT_BODY_LIMIT + 1))
    assert edit.value.status == 422
    assert [len(c["body"]) for c in standin.comments(REPO, 7)] == [COMMENT_BODY_LIMIT]
    assert standin.violations == []


def test_injected_503_then_success(standin: GitHubStandin, client: Client) -> None:
    standin.fail_next("POST", r"/issues/7/comments$", 503)
    pr = client().get_repo(REPO).get_pull(7)
    with pytest.raises(GithubException) as unavailable:
        pr.create_issue_comment("report")
    assert unavailable.value.status == 503
    pr.create_issue_comment("report")
    assert [c["body"] for c in standin.comments(REPO, 7)] == ["report"]
    assert [r.status for r in standin.requests if r.method == "POST"] == [503, 201]
    assert standin.violations == []


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_with_retry_after(
    standin: GitHubStandin, client: Client, status: int
) -> None:
    standin.fail_next("POST", r"/comments$", status, retry_after=42)
    pr = client().get_repo(REPO).get_pull(7)
    with pytest.raises(GithubException) as limited:
        pr.create_issue_comment("report")
    assert limited.value.status == status
    assert limited.value.headers is not None
    assert limited.value.headers["retry-after"] == "42"
    assert limited.value.data["message"].startswith("You have exceeded a secondary rate limit")
    if status == 403:
        assert isinstance(limited.value, RateLimitExceededException)
    assert standin.violations == []


def test_injected_html_error_page(standin: GitHubStandin, client: Client) -> None:
    standin.fail_next("GET", r"/pulls/7$", 502, body="<html>Unicorn!</html>")
    with pytest.raises(GithubException) as bad_gateway:
        client().get_repo(REPO).get_pull(7)
    assert bad_gateway.value.status == 502
    assert standin.violations == []


def test_an_injected_body_off_the_contract_is_recorded(
    standin: GitHubStandin, client: Client
) -> None:
    standin.fail_next("GET", r"/pulls/7$", 500, body={"message": "Oops", "documentation_url": 7})
    with pytest.raises(GithubException):
        client().get_repo(REPO).get_pull(7)
    [violation] = standin.violations  # a response that breaks the contract never goes out silently
    assert "response violates the contract" in violation


def test_delayed_answer_times_out_the_client(standin: GitHubStandin, client: Client) -> None:
    standin.delay_next("POST", r"/comments$", 1.5)
    pr = client(timeout=1).get_repo(REPO).get_pull(7)
    with pytest.raises(requests.exceptions.Timeout):
        pr.create_issue_comment("report")
    deadline = time.monotonic() + 5
    while not standin.comments(REPO, 7) and time.monotonic() < deadline:
        time.sleep(0.05)  # like GitHub, the write still lands after the client gave up
    assert [c["body"] for c in standin.comments(REPO, 7)] == ["report"]
    assert standin.violations == []


def test_contract_violations_are_rejected_and_recorded(standin: GitHubStandin) -> None:
    status, _, body = raw(standin, "POST", f"/repos/{REPO}/check-runs", {"status": "queued"})
    assert status == 422
    assert body["message"].startswith("Invalid request.")
    [violation] = standin.violations
    assert "'name' is a required property" in violation
    assert "'head_sha' is a required property" in violation
    assert standin.check_runs(REPO) == []

    status, _, body = raw(standin, "GET", f"/repos/{REPO}/branches")  # not in the contract
    assert (status, body["message"]) == (404, "Not Found")
    assert len(standin.violations) == 2
    assert standin.requests[-1].status == 404


def test_two_clients_posting_at_once(standin: GitHubStandin, client: Client) -> None:
    standin.delay_next("POST", r"/comments$", 0.5, times=2)  # both requests in flight together
    prs = [client().get_repo(REPO).get_pull(7) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def post(index: int) -> None:
        try:
            barrier.wait(timeout=5)
            prs[index].create_issue_comment(f"from poster {index}")
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert time.monotonic() - started < 0.95  # served concurrently, not one after the other
    comments = standin.comments(REPO, 7)
    assert sorted(c["body"] for c in comments) == ["from poster 0", "from poster 1"]
    assert len({c["id"] for c in comments}) == 2
    assert standin.violations == []
