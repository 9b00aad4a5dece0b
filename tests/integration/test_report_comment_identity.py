"""One pull-request comment per report id, whichever kind of token posts it.

Each kind (tests/github_identities.py) is answered by the stand-in as GitHub answers
it: an installation token's ``GET /user`` is refused, its comments are its app's bot's.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlci import api
from mlci.report.model import Report
from tests.conftest import BIN, ROOT
from tests.github_identities import APP, GITHUB_TOKEN, HUMAN, PAT, TOKEN_KINDS, TokenKind
from tests.github_standin import GitHubStandin
from tests.integration.pull_request import REPO, open_pull, pull_request_env, running_standin

MARKER = "<!-- mlci-report:pr -->"
KINDS = pytest.mark.parametrize("kind", TOKEN_KINDS, ids=lambda k: k.name)


@dataclass
class PullRequest:
    standin: GitHubStandin
    repo: Path
    report: Report
    env: dict[str, str]

    def post(self, kind: TokenKind) -> str:
        return api.post_report(self.report, token=kind.token, env=self.env).message

    def comments(self) -> list[dict[str, Any]]:
        return self.standin.comments(REPO, 7)

    def reports(self) -> list[dict[str, Any]]:
        """The comments that are the report: the stand-in's view, not mlci's."""
        return [c for c in self.comments() if str(c["body"]).startswith(MARKER)]

    def writes(self, method: str) -> list[str]:
        return [
            r.path
            for r in self.standin.requests
            if r.method == method and "/comments" in r.path and r.status < 300
        ]


@pytest.fixture
def standin() -> Iterator[GitHubStandin]:
    yield from running_standin()


@pytest.fixture
def pull(history: Path, standin: GitHubStandin, tmp_path: Path) -> PullRequest:
    head, event = open_pull(history, standin)
    for kind in (*TOKEN_KINDS, HUMAN):
        kind.add_to(standin)
    env = pull_request_env(standin, head, event, tmp_path / "event.json")
    report = api.report(history, head="feature", report_id="pr")
    return PullRequest(standin, history, report, env)


def _raw(standin: GitHubStandin, method: str, path: str, token: str, body: Any = None) -> Any:
    from tests.unit.test_github_standin import raw

    status, _headers, payload = raw(standin, method, path, body, token)
    return status, payload


def _by_hand(standin: GitHubStandin, kind: TokenKind, text: str) -> dict[str, Any]:
    status, comment = _raw(
        standin, "POST", f"/repos/{REPO}/issues/7/comments", kind.token, {"body": text}
    )
    assert status == 201, comment
    return dict(comment)


def _assert_author(comment: dict[str, Any], kind: TokenKind) -> None:
    assert comment["user"]["login"] == kind.login
    assert comment["user"]["type"] == kind.type
    app = comment["performed_via_github_app"]
    assert (app and app["slug"]) == kind.app_slug


@pytest.mark.parametrize("kind", (*TOKEN_KINDS,), ids=lambda k: k.name)
def test_the_standin_answers_each_token_as_github_does(
    standin: GitHubStandin, kind: TokenKind
) -> None:
    standin.add_repo(REPO)
    standin.add_issue(REPO, 7)
    kind.add_to(standin)
    status, user = _raw(standin, "GET", "/user", kind.token)
    if kind.installation:
        assert status == 403
        assert user["message"] == "Resource not accessible by integration"
        assert user["documentation_url"].endswith("/users/users#get-the-authenticated-user")
    else:
        assert (status, user["login"], user["type"]) == (200, kind.login, "User")
    comment = _by_hand(standin, kind, "hello")
    _assert_author(comment, kind)
    if kind.installation:
        assert comment["user"]["html_url"].endswith(f"/apps/{kind.app_slug}")


@KINDS
def test_many_pushes_update_one_comment(pull: PullRequest, kind: TokenKind) -> None:
    pushes = 6
    messages = [pull.post(kind) for _ in range(pushes)]
    assert messages[0].startswith("report posted on #7")
    assert all(m.startswith("report updated on #7") for m in messages[1:]), messages
    (comment,) = pull.comments()
    _assert_author(comment, kind)
    body = str(comment["body"])
    assert body.startswith(MARKER)
    assert f"History ({pushes - 1} earlier runs)" in body
    assert len(pull.writes("POST")) == 1
    assert len(pull.writes("PATCH")) == pushes - 1
    assert pull.writes("DELETE") == []


def _race(pull: PullRequest, kind: TokenKind, posters: int = 2) -> list[BaseException]:
    errors: list[BaseException] = []

    def poster() -> None:
        try:
            pull.post(kind)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poster) for _ in range(posters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@KINDS
def test_racing_posters_leave_one_comment(pull: PullRequest, kind: TokenKind) -> None:
    # both creations in flight at once: each run found no comment and made its own
    pull.standin.delay_next("POST", r"/issues/7/comments$", 0.5, times=2)
    assert _race(pull, kind) == []
    assert len(pull.writes("POST")) == 2, "the race did not happen"
    (comment,) = pull.comments()
    _assert_author(comment, kind)
    first = comment["id"]
    # later pushes racing each other update that one
    for _ in range(2):
        assert _race(pull, kind, posters=3) == []
    (comment,) = pull.comments()
    assert comment["id"] == first
    assert len(pull.writes("POST")) == 2


@KINDS
def test_a_human_quoting_the_marker_is_never_edited(pull: PullRequest, kind: TokenKind) -> None:
    humans = [
        _by_hand(pull.standin, HUMAN, f"{MARKER}\nAll metrics improved, merge it."),
        _by_hand(pull.standin, HUMAN, f"Why does the bot write `{MARKER}`?\n\n> {MARKER}"),
    ]
    if not kind.installation:  # the token's own user, writing by hand about the report
        humans.append(_by_hand(pull.standin, PAT, f"see the report below {MARKER}"))
    for _ in range(3):
        pull.post(kind)
    comments = {c["id"]: c for c in pull.comments()}
    for human in humans:
        assert comments[human["id"]] == human
        touched = [
            p for p in pull.writes("PATCH") + pull.writes("DELETE") if p.endswith(f"/{human['id']}")
        ]
        assert touched == []
    (ours,) = [c for c in comments.values() if c["id"] not in {h["id"] for h in humans}]
    _assert_author(ours, kind)
    assert "History (2 earlier runs)" in str(ours["body"])


def test_an_installation_token_racing_in_processes(pull: PullRequest, tmp_path: Path) -> None:
    """Two `mlci report --from … --post` processes with an App's token, as two CI jobs."""
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(pull.report.to_dict()))
    env = {**os.environ, **pull.env, "GITHUB_TOKEN": APP.token, "PYTHONPATH": str(ROOT)}
    pull.standin.delay_next("POST", r"/issues/7/comments$", 1.0, times=2)
    command = [str(BIN / "mlci"), "-C", str(pull.repo), "report", "--from", str(saved), "--post"]
    runs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(pull.writes("POST")) == 2, "the race did not happen"
    (comment,) = pull.reports()
    assert comment["user"]["login"] == APP.login


def test_a_switch_from_github_token_to_an_app_keeps_the_comment(pull: PullRequest) -> None:
    """An installation cannot learn which app it is: any app's bot comment with the marker
    at its start is the report's, so a repository moving to an App token keeps its comment."""
    pull.post(GITHUB_TOKEN)
    (first,) = pull.comments()
    assert pull.post(APP).startswith("report updated on #7")
    (comment,) = pull.comments()
    assert comment["id"] == first["id"]
    _assert_author(comment, GITHUB_TOKEN)
    assert "History (1 earlier runs)" in str(comment["body"])
