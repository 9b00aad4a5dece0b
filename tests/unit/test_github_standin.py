"""The GitHub stand-in, driven by real PyGithub over HTTP and checked against GitHub's contract."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from github import Auth, Github, GithubException, InputGitAuthor
from github.GithubException import BadCredentialsException, RateLimitExceededException

from tests.github_standin import (
    ACTIONS_BOT,
    COMMENT_BODY_LIMIT,
    SPEC_DIR_ENV,
    ContractNotFoundError,
    EventValidationError,
    GitHubStandin,
    contract_dir,
    make_event,
    validate_event,
)
from tests.github_standin import github as github_fixture  # noqa: F401 - registers `github`

REPO = "octo-org/mlci-demo"
HEAD = "1" * 40
BASE = "2" * 40
MERGE = "3" * 40
BOT = "ghs_actions_token"  # a workflow's GITHUB_TOKEN
PAT = "ghp_alice_token"
FORK = "ghs_fork_token"  # GITHUB_TOKEN of a workflow run for a fork's pull request

Client = Callable[..., Github]


@pytest.fixture
def standin(github: GitHubStandin) -> GitHubStandin:
    """The stand-in with one repository, one pull request and three identities."""
    github.add_repo(REPO)
    github.add_user(BOT, ACTIONS_BOT, type="Bot")
    github.add_user(PAT, "alice")
    github.add_user(FORK, ACTIONS_BOT, type="Bot", read_only=True)
    github.add_pull(REPO, 7, HEAD, BASE, labels=["model", "ready"], merge_commit_sha=MERGE)
    return github


@pytest.fixture
def client(standin: GitHubStandin) -> Iterator[Client]:
    """PyGithub clients on the stand-in (closed after the test)."""
    made: list[Github] = []

    def make(token: str = BOT, **kwargs: Any) -> Github:
        gh = Github(
            auth=Auth.Token(token),
            base_url=standin.url,
            retry=None,
            seconds_between_requests=None,  # PyGithub paces writes 1 s apart by default
            seconds_between_writes=None,
            **kwargs,
        )
        made.append(gh)
        return gh

    yield make
    for gh in made:
        gh.close()


def raw(
    standin: GitHubStandin,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = BOT,
) -> tuple[int, dict[str, str], Any]:
    """A request without PyGithub: (status, headers, parsed JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(standin.url + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1
            status, headers, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, payload = error.code, dict(error.headers), error.read()
        error.close()
    return status, headers, json.loads(payload) if payload else None


# --------------------------------------------------------------------------- contract


def test_contract_is_vendored_in_the_repository() -> None:
    assert contract_dir() == Path(__file__).resolve().parents[1] / "contracts" / "github"


def test_a_missing_contract_is_an_error_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SPEC_DIR_ENV, str(tmp_path))
    with pytest.raises(ContractNotFoundError, match=SPEC_DIR_ENV):
        GitHubStandin()


def test_the_contract_directory_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPEC_DIR_ENV, str(contract_dir()))
    with GitHubStandin() as standin:
        assert standin.url.startswith("http://127.0.0.1:")


# --------------------------------------------------------------------------- valid flows


def test_pull_request_comments_create_list_edit_delete(
    standin: GitHubStandin, client: Client
) -> None:
    pr = client().get_repo(REPO).get_pull(7)
    assert (pr.title, pr.head.sha, pr.base.sha) == ("Changes from feature", HEAD, BASE)
    assert [label.name for label in pr.labels] == ["model", "ready"]

    posted = [pr.create_issue_comment(f"report {i}") for i in range(35)]
    assert posted[0].user.login == ACTIONS_BOT
    assert posted[0].user.type == "Bot"
    listed = list(pr.get_issue_comments())  # 30 per page: PyGithub follows the Link header
    assert [c.body for c in listed] == [f"report {i}" for i in range(35)]
    pages = [r for r in standin.requests if r.method == "GET" and r.path.endswith("/comments")]
    assert len(pages) == 2

    status, headers, first = raw(standin, "GET", f"/repos/{REPO}/issues/7/comments?per_page=10")
    assert status == 200
    assert len(first) == 10
    assert 'rel="next"' in headers["Link"]
    assert "page=4" in headers["Link"]
    assert 'rel="last"' in headers["Link"]

    posted[0].edit("report 0, updated")
    assert pr.get_issue_comment(posted[0].id).body == "report 0, updated"
    posted[1].delete()
    bodies = [c["body"] for c in standin.comments(REPO, 7)]
    assert bodies[0] == "report 0, updated"
    assert "report 1" not in bodies
    assert len(bodies) == 34
    assert standin.violations == []


def test_pull_requests_of_a_commit(standin: GitHubStandin, client: Client) -> None:
    repo = client().get_repo(REPO)
    assert [p.number for p in repo.get_commit(HEAD).get_pulls()] == [7]
    assert [p.number for p in repo.get_commit(MERGE).get_pulls()] == [7]  # the merge commit too
    assert list(repo.get_commit(BASE).get_pulls()) == []
    assert repo.get_commit("main").sha == BASE
    assert standin.violations == []


def test_pulls_issues_and_labels(standin: GitHubStandin, client: Client) -> None:
    repo = client(PAT).get_repo(REPO)
    assert repo.default_branch == "main"
    standin.add_commit(REPO, "4" * 40, parents=[BASE], branch="tune-lr")
    created = repo.create_pull(base="main", head="tune-lr", title="Tune the learning rate")
    assert created.number == 8
    assert created.user.login == "alice"
    assert [p.number for p in repo.get_pulls(state="open")] == [8, 7]
    assert [p.number for p in repo.get_pulls(head="octo-org:tune-lr")] == [8]
    issue = repo.get_issue(7)
    assert issue.pull_request is not None
    assert [label.name for label in issue.get_labels()] == ["model", "ready"]
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head="tune-lr", title="again")
    assert duplicate.value.status == 422
    assert standin.violations == []


def test_check_run_created_then_completed(standin: GitHubStandin, client: Client) -> None:
    repo = client().get_repo(REPO)
    run = repo.create_check_run(
        "mlci / report",
        HEAD,
        status="in_progress",
        output={"title": "Evaluating", "summary": "Running the pipeline"},
    )
    assert run.status == "in_progress"
    assert run.conclusion is None
    assert [p.number for p in run.pull_requests] == [7]
    run.edit(
        conclusion="success",
        output={"title": "accuracy 0.97 (+0.01)", "summary": "| metric | main | PR |"},
    )
    fetched = repo.get_check_run(run.id)
    assert (fetched.status, fetched.conclusion) == ("completed", "success")
    assert fetched.output.title == "accuracy 0.97 (+0.01)"
    assert fetched.completed_at is not None
    assert standin.check_runs(REPO)[0]["app"]["slug"] == "github-actions"
    assert standin.violations == []


def test_check_runs_need_a_github_app_token(standin: GitHubStandin, client: Client) -> None:
    with pytest.raises(GithubException) as denied:
        client(PAT).get_repo(REPO).create_check_run("mlci", HEAD)
    assert denied.value.status == 403
    assert standin.violations == []


def test_commit_status(standin: GitHubStandin, client: Client) -> None:
    commit = client().get_repo(REPO).get_commit(HEAD)
    status = commit.create_status(
        "failure",
        target_url="https://ci.example/run/1",
        description="accuracy dropped",
        context="mlci/gate",
    )
    assert status.state == "failure"
    assert status.creator.login == ACTIONS_BOT
    [stored] = standin.statuses(REPO, HEAD)
    assert (stored["context"], stored["description"]) == ("mlci/gate", "accuracy dropped")
    with pytest.raises(GithubException) as unknown:
        client().get_repo(REPO).get_commit("f" * 40)
    assert unknown.value.status == 422
    assert standin.violations == []


def test_release_with_an_uploaded_asset(
    standin: GitHubStandin, client: Client, tmp_path: Path
) -> None:
    repo = client().get_repo(REPO)
    release = repo.create_git_release("v1.0.0", "Model v1.0.0", "accuracy 0.97")
    assert release.upload_url.startswith(f"{standin.url}/repos/{REPO}/releases/")
    assert standin.refs(REPO)["refs/tags/v1.0.0"] == BASE  # published: the tag is created
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x80\x04 pickled model bytes")
    asset = release.upload_asset(str(model))
    assert (asset.name, asset.size, asset.state) == ("model.pkl", model.stat().st_size, "uploaded")

    with urllib.request.urlopen(asset.browser_download_url, timeout=10) as download:  # noqa: S310
        assert download.read() == model.read_bytes()
    [stored] = standin.assets(REPO, release.id)
    assert stored["content"] == model.read_bytes()
    assert stored["download_count"] == 1
    assert [a.name for a in release.get_assets()] == ["model.pkl"]
    assert repo.get_release("v1.0.0").id == release.id
    assert [r.tag_name for r in repo.get_releases()] == ["v1.0.0"]

    with pytest.raises(GithubException) as again:
        release.upload_asset(str(model))
    assert again.value.status == 422  # an asset name is unique within a release
    updated = release.update_release("Model v1.0.0 (final)", "accuracy 0.97, signed off")
    assert updated.name == "Model v1.0.0 (final)"
    release.delete_release()
    assert standin.releases(REPO) == []
    assert standin.violations == []


def test_draft_release_is_published_later(standin: GitHubStandin, client: Client) -> None:
    repo = client().get_repo(REPO)
    draft = repo.create_git_release(
        "v2.0.0", "Model v2", "candidate", draft=True, target_commitish=HEAD
    )
    assert draft.published_at is None
    assert "refs/tags/v2.0.0" not in standin.refs(REPO)  # drafts create no tag
    with pytest.raises(GithubException) as hidden:
        repo.get_release("v2.0.0")
    assert hidden.value.status == 404
    published = draft.update_release("Model v2", "accepted", draft=False)
    assert published.published_at is not None
    assert standin.refs(REPO)["refs/tags/v2.0.0"] == HEAD
    assert repo.get_release("v2.0.0").id == draft.id
    assert standin.violations == []


def test_deployment_with_statuses(standin: GitHubStandin, client: Client) -> None:
    repo = client().get_repo(REPO)
    deployment = repo.create_deployment(
        "main", environment="staging", required_contexts=[], payload={"model": "v1.0.0"}
    )
    assert (deployment.sha, deployment.environment) == (BASE, "staging")
    deployment.create_status("in_progress", description="rolling out")
    deployment.create_status("success", environment_url="https://staging.example")
    assert [s.state for s in deployment.get_statuses()] == ["success", "in_progress"]
    assert [d.id for d in repo.get_deployments()] == [deployment.id]
    assert [s["state"] for s in standin.deployment_statuses(REPO, deployment.id)] == [
        "in_progress",
        "success",
    ]
    assert standin.deployments(REPO)[0]["payload"] == {"model": "v1.0.0"}
    assert standin.violations == []


def test_deployment_waits_for_failing_commit_statuses(
    standin: GitHubStandin, client: Client
) -> None:
    repo = client().get_repo(REPO)
    repo.get_commit(BASE).create_status("failure", context="mlci/gate")
    with pytest.raises(GithubException) as conflict:
        repo.create_deployment("main")  # required_contexts defaults to every context
    assert conflict.value.status == 409
    assert standin.deployments(REPO) == []
    assert standin.violations == []


def test_annotated_tag_object_and_ref(standin: GitHubStandin, client: Client) -> None:
    repo = client().get_repo(REPO)
    tagger = InputGitAuthor("mlci", "mlci@example.com", "2024-05-01T10:00:00Z")
    tag = repo.create_git_tag("model-v2", "Model v2: accuracy 0.98", HEAD, "commit", tagger=tagger)
    ref = repo.create_git_ref("refs/tags/model-v2", tag.sha)
    assert (ref.ref, ref.object.type, ref.object.sha) == ("refs/tags/model-v2", "tag", tag.sha)
    assert repo.get_git_ref("tags/model-v2").object.sha == tag.sha
    assert [r.ref for r in repo.get_git_matching_refs("tags/model-")] == ["refs/tags/model-v2"]
    assert standin.refs(REPO)["refs/tags/model-v2"] == tag.sha
    assert repo.get_commit("model-v2").sha == HEAD  # the tag peels to its commit
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/tags/model-v2", HEAD)
    assert exists.value.status == 422
    assert standin.violations == []


def test_user_and_rate_limit(standin: GitHubStandin, client: Client) -> None:
    assert client(PAT).get_user().login == "alice"
    with pytest.raises(GithubException) as bot:
        _ = client(BOT).get_user().login  # an installation token has no user
    assert bot.value.status == 403
    core = client(BOT).get_rate_limit().resources.core
    assert core.limit == 1000  # GITHUB_TOKEN's hourly budget
    assert core.remaining < core.limit
    assert standin.violations == []


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


# --------------------------------------------------------------------------- webhook events


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "reopened"),
        ("pull_request", "closed"),
        ("push", None),
        ("create", None),
        ("workflow_run", "completed"),
    ],
)
def test_make_event_builds_valid_payloads(event: str, action: str | None) -> None:
    payload = make_event(event, action, repo=REPO, number=7, head_sha=HEAD, base_sha=BASE)
    validate_event(event, payload)
    assert payload["repository"]["full_name"] == REPO
    if event == "pull_request":
        assert payload["pull_request"]["number"] == 7
        assert payload["pull_request"]["head"]["sha"] == HEAD


def test_make_event_overrides_are_merged_and_checked() -> None:
    payload = make_event("pull_request", "closed", merged=True, pull_request={"title": "Ship it"})
    assert payload["pull_request"]["merged"] is True
    assert payload["pull_request"]["title"] == "Ship it"
    with pytest.raises(EventValidationError, match=r"pull_request\.number"):
        make_event("pull_request", "opened", pull_request={"number": "seven"})


def test_validate_event_rejects_a_pull_request_without_number() -> None:
    payload = make_event("pull_request", "synchronize")
    del payload["pull_request"]["number"]
    with pytest.raises(EventValidationError, match="'number' is a required property"):
        validate_event("pull_request", payload)


def test_validate_event_rejects_unknown_events() -> None:
    with pytest.raises(EventValidationError, match="no schema"):
        validate_event("pull_request", {"action": "labeled"})
