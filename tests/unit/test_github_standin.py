"""The GitHub stand-in, driven by real PyGithub over HTTP and checked against GitHub's contract.

Its faults: test_github_standin_faults.py; its webhook events: test_github_standin_events.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github, GithubException, InputGitAuthor

from tests.github_standin import (
    ACTIONS_BOT,
    SPEC_DIR_ENV,
    ContractNotFoundError,
    GitHubStandin,
    contract_dir,
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


@pytest.fixture(name="standin")
def standin(github: GitHubStandin) -> GitHubStandin:
    """The stand-in with one repository, one pull request and three identities."""
    github.add_repo(REPO)
    github.add_user(BOT, ACTIONS_BOT, type="Bot")
    github.add_user(PAT, "alice")
    github.add_user(FORK, ACTIONS_BOT, type="Bot", read_only=True)
    github.add_pull(REPO, 7, HEAD, BASE, labels=["model", "ready"], merge_commit_sha=MERGE)
    return github


@pytest.fixture(name="client")
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
