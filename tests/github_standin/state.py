"""What the stand-in knows: accounts and their tokens, repositories with their commits, refs,
issues and pull requests, comments, statuses, check runs, releases and deployments; the lookups
the routes share (a ref to a commit, a repository by name) and the branches that follow a local
git repository. One lock guards it all."""

from __future__ import annotations

import itertools
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.github_standin.objects import label_json, now

JSON = dict[str, Any]

ACTIONS_BOT = "github-actions[bot]"  # the identity behind a workflow's GITHUB_TOKEN
ACTIONS_BOT_ID = 41898282


@dataclass
class Account:
    login: str
    id: int
    type: str  # "User", "Bot" or "Organization"


@dataclass
class Token:
    login: str
    read_only: bool


@dataclass
class Commit:
    sha: str
    message: str
    parents: list[str]
    date: str
    author: str = "Test Author"
    email: str = "author@example.com"


@dataclass
class Pull:
    """The pull request part of an issue."""

    id: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    merge_commit_sha: str | None = None
    merged_at: str | None = None
    draft: bool = False


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    author: str
    labels: list[str]
    state: str
    created_at: str
    updated_at: str
    closed_at: str | None = None
    pull: Pull | None = None  # set on a pull request


@dataclass
class Asset:
    data: JSON
    content: bytes


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    default_branch: str
    private: bool
    created_at: str
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha
    tags: dict[str, JSON] = field(default_factory=dict)  # annotated tag objects by sha
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, JSON] = field(default_factory=dict)
    comments: dict[int, JSON] = field(default_factory=dict)
    comment_issue: dict[int, int] = field(default_factory=dict)
    statuses: list[tuple[str, JSON]] = field(default_factory=list)
    check_runs: dict[int, JSON] = field(default_factory=dict)
    check_suites: dict[str, int] = field(default_factory=dict)
    releases: dict[int, JSON] = field(default_factory=dict)
    assets: dict[int, dict[int, Asset]] = field(default_factory=dict)
    deployments: dict[int, JSON] = field(default_factory=dict)
    deployment_statuses: dict[int, list[JSON]] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def pulls(self) -> list[tuple[Issue, Pull]]:
        """The pull requests, each with its pull request part."""
        return [(i, i.pull) for i in self.issues.values() if i.pull is not None]


class State:
    """The stand-in's data, served at ``url``; hold ``lock`` while reading or changing it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self.ids = itertools.count(1_000_001)
        self._user_ids = itertools.count(100_001)
        self.started = time.time()
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, Token] = {}
        self.used: dict[str, int] = {}  # requests counted against each token's rate limit
        self.repos: dict[str, Repo] = {}
        self._git_dirs: dict[str, Path] = {}  # repos whose branches follow a local git repo

    def account(self, login: str, kind: str = "User") -> Account:
        if login not in self.accounts:
            uid = ACTIONS_BOT_ID if login == ACTIONS_BOT else next(self._user_ids)
            self.accounts[login] = Account(login, uid, kind)
        return self.accounts[login]

    def repo(self, full_name: str) -> Repo:
        try:
            return self.repos[full_name]
        except KeyError:
            raise KeyError(f"no repository {full_name!r}: call add_repo() first") from None

    def add_commit(self, repo: Repo, sha: str, message: str, parents: list[str]) -> None:
        if sha not in repo.commits:
            repo.commits[sha] = Commit(sha, message, parents, now())

    def new_issue(
        self, repo: Repo, number: int, title: str, body: str | None, author: str, labels: list[str]
    ) -> Issue:
        if number in repo.issues:
            raise ValueError(f"{repo.full_name}#{number} already exists")
        self.account(author)
        for name in labels:
            if name not in repo.labels:
                repo.labels[name] = label_json(self.url, repo.full_name, name, next(self.ids))
        created = now()
        issue = Issue(number, next(self.ids), title, body, author, labels, "open", created, created)
        repo.issues[number] = issue
        return issue

    def resolve(self, repo: Repo, ref: str) -> str | None:
        """A commit sha for a sha, a unique sha prefix, a branch, a tag or a full ref."""
        if ref in repo.commits:
            return ref
        for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/{ref}"):
            if candidate.startswith("refs/") and candidate in repo.refs:
                return self.peel(repo, repo.refs[candidate])
        if re.fullmatch(r"[0-9a-f]{7,39}", ref):
            found = [sha for sha in repo.commits if sha.startswith(ref)]
            if len(found) == 1:
                return found[0]
        return None

    @staticmethod
    def peel(repo: Repo, sha: str) -> str:
        while sha in repo.tags:
            sha = repo.tags[sha]["object"]["sha"]
        return sha

    def rate(self, token: str) -> JSON:
        account = self.accounts[self.tokens[token].login]
        limit = 1000 if account.type == "Bot" else 5000  # GITHUB_TOKEN: 1,000 per hour and repo
        used = self.used.get(token, 0)
        reset = int(self.started) + 3600
        return {"limit": limit, "used": used, "remaining": max(limit - used, 0), "reset": reset}

    def follow_git(self, repo: str, git_dir: Path) -> None:
        with self.lock:
            self.repo(repo)
            self._git_dirs[repo] = Path(git_dir)

    def sync_git(self) -> None:
        """Read the followed git repositories' branches and commits again."""
        with self.lock:
            followed = list(self._git_dirs.items())
        for full_name, git_dir in followed:

            def run(*args: str, git_dir: Path = git_dir) -> str:
                return subprocess.run(
                    ["git", *args], cwd=git_dir, capture_output=True, text=True, check=True
                ).stdout

            heads: dict[str, str] = {}
            for line in run(
                "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"
            ).splitlines():
                ref, sha = line.split(" ", 1)
                heads[ref] = sha
            log = run("log", "--branches", "--reverse", "--format=%H%x00%P%x00%s") if heads else ""
            with self.lock:
                r = self.repo(full_name)
                for line in log.splitlines():
                    sha, parents, message = line.split("\0", 2)
                    self.add_commit(r, sha, message, parents.split())
                for ref in [ref for ref in r.refs if ref.startswith("refs/heads/")]:
                    if ref not in heads:
                        del r.refs[ref]
                r.refs.update(heads)
