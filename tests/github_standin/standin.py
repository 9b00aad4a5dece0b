"""``GitHubStandin``, what a test holds: it starts the server, seeds users, repositories, commits,
issues and pull requests, injects faults, and reads back what mlci did (comments, statuses,
check runs, releases, deployments, refs); and the ``github`` fixture."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.github_standin.contract import WEBHOOKS_SPEC, RestContract, contract_dir
from tests.github_standin.events import validate_event
from tests.github_standin.faults import Fault
from tests.github_standin.objects import fake_sha, now, user_json
from tests.github_standin.server import Server
from tests.github_standin.state import Pull, Repo, Token
from tests.github_standin.views import release_out

JSON = dict[str, Any]


class GitHubStandin:
    """GitHub's REST API for tests, on ``http://127.0.0.1:PORT`` (see the package docstring)."""

    def __init__(self, *, spec_dir: Path | None = None) -> None:
        directory = contract_dir(spec_dir)
        self._webhooks_path = str(directory / WEBHOOKS_SPEC)
        self._server = Server(RestContract(directory))
        self._state = self._server.state
        self._lock = self._state.lock
        self.url = self._server.url
        self.requests = self._server.requests
        self.violations = self._server.violations

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> GitHubStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down and close its socket (idempotent)."""
        self._server.stop()

    # ------------------------------------------------------------------ seeding

    def add_user(
        self, token: str, login: str, type: str = "User", *, read_only: bool = False
    ) -> JSON:
        """Map ``token`` to an identity. ``type="Bot"`` with ``ACTIONS_BOT`` is a workflow's GITHUB_TOKEN."""
        if type not in {"User", "Bot"}:
            raise ValueError(f"type must be 'User' or 'Bot', not {type!r}")
        with self._lock:
            account = self._state.account(login, type)
            self._state.tokens[token] = Token(login, read_only)
            return user_json(self.url, self.url, login, account.id, account.type)

    def add_repo(
        self,
        full_name: str,
        default_branch: str = "main",
        *,
        private: bool = False,
        owner_type: str = "User",
        head_sha: str | None = None,
    ) -> None:
        """A repository whose default branch points at one commit (``head_sha`` or a made-up one)."""
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"repository must be 'owner/name', not {full_name!r}")
        st = self._state
        with self._lock:
            if full_name in st.repos:
                raise ValueError(f"repository {full_name} already exists")
            st.account(owner, owner_type)
            repo = Repo(owner, name, next(st.ids), default_branch, private, now())
            st.repos[full_name] = repo
            sha = head_sha or fake_sha(full_name, "initial commit")
            st.add_commit(repo, sha, "Initial commit", [])
            repo.refs[f"refs/heads/{default_branch}"] = sha

    def add_commit(
        self,
        repo: str,
        sha: str,
        *,
        message: str = "A commit",
        parents: Iterable[str] = (),
        branch: str | None = None,
    ) -> None:
        """A commit (and, with ``branch``, move that branch to it)."""
        with self._lock:
            r = self._state.repo(repo)
            self._state.add_commit(r, sha, message, list(parents))
            if branch:
                r.refs[f"refs/heads/{branch}"] = sha

    def add_issue(
        self, repo: str, number: int, title: str = "An issue", *, labels: Iterable[str] = ()
    ) -> None:
        with self._lock:
            r = self._state.repo(repo)
            self._state.new_issue(r, number, title, None, r.owner, list(labels))

    def add_pull(
        self,
        repo: str,
        number: int,
        head_sha: str,
        base_sha: str,
        head_ref: str = "feature",
        base_ref: str = "main",
        labels: Iterable[str] = (),
        merge_commit_sha: str | None = None,
        *,
        title: str | None = None,
        body: str | None = None,
        user: str | None = None,
        state: str = "open",
        merged: bool = False,
        draft: bool = False,
    ) -> None:
        """A pull request ``head_ref`` -> ``base_ref``.

        Its commits come with it; ``head_ref`` points at ``head_sha`` and, for an open pull
        request, ``base_ref`` at ``base_sha``. ``merge_commit_sha`` also finds the PR through
        ``commits/{sha}/pulls`` (GitHub's test merge commit, or the merge of a merged PR).
        """
        st = self._state
        with self._lock:
            r = st.repo(repo)
            base_tip = r.refs.get(f"refs/heads/{base_ref}")
            st.add_commit(r, base_sha, "Base commit", [base_tip] if base_tip else [])
            st.add_commit(r, head_sha, f"Head of {head_ref}", [base_sha])
            if merge_commit_sha:
                st.add_commit(r, merge_commit_sha, f"Merge {head_ref}", [base_sha, head_sha])
            r.refs[f"refs/heads/{head_ref}"] = head_sha
            if state == "open":  # the base branch is at base_sha (as when the PR was synchronized)
                r.refs[f"refs/heads/{base_ref}"] = base_sha
            issue = st.new_issue(
                r, number, title or f"Changes from {head_ref}", body, user or r.owner, list(labels)
            )
            pull = Pull(next(st.ids), head_ref, head_sha, base_ref, base_sha, draft=draft)
            pull.merge_commit_sha = merge_commit_sha
            issue.pull = pull
            if state == "closed":
                issue.state, issue.closed_at = "closed", now()
                pull.merged_at = issue.closed_at if merged else None

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (GitHub's body for it by default).

        ``body`` may be a dict (sent as JSON) or str/bytes (sent raw, like GitHub's HTML error pages).
        """
        with self._lock:
            self._server.faults.append(
                Fault(method.upper(), re.compile(path_regex), times, status, retry_after, body)
            )

    def delay_next(self, method: str, path_regex: str, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` matching requests for ``seconds`` before answering them."""
        with self._lock:
            self._server.delays.append(
                Fault(method.upper(), re.compile(path_regex), times, seconds=seconds)
            )

    # ------------------------------------------------------------------ observing

    def comments(self, repo: str, number: int) -> list[JSON]:
        with self._lock:
            r = self._state.repo(repo)
            return [
                copy.deepcopy(c) for cid, c in r.comments.items() if r.comment_issue[cid] == number
            ]

    def check_runs(self, repo: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(list(self._state.repo(repo).check_runs.values()))

    def statuses(self, repo: str, sha: str) -> list[JSON]:
        with self._lock:
            return [
                copy.deepcopy(s) for s_sha, s in self._state.repo(repo).statuses if s_sha == sha
            ]

    def releases(self, repo: str) -> list[JSON]:
        with self._lock:
            r = self._state.repo(repo)
            return [release_out(r, rel) for rel in r.releases.values()]

    def assets(self, repo: str, release_id: int) -> list[JSON]:
        """Asset objects, each with the uploaded bytes under ``"content"``."""
        with self._lock:
            found = self._state.repo(repo).assets.get(release_id, {})
            return [copy.deepcopy(a.data) | {"content": a.content} for a in found.values()]

    def deployments(self, repo: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(list(self._state.repo(repo).deployments.values()))

    def deployment_statuses(self, repo: str, deployment_id: int) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._state.repo(repo).deployment_statuses.get(deployment_id, []))

    def follow_git(self, repo: str, git_dir: Path) -> None:
        """Let ``repo``'s branches follow a local git repository (say, the bare ``origin`` a test
        pushes to): before each request its branches and their commits are read again, as
        GitHub's follow a ``git push``. Branches it lacks are removed; tags are left alone."""
        self._state.follow_git(repo, git_dir)
        self._state.sync_git()

    def refs(self, repo: str) -> dict[str, str]:
        with self._lock:
            return dict(self._state.repo(repo).refs)

    def validate_event(self, event_name: str, payload: JSON) -> None:
        validate_event(event_name, payload, spec_dir=Path(self._webhooks_path).parent)


@pytest.fixture(name="github")
def github() -> Iterator[GitHubStandin]:
    """A running GitHub stand-in, stopped after the test."""
    standin = GitHubStandin()
    try:
        yield standin
    finally:
        standin.stop()
