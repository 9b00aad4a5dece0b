"""A stand-in for GitHub's REST API that mlci's tests talk to over real HTTP.

GitHub cannot be reached from the test machines, so tests start `GitHubStandin`
(a threaded HTTP server on 127.0.0.1) and point PyGithub or ``GITHUB_API_URL`` at
``standin.url``. The stand-in keeps repositories, pull requests, comments, check
runs, statuses, releases with assets, deployments and git refs in memory and
answers with GitHub's semantics and complete response bodies.

Every request and every response is checked against GitHub's own OpenAPI
description (``tests/contracts/github/github-rest-subset.json``) with openapi-core: a
request that breaks the contract is answered 422 (400 for unparsable JSON) and,
like any unknown route or any response of ours that does not fit the schema,
recorded in ``standin.violations``. Tests end with ``assert standin.violations == []``.

``validate_event`` and ``make_event`` do the same for webhook payloads (the event
files handed to mlci or to ``act``), against ``github-webhooks-subset.json``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import http.server
import itertools
import json
import math
import os
import re
import socket
import subprocess
import threading
import time
import traceback
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from openapi_core import OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import (
    OAS30Validator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)

SPEC_DIR_ENV = "MLCI_GITHUB_SPEC_DIR"
DEFAULT_SPEC_DIR = Path(__file__).resolve().parent / "contracts" / "github"
REST_SPEC = "github-rest-subset.json"
WEBHOOKS_SPEC = "github-webhooks-subset.json"

API_ORIGIN = "https://api.github.com"  # the origins the contract names, used only to validate
UPLOADS_ORIGIN = "https://uploads.github.com"
DOCS_URL = "https://docs.github.com/rest"
COMMENT_BODY_LIMIT = 65_536  # not in the OpenAPI description: GitHub's documented limit
CHECK_OUTPUT_LIMIT = 65_535  # check run output.summary / output.text
ACTIONS_BOT = "github-actions[bot]"  # the identity behind a workflow's GITHUB_TOKEN
ACTIONS_BOT_ID = 41898282
NOT_ACCESSIBLE = "Resource not accessible by integration"
SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "C0DE:1234:5678:9ABC:DEF01234."
)
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

JSON = dict[str, Any]


class ContractNotFoundError(FileNotFoundError):
    """The GitHub OpenAPI files are missing: the stand-in refuses to run unvalidated."""


class EventValidationError(ValueError):
    """A webhook payload does not match GitHub's schema for its event."""


def contract_dir(directory: Path | None = None) -> Path:
    """The directory holding the two contract files: ``directory``, else ``$MLCI_GITHUB_SPEC_DIR``,
    else tests/contracts/github (vendored). Raises ContractNotFoundError if they are missing."""
    if directory is None:
        configured = os.environ.get(SPEC_DIR_ENV)
        directory = Path(configured) if configured else DEFAULT_SPEC_DIR
    missing = [directory / name for name in (REST_SPEC, WEBHOOKS_SPEC)]
    missing = [path for path in missing if not path.is_file()]
    if missing:
        raise ContractNotFoundError(
            f"GitHub API contract not found: {', '.join(map(str, missing))}. The GitHub stand-in "
            f"validates every request and response against it and will not run without it: "
            f"restore tests/contracts/github or set {SPEC_DIR_ENV}."
        )
    return directory


def _allow_null_in_nullable_enums(node: Any) -> None:
    """``nullable: true`` next to an ``enum`` without null: GitHub sends null there (a queued
    check run's ``conclusion``, an open issue's ``state_reason``), but OpenAPI 3.0.3 reads the enum
    as forbidding it. The 3.1 webhook schemas list null in such enums; do the same here."""
    if isinstance(node, dict):
        if node.get("nullable") is True and "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _allow_null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _allow_null_in_nullable_enums(value)


@lru_cache(maxsize=2)
def _rest_contract(path: str) -> tuple[OpenAPI, JSON]:
    doc = json.loads(Path(path).read_text())
    _allow_null_in_nullable_enums(doc)
    return OpenAPI.from_dict(doc), doc


@lru_cache(maxsize=2)
def _webhook_validators(path: str) -> dict[str, tuple[str, OAS31Validator]]:
    doc = json.loads(Path(path).read_text())
    validators: dict[str, tuple[str, OAS31Validator]] = {}
    for key, item in doc["webhooks"].items():
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = {"$ref": ref, "components": doc["components"]}
        validators[key] = (
            ref.rsplit("/", 1)[-1],
            OAS31Validator(schema, format_checker=oas31_format_checker),
        )
    return validators


# --------------------------------------------------------------------------- helpers


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(prefix: str, number: int) -> str:
    packed = base64.urlsafe_b64encode(number.to_bytes(8, "big")).decode().rstrip("=")
    return f"{prefix}_kwDO{packed}"


def _fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()  # noqa: S324 - a git-like id


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _label_color(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:6]


def user_json(api: str, web: str, login: str, uid: int, kind: str = "User") -> JSON:
    """A ``simple-user`` object as GitHub renders it."""
    url = f"{api}/users/{_q(login)}"
    html = f"{web}/apps/{login.removesuffix('[bot]')}" if kind == "Bot" else f"{web}/{_q(login)}"
    return {
        "login": login,
        "id": uid,
        "node_id": _node_id("BOT" if kind == "Bot" else "U", uid),
        "avatar_url": f"{web}/avatars/u/{uid}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": html,
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def repo_json(
    api: str,
    web: str,
    owner: JSON,
    name: str,
    rid: int,
    *,
    default_branch: str = "main",
    private: bool = False,
    created_at: str = "2024-01-02T03:04:05Z",
    updated_at: str | None = None,
    pushed_at: str | None = None,
    open_issues: int = 0,
) -> JSON:
    """A repository object with every field GitHub sends (fits repository and full-repository)."""
    full = f"{owner['login']}/{name}"
    url = f"{api}/repos/{full}"
    host = urllib.parse.urlsplit(web).hostname or "github.com"
    return {
        "id": rid,
        "node_id": _node_id("R", rid),
        "name": name,
        "full_name": full,
        "private": private,
        "owner": owner,
        "html_url": f"{web}/{full}",
        "description": None,
        "fork": False,
        "url": url,
        "forks_url": f"{url}/forks",
        "keys_url": f"{url}/keys{{/key_id}}",
        "collaborators_url": f"{url}/collaborators{{/collaborator}}",
        "teams_url": f"{url}/teams",
        "hooks_url": f"{url}/hooks",
        "issue_events_url": f"{url}/issues/events{{/number}}",
        "events_url": f"{url}/events",
        "assignees_url": f"{url}/assignees{{/user}}",
        "branches_url": f"{url}/branches{{/branch}}",
        "tags_url": f"{url}/tags",
        "blobs_url": f"{url}/git/blobs{{/sha}}",
        "git_tags_url": f"{url}/git/tags{{/sha}}",
        "git_refs_url": f"{url}/git/refs{{/sha}}",
        "trees_url": f"{url}/git/trees{{/sha}}",
        "statuses_url": f"{url}/statuses/{{sha}}",
        "languages_url": f"{url}/languages",
        "stargazers_url": f"{url}/stargazers",
        "contributors_url": f"{url}/contributors",
        "subscribers_url": f"{url}/subscribers",
        "subscription_url": f"{url}/subscription",
        "commits_url": f"{url}/commits{{/sha}}",
        "git_commits_url": f"{url}/git/commits{{/sha}}",
        "comments_url": f"{url}/comments{{/number}}",
        "issue_comment_url": f"{url}/issues/comments{{/number}}",
        "contents_url": f"{url}/contents/{{+path}}",
        "compare_url": f"{url}/compare/{{base}}...{{head}}",
        "merges_url": f"{url}/merges",
        "archive_url": f"{url}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{url}/downloads",
        "issues_url": f"{url}/issues{{/number}}",
        "pulls_url": f"{url}/pulls{{/number}}",
        "milestones_url": f"{url}/milestones{{/number}}",
        "notifications_url": f"{url}/notifications{{?since,all,participating}}",
        "labels_url": f"{url}/labels{{/name}}",
        "releases_url": f"{url}/releases{{/id}}",
        "deployments_url": f"{url}/deployments",
        "created_at": created_at,
        "updated_at": updated_at or created_at,
        "pushed_at": pushed_at or created_at,
        "git_url": f"git://{host}/{full}.git",
        "ssh_url": f"git@{host}:{full}.git",
        "clone_url": f"{web}/{full}.git",
        "svn_url": f"{web}/{full}",
        "homepage": None,
        "size": 128,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": open_issues,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if private else "public",
        "forks": 0,
        "open_issues": open_issues,
        "watchers": 0,
        "default_branch": default_branch,
    }


def label_json(api: str, full_name: str, name: str, lid: int, description: str = "") -> JSON:
    # GitHub sends ``description: null`` for labels without one, but pull-request-simple in the
    # contract types it as a plain string: the stand-in always sends a string.
    return {
        "id": lid,
        "node_id": _node_id("LA", lid),
        "url": f"{api}/repos/{full_name}/labels/{_q(name)}",
        "name": name,
        "color": _label_color(name),
        "default": False,
        "description": description,
    }


def _links(api: str, web: str, full_name: str, number: int, head_sha: str) -> JSON:
    url = f"{api}/repos/{full_name}"
    return {
        "self": {"href": f"{url}/pulls/{number}"},
        "html": {"href": f"{web}/{full_name}/pull/{number}"},
        "issue": {"href": f"{url}/issues/{number}"},
        "comments": {"href": f"{url}/issues/{number}/comments"},
        "review_comments": {"href": f"{url}/pulls/{number}/comments"},
        "review_comment": {"href": f"{url}/pulls/comments{{/number}}"},
        "commits": {"href": f"{url}/pulls/{number}/commits"},
        "statuses": {"href": f"{url}/statuses/{head_sha}"},
    }


def pull_json(
    api: str,
    web: str,
    *,
    repo: JSON,
    number: int,
    pr_id: int,
    title: str,
    body: str | None,
    user: JSON,
    labels: list[JSON],
    head_ref: str,
    head_sha: str,
    base_ref: str,
    base_sha: str,
    state: str = "open",
    draft: bool = False,
    created_at: str = "2024-01-02T03:04:05Z",
    updated_at: str | None = None,
    closed_at: str | None = None,
    merged_at: str | None = None,
    merge_commit_sha: str | None = None,
    author_association: str = "OWNER",
    comments: int = 0,
    full: bool = True,
) -> JSON:
    """A pull request as GitHub renders it (``full`` adds the fields of a single-PR GET)."""
    full_name = repo["full_name"]
    url = f"{api}/repos/{full_name}/pulls/{number}"
    html = f"{web}/{full_name}/pull/{number}"
    owner = repo["owner"]
    data: JSON = {
        "url": url,
        "id": pr_id,
        "node_id": _node_id("PR", pr_id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/repos/{full_name}/issues/{number}",
        "number": number,
        "state": state,
        "locked": False,
        "title": title,
        "user": user,
        "body": body,
        "created_at": created_at,
        "updated_at": updated_at or created_at,
        "closed_at": closed_at,
        "merged_at": merged_at,
        "merge_commit_sha": merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": labels,
        "milestone": None,
        "draft": draft,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/repos/{full_name}/pulls/comments{{/number}}",
        "comments_url": f"{api}/repos/{full_name}/issues/{number}/comments",
        "statuses_url": f"{api}/repos/{full_name}/statuses/{head_sha}",
        "head": {
            "label": f"{owner['login']}:{head_ref}",
            "ref": head_ref,
            "sha": head_sha,
            "user": owner,
            "repo": repo,
        },
        "base": {
            "label": f"{owner['login']}:{base_ref}",
            "ref": base_ref,
            "sha": base_sha,
            "user": owner,
            "repo": repo,
        },
        "_links": _links(api, web, full_name, number, head_sha),
        "author_association": author_association,
        "auto_merge": None,
        "active_lock_reason": None,
    }
    if full:
        data |= {
            "merged": merged_at is not None,
            "mergeable": None if state == "closed" else True,
            "rebaseable": None if state == "closed" else True,
            "mergeable_state": "unknown" if state == "closed" else "clean",
            "merged_by": user if merged_at else None,
            "comments": comments,
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }
    return data


def _reactions(url: str) -> JSON:
    counts = dict.fromkeys(
        ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0
    )
    return {"url": f"{url}/reactions", "total_count": 0, **counts}


# --------------------------------------------------------------------------- state


@dataclass
class _Account:
    login: str
    id: int
    type: str  # "User", "Bot" or "Organization"


@dataclass
class _Token:
    login: str
    read_only: bool


@dataclass
class _Commit:
    sha: str
    message: str
    parents: list[str]
    date: str
    author: str = "Test Author"
    email: str = "author@example.com"


@dataclass
class _Issue:
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
    # pull request fields (is_pull)
    is_pull: bool = False
    pr_id: int = 0
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""
    base_sha: str = ""
    merge_commit_sha: str | None = None
    merged_at: str | None = None
    draft: bool = False


@dataclass
class _Asset:
    data: JSON
    content: bytes


@dataclass
class _Repo:
    owner: str
    name: str
    id: int
    default_branch: str
    private: bool
    created_at: str
    commits: dict[str, _Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha
    tags: dict[str, JSON] = field(default_factory=dict)  # annotated tag objects by sha
    issues: dict[int, _Issue] = field(default_factory=dict)
    labels: dict[str, JSON] = field(default_factory=dict)
    comments: dict[int, JSON] = field(default_factory=dict)
    comment_issue: dict[int, int] = field(default_factory=dict)
    statuses: list[tuple[str, JSON]] = field(default_factory=list)
    check_runs: dict[int, JSON] = field(default_factory=dict)
    check_suites: dict[str, int] = field(default_factory=dict)
    releases: dict[int, JSON] = field(default_factory=dict)
    assets: dict[int, dict[int, _Asset]] = field(default_factory=dict)
    deployments: dict[int, JSON] = field(default_factory=dict)
    deployment_statuses: dict[int, list[JSON]] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON, or None
    status: int


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    remaining: int
    status: int = 0
    retry_after: int | None = None
    body: Any = None
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0 and self.method in {method, "*"} and bool(self.pattern.search(path))
        )


@dataclass
class _Resp:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (downloads, injected HTML)
    content_type: str = "application/json; charset=utf-8"


class _Fail(Exception):
    def __init__(
        self, status: int, message: str, errors: list[JSON] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.extra = extra


def _error_body(status: int, message: str, errors: list[JSON] | None = None, **extra: Any) -> JSON:
    body: JSON = {"message": message}
    if errors is not None:
        body["errors"] = errors
    body |= extra
    body.setdefault("documentation_url", DOCS_URL)
    body["status"] = str(status)
    return body


def _invalid(resource: str, field_name: str, code: str = "invalid", **more: Any) -> _Fail:
    error = {"resource": resource, "code": code, "field": field_name, **more}
    return _Fail(422, "Validation Failed", [error])


@dataclass
class _Ctx:
    route: _Route
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    raw: bytes
    headers: dict[str, str]
    account: _Account
    token: _Token
    token_text: str
    repo: _Repo | None

    @property
    def r(self) -> _Repo:
        assert self.repo is not None
        return self.repo

    @property
    def path(self) -> str:
        """The request's path (for pagination links)."""
        params = {k: urllib.parse.quote(v) for k, v in self.params.items()}
        return self.route.template.format(**params)


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str  # the contract's path, to validate against
    handler: str
    uploads: bool = False  # served from uploads.github.com on github.com


def _routes() -> list[_Route]:
    repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
    table = [
        ("GET", r"/rate_limit", "/rate_limit", "rate_limit"),
        ("GET", r"/user", "/user", "get_user"),
        ("GET", "", "", "get_repo"),
        ("GET", r"/commits/(?P<commit_sha>[^/]+)/pulls", "/commits/{commit_sha}/pulls", "commit_pulls"),
        ("GET", r"/commits/(?P<ref>.+)", "/commits/{ref}", "get_commit"),
        ("GET", r"/pulls", "/pulls", "list_pulls"),
        ("POST", r"/pulls", "/pulls", "create_pull"),
        ("GET", r"/pulls/(?P<pull_number>[^/]+)", "/pulls/{pull_number}", "get_pull"),
        ("GET", r"/issues/comments/(?P<comment_id>[^/]+)", "/issues/comments/{comment_id}", "get_comment"),
        ("PATCH", r"/issues/comments/(?P<comment_id>[^/]+)", "/issues/comments/{comment_id}", "edit_comment"),
        ("DELETE", r"/issues/comments/(?P<comment_id>[^/]+)", "/issues/comments/{comment_id}", "delete_comment"),
        ("GET", r"/issues/(?P<issue_number>[^/]+)", "/issues/{issue_number}", "get_issue"),
        ("GET", r"/issues/(?P<issue_number>[^/]+)/comments", "/issues/{issue_number}/comments", "list_comments"),
        ("POST", r"/issues/(?P<issue_number>[^/]+)/comments", "/issues/{issue_number}/comments", "create_comment"),
        ("GET", r"/issues/(?P<issue_number>[^/]+)/labels", "/issues/{issue_number}/labels", "list_labels"),
        ("POST", r"/statuses/(?P<sha>[^/]+)", "/statuses/{sha}", "create_status"),
        ("POST", r"/check-runs", "/check-runs", "create_check_run"),
        ("GET", r"/check-runs/(?P<check_run_id>[^/]+)", "/check-runs/{check_run_id}", "get_check_run"),
        ("PATCH", r"/check-runs/(?P<check_run_id>[^/]+)", "/check-runs/{check_run_id}", "edit_check_run"),
        ("GET", r"/releases", "/releases", "list_releases"),
        ("POST", r"/releases", "/releases", "create_release"),
        ("GET", r"/releases/tags/(?P<tag>.+)", "/releases/tags/{tag}", "get_release_by_tag"),
        ("GET", r"/releases/(?P<release_id>[^/]+)", "/releases/{release_id}", "get_release"),
        ("PATCH", r"/releases/(?P<release_id>[^/]+)", "/releases/{release_id}", "edit_release"),
        ("DELETE", r"/releases/(?P<release_id>[^/]+)", "/releases/{release_id}", "delete_release"),
        ("GET", r"/releases/(?P<release_id>[^/]+)/assets", "/releases/{release_id}/assets", "list_assets"),
        ("POST", r"/releases/(?P<release_id>[^/]+)/assets", "/releases/{release_id}/assets", "upload_asset"),
        ("GET", r"/deployments", "/deployments", "list_deployments"),
        ("POST", r"/deployments", "/deployments", "create_deployment"),
        ("GET", r"/deployments/(?P<deployment_id>[^/]+)/statuses", "/deployments/{deployment_id}/statuses", "list_deployment_statuses"),
        ("POST", r"/deployments/(?P<deployment_id>[^/]+)/statuses", "/deployments/{deployment_id}/statuses", "create_deployment_status"),
        ("GET", r"/git/ref/(?P<ref>.+)", "/git/ref/{ref}", "get_ref"),
        ("GET", r"/git/matching-refs/(?P<ref>.*)", "/git/matching-refs/{ref}", "matching_refs"),
        ("POST", r"/git/refs", "/git/refs", "create_ref"),
        ("POST", r"/git/tags", "/git/tags", "create_tag"),
    ]  # fmt: skip
    routes = []
    for method, pattern, template, handler in table:
        scoped = handler not in {"rate_limit", "get_user"}
        full_pattern = f"{repo}{pattern}" if scoped else pattern
        full_template = f"/repos/{{owner}}/{{repo}}{template}" if scoped else template
        routes.append(
            _Route(
                method, re.compile(full_pattern), full_template, handler, handler == "upload_asset"
            )
        )
    return routes


ROUTES = _routes()
DOWNLOAD = re.compile(
    r"/(?P<owner>[^/]+)/(?P<repo>[^/]+)/releases/download/(?P<tag>.+)/(?P<name>[^/]+)"
)


# --------------------------------------------------------------------------- the server


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PyGithub's requests session expects
    server: _Server

    def _dispatch(self) -> None:
        self.server.standin._serve(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: ``standin.requests`` is the log."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: GitHubStandin) -> None:
        self.standin = standin
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._open_lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is not an error of the stand-in."""


class GitHubStandin:
    """GitHub's REST API for tests, on ``http://127.0.0.1:PORT`` (see the module docstring)."""

    def __init__(self, *, spec_dir: Path | None = None) -> None:
        directory = contract_dir(spec_dir)
        self._api, self._doc = _rest_contract(str(directory / REST_SPEC))
        self._webhooks_path = str(directory / WEBHOOKS_SPEC)
        self._lock = threading.RLock()
        self._validate_lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1_000_001)
        self._user_ids = itertools.count(100_001)
        self._started = time.time()
        self._accounts: dict[str, _Account] = {}
        self._tokens: dict[str, _Token] = {}
        self._used: dict[str, int] = {}
        self._repos: dict[str, _Repo] = {}
        self._git_dirs: dict[str, Path] = {}  # repos whose branches follow a local git repo
        self._faults: list[_Fault] = []
        self._delays: list[_Fault] = []
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> GitHubStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down and close its socket (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ seeding

    def add_user(
        self, token: str, login: str, type: str = "User", *, read_only: bool = False
    ) -> JSON:
        """Map ``token`` to an identity. ``type="Bot"`` with ``ACTIONS_BOT`` is a workflow's GITHUB_TOKEN."""
        if type not in {"User", "Bot"}:
            raise ValueError(f"type must be 'User' or 'Bot', not {type!r}")
        with self._lock:
            account = self._account(login, type)
            self._tokens[token] = _Token(login, read_only)
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
        with self._lock:
            if full_name in self._repos:
                raise ValueError(f"repository {full_name} already exists")
            self._account(owner, owner_type)
            repo = _Repo(owner, name, next(self._ids), default_branch, private, _now())
            self._repos[full_name] = repo
            sha = head_sha or _fake_sha(full_name, "initial commit")
            self._add_commit(repo, sha, "Initial commit", [])
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
            r = self._repo(repo)
            self._add_commit(r, sha, message, list(parents))
            if branch:
                r.refs[f"refs/heads/{branch}"] = sha

    def add_issue(
        self, repo: str, number: int, title: str = "An issue", *, labels: Iterable[str] = ()
    ) -> None:
        with self._lock:
            r = self._repo(repo)
            self._new_issue(r, number, title, None, r.owner, list(labels))

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
        with self._lock:
            r = self._repo(repo)
            base_tip = r.refs.get(f"refs/heads/{base_ref}")
            self._add_commit(r, base_sha, "Base commit", [base_tip] if base_tip else [])
            self._add_commit(r, head_sha, f"Head of {head_ref}", [base_sha])
            if merge_commit_sha:
                self._add_commit(r, merge_commit_sha, f"Merge {head_ref}", [base_sha, head_sha])
            r.refs[f"refs/heads/{head_ref}"] = head_sha
            if state == "open":  # the base branch is at base_sha (as when the PR was synchronized)
                r.refs[f"refs/heads/{base_ref}"] = base_sha
            issue = self._new_issue(
                r, number, title or f"Changes from {head_ref}", body, user or r.owner, list(labels)
            )
            issue.is_pull, issue.pr_id, issue.draft = True, next(self._ids), draft
            issue.head_ref, issue.head_sha, issue.base_ref, issue.base_sha = (
                head_ref,
                head_sha,
                base_ref,
                base_sha,
            )
            issue.merge_commit_sha = merge_commit_sha
            if state == "closed":
                issue.state, issue.closed_at = "closed", _now()
                issue.merged_at = issue.closed_at if merged else None

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
            self._faults.append(
                _Fault(method.upper(), re.compile(path_regex), times, status, retry_after, body)
            )

    def delay_next(self, method: str, path_regex: str, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` matching requests for ``seconds`` before answering them."""
        with self._lock:
            self._delays.append(
                _Fault(method.upper(), re.compile(path_regex), times, seconds=seconds)
            )

    # ------------------------------------------------------------------ observing

    def comments(self, repo: str, number: int) -> list[JSON]:
        with self._lock:
            r = self._repo(repo)
            return [
                copy.deepcopy(c) for cid, c in r.comments.items() if r.comment_issue[cid] == number
            ]

    def check_runs(self, repo: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(list(self._repo(repo).check_runs.values()))

    def statuses(self, repo: str, sha: str) -> list[JSON]:
        with self._lock:
            return [copy.deepcopy(s) for s_sha, s in self._repo(repo).statuses if s_sha == sha]

    def releases(self, repo: str) -> list[JSON]:
        with self._lock:
            r = self._repo(repo)
            return [self._release_out(r, rel) for rel in r.releases.values()]

    def assets(self, repo: str, release_id: int) -> list[JSON]:
        """Asset objects, each with the uploaded bytes under ``"content"``."""
        with self._lock:
            found = self._repo(repo).assets.get(release_id, {})
            return [copy.deepcopy(a.data) | {"content": a.content} for a in found.values()]

    def deployments(self, repo: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(list(self._repo(repo).deployments.values()))

    def deployment_statuses(self, repo: str, deployment_id: int) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._repo(repo).deployment_statuses.get(deployment_id, []))

    def follow_git(self, repo: str, git_dir: Path) -> None:
        """Let ``repo``'s branches follow a local git repository (say, the bare ``origin`` a test
        pushes to): before each request its branches and their commits are read again, as
        GitHub's follow a ``git push``. Branches it lacks are removed; tags are left alone."""
        with self._lock:
            self._repo(repo)
            self._git_dirs[repo] = Path(git_dir)
        self._sync_git()

    def _sync_git(self) -> None:
        with self._lock:
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
            with self._lock:
                r = self._repo(full_name)
                for line in log.splitlines():
                    sha, parents, message = line.split("\0", 2)
                    self._add_commit(r, sha, message, parents.split())
                for ref in [ref for ref in r.refs if ref.startswith("refs/heads/")]:
                    if ref not in heads:
                        del r.refs[ref]
                r.refs.update(heads)

    def refs(self, repo: str) -> dict[str, str]:
        with self._lock:
            return dict(self._repo(repo).refs)

    def validate_event(self, event_name: str, payload: JSON) -> None:
        validate_event(event_name, payload, spec_dir=Path(self._webhooks_path).parent)

    # ------------------------------------------------------------------ internals: state

    def _account(self, login: str, kind: str = "User") -> _Account:
        if login not in self._accounts:
            uid = ACTIONS_BOT_ID if login == ACTIONS_BOT else next(self._user_ids)
            self._accounts[login] = _Account(login, uid, kind)
        return self._accounts[login]

    def _repo(self, full_name: str) -> _Repo:
        try:
            return self._repos[full_name]
        except KeyError:
            raise KeyError(f"no repository {full_name!r}: call add_repo() first") from None

    def _add_commit(self, repo: _Repo, sha: str, message: str, parents: list[str]) -> None:
        if sha not in repo.commits:
            repo.commits[sha] = _Commit(sha, message, parents, _now())

    def _new_issue(
        self, repo: _Repo, number: int, title: str, body: str | None, author: str, labels: list[str]
    ) -> _Issue:
        if number in repo.issues:
            raise ValueError(f"{repo.full_name}#{number} already exists")
        self._account(author)
        for name in labels:
            if name not in repo.labels:
                repo.labels[name] = label_json(self.url, repo.full_name, name, next(self._ids))
        now = _now()
        issue = _Issue(number, next(self._ids), title, body, author, labels, "open", now, now)
        repo.issues[number] = issue
        return issue

    def _user(self, login: str) -> JSON:
        account = self._account(login)
        return user_json(self.url, self.url, login, account.id, account.type)

    def _repo_out(self, repo: _Repo) -> JSON:
        open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
        return repo_json(
            self.url,
            self.url,
            self._user(repo.owner),
            repo.name,
            repo.id,
            default_branch=repo.default_branch,
            private=repo.private,
            created_at=repo.created_at,
            open_issues=open_issues,
        )

    def _association(self, repo: _Repo, login: str) -> str:
        if login == repo.owner:
            return "OWNER"
        return "NONE" if self._account(login).type == "Bot" else "CONTRIBUTOR"

    def _pull_out(self, repo: _Repo, issue: _Issue, *, full: bool = True) -> JSON:
        return pull_json(
            self.url,
            self.url,
            repo=self._repo_out(repo),
            number=issue.number,
            pr_id=issue.pr_id,
            title=issue.title,
            body=issue.body,
            user=self._user(issue.author),
            labels=[copy.deepcopy(repo.labels[name]) for name in issue.labels],
            head_ref=issue.head_ref,
            head_sha=issue.head_sha,
            base_ref=issue.base_ref,
            base_sha=issue.base_sha,
            state=issue.state,
            draft=issue.draft,
            created_at=issue.created_at,
            updated_at=issue.updated_at,
            closed_at=issue.closed_at,
            merged_at=issue.merged_at,
            merge_commit_sha=issue.merge_commit_sha,
            author_association=self._association(repo, issue.author),
            comments=sum(1 for n in repo.comment_issue.values() if n == issue.number),
            full=full,
        )

    def _issue_out(self, repo: _Repo, issue: _Issue) -> JSON:
        url = f"{self.url}/repos/{repo.full_name}/issues/{issue.number}"
        kind = "pull" if issue.is_pull else "issues"
        data: JSON = {
            "id": issue.id,
            "node_id": _node_id("I", issue.id),
            "url": url,
            "repository_url": f"{self.url}/repos/{repo.full_name}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.url}/{repo.full_name}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": "completed" if issue.state == "closed" else None,
            "title": issue.title,
            "body": issue.body,
            "user": self._user(issue.author),
            "labels": [copy.deepcopy(repo.labels[name]) for name in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": sum(1 for n in repo.comment_issue.values() if n == issue.number),
            "closed_at": issue.closed_at,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_by": None,
            "author_association": self._association(repo, issue.author),
            "reactions": _reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
        }
        if issue.is_pull:
            pull = f"{self.url}/repos/{repo.full_name}/pulls/{issue.number}"
            html = data["html_url"]
            data["draft"] = issue.draft
            data["pull_request"] = {
                "url": pull,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": issue.merged_at,
            }
        return data

    def _commit_out(self, repo: _Repo, commit: _Commit) -> JSON:
        api = f"{self.url}/repos/{repo.full_name}"
        person = {"name": commit.author, "email": commit.email, "date": commit.date}
        owner = self._user(repo.owner)
        tree = _fake_sha("tree", commit.sha)
        return {
            "sha": commit.sha,
            "node_id": _node_id("C", int(_fake_sha(commit.sha)[:12], 16)),
            "commit": {
                "author": person,
                "committer": person,
                "message": commit.message,
                "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
                "url": f"{api}/git/commits/{commit.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{commit.sha}",
            "html_url": f"{self.url}/{repo.full_name}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            # GitHub sends null when no account matches the commit's e-mail, which the contract's
            # ``nullable`` oneOf (no ``type``) cannot express: commits belong to the repo's owner.
            "author": owner,
            "committer": owner,
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/commits/{p}",
                    "html_url": f"{self.url}/{repo.full_name}/commit/{p}",
                }
                for p in commit.parents
            ],
            "stats": {"total": 1, "additions": 1, "deletions": 0},
            "files": [],
        }

    def _resolve(self, repo: _Repo, ref: str) -> str | None:
        """A commit sha for a sha, a unique sha prefix, a branch, a tag or a full ref."""
        if ref in repo.commits:
            return ref
        for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/{ref}"):
            if candidate.startswith("refs/") and candidate in repo.refs:
                return self._peel(repo, repo.refs[candidate])
        if re.fullmatch(r"[0-9a-f]{7,39}", ref):
            found = [sha for sha in repo.commits if sha.startswith(ref)]
            if len(found) == 1:
                return found[0]
        return None

    def _peel(self, repo: _Repo, sha: str) -> str:
        while sha in repo.tags:
            sha = repo.tags[sha]["object"]["sha"]
        return sha

    def _app(self, account: _Account) -> JSON:
        slug = account.login.removesuffix("[bot]")
        if account.login == ACTIONS_BOT:
            app_id, name, owner = (
                15368,
                "GitHub Actions",
                user_json(self.url, self.url, "github", 9919, "Organization"),
            )
        else:
            app_id, name, owner = (
                account.id,
                slug,
                user_json(self.url, self.url, slug, account.id, "Organization"),
            )
        return {
            "id": app_id,
            "slug": slug,
            "node_id": _node_id("A", app_id),
            "owner": owner,
            "name": name,
            "description": f"{name} app",
            "external_url": f"{self.url}/apps/{slug}",
            "html_url": f"{self.url}/apps/{slug}",
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2024-01-02T03:04:05Z",
            "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
            "events": ["check_run", "check_suite", "pull_request", "push"],
        }

    def _release_out(self, repo: _Repo, release: JSON) -> JSON:
        out = copy.deepcopy(release)
        out["assets"] = [copy.deepcopy(a.data) for a in repo.assets.get(release["id"], {}).values()]
        return out

    def _paginate(
        self, items: list[Any], query: dict[str, str], path: str
    ) -> tuple[list[Any], dict[str, str]]:
        per_page = max(1, min(int(query.get("per_page") or 30), 100))
        page = max(1, int(query.get("page") or 1))
        last = max(1, math.ceil(len(items) / per_page))

        def link(number: int, rel: str) -> str:
            return f'<{self.url}{path}?{urllib.parse.urlencode(query | {"page": str(number)})}>; rel="{rel}"'

        links = []
        if page > 1:
            links += [link(page - 1, "prev")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first")]
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page : page * per_page], headers

    # ------------------------------------------------------------------ internals: HTTP

    def _serve(self, h: _Handler) -> None:
        method = h.command
        split = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        raw = self._read_body(h)
        headers = {k.lower(): v for k, v in h.headers.items()}
        self._wait_if_delayed(method, split.path)
        self._sync_git()
        body: Any = None
        try:
            body, resp = self._respond(method, split.path, query, raw, headers)
        except Exception:  # a bug in the stand-in must fail the test, not hang it
            self._violation(f"{method} {split.path}: stand-in error\n{traceback.format_exc()}")
            resp = _Resp(500, _error_body(500, "Server Error"))
        with self._lock:
            self.requests.append(RecordedRequest(method, split.path, query, body, resp.status))
        self._send(h, resp)

    @staticmethod
    def _read_body(h: _Handler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(h.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            h.rfile.readline()
            return b"".join(chunks)
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    def _send(self, h: _Handler, resp: _Resp) -> None:
        if resp.raw is not None:
            payload = resp.raw
        elif resp.body is None:
            payload = b""
        else:
            payload = json.dumps(resp.body).encode()
        try:
            h.send_response(resp.status)
            if payload:
                h.send_header("Content-Type", resp.content_type)
            for name, value in resp.headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except OSError:  # the client gave up (timeouts) or the stand-in is stopping
            h.close_connection = True

    def _wait_if_delayed(self, method: str, path: str) -> None:
        with self._lock:
            delay = next((d for d in self._delays if d.matches(method, path)), None)
            if delay:
                delay.remaining -= 1
        if delay:
            self._stopping.wait(delay.seconds)

    def _violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def _respond(
        self, method: str, path: str, query: dict[str, str], raw: bytes, headers: dict[str, str]
    ) -> tuple[Any, _Resp]:
        """(parsed request body, response): route, validate, authenticate, fault, handle, validate."""
        if method == "GET" and (download := DOWNLOAD.fullmatch(path)):
            return None, self._download(download)
        route, params = self._route(method, path)
        if route is None:
            self._violation(f"{method} {path}: no such operation in {REST_SPEC}")
            return None, self._checked(None, None, _Resp(404, _error_body(404, "Not Found")))
        body: Any = None
        is_json = not route.uploads and raw
        if is_json:
            try:
                body = json.loads(raw)
            except ValueError:
                self._violation(f"{method} {path}: request body is not JSON")
                resp = _Resp(400, _error_body(400, "Problems parsing JSON"))
                return None, self._checked(None, None, resp)
        request = self._mock_request(route, params, query, raw, headers)
        problem = self._validate_request(request)
        if problem:
            self._violation(f"{method} {path}: request violates the contract: {problem}")
            resp = _Resp(422, _error_body(422, f"Invalid request.\n\n{problem}"))
            return body, self._checked(route, request, resp)
        resp = self._fault(method, path) or self._handle(route, params, query, body, raw, headers)
        return body, self._checked(route, request, resp)

    def _route(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in ROUTES:
            if route.method == method and (m := route.pattern.fullmatch(path)):
                return route, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
        return None, {}

    def _mock_request(
        self,
        route: _Route,
        params: dict[str, str],
        query: dict[str, str],
        raw: bytes,
        headers: dict[str, str],
    ) -> MockRequest:
        # slashes inside a parameter (refs, tags) must be percent-encoded for the path template
        path = route.template.format(**{k: _q(v) for k, v in params.items()})
        if route.uploads:
            # GitHub stores whatever Content-Type the upload names (PyGithub guesses one from the
            # file name); the contract describes the body as application/octet-stream.
            content_type = "application/octet-stream"
        else:
            content_type = headers.get("content-type", "application/json").split(";")[0].strip()
        origin = UPLOADS_ORIGIN if route.uploads else API_ORIGIN
        # GitHub treats an empty query value as absent (PyGithub sends ``label=`` on every upload);
        # OpenAPI 3.0 forbids empty values unless allowEmptyValue, so they are dropped here.
        args = {k: v for k, v in query.items() if v != ""}
        return MockRequest(
            origin, route.method, path, args=args, data=raw, content_type=content_type
        )

    def _validate_request(self, request: MockRequest) -> str | None:
        try:
            with self._validate_lock:
                self._api.validate_request(request)
        except OpenAPIError as exc:
            return _explain(exc)
        return None

    def _checked(self, route: _Route | None, request: MockRequest | None, resp: _Resp) -> _Resp:
        """Validate our own response; a mismatch is recorded, never sent silently."""
        if resp.raw is not None:
            return resp  # an injected non-JSON error page
        where = f"{route.method} {route.template}" if route else "unrouted request"
        payload = b"" if resp.body is None else json.dumps(resp.body).encode()
        if request is None:
            problem = self._error_shape_problem(resp)
        else:
            try:
                with self._validate_lock:
                    self._api.validate_response(
                        request,
                        MockResponse(payload, resp.status, resp.headers, "application/json"),
                    )
                problem = None
            except ResponseNotFound:
                problem = self._error_shape_problem(resp)
            except OpenAPIError as exc:
                problem = _explain(exc)
        if problem:
            self._violation(f"{where} -> {resp.status}: response violates the contract: {problem}")
            resp.headers["X-Standin-Violation"] = "response"
        return resp

    def _error_shape_problem(self, resp: _Resp) -> str | None:
        """Statuses an operation does not list (401, 5xx, secondary rate limits) still carry
        GitHub's error shapes: basic-error, or validation-error for 422."""
        name = "validation-error" if resp.status == 422 else "basic-error"
        schema = self._doc["components"]["schemas"][name]
        validator = OAS30Validator(schema, format_checker=oas30_format_checker)
        errors = [e.message for e in validator.iter_errors(resp.body)]
        if resp.status < 400:
            errors.append(f"status {resp.status} is not an answer this operation has")
        return "; ".join(errors) or None

    def _fault(self, method: str, path: str) -> _Resp | None:
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is None:
                return None
            fault.remaining -= 1
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if isinstance(fault.body, str | bytes):
            raw = fault.body.encode() if isinstance(fault.body, str) else fault.body
            return _Resp(fault.status, None, headers, raw, "text/html; charset=utf-8")
        if fault.body is not None:
            return _Resp(fault.status, fault.body, headers)
        message = {
            401: "Bad credentials",
            403: SECONDARY_RATE_LIMIT if fault.retry_after is not None else NOT_ACCESSIBLE,
            404: "Not Found",
            409: "Conflict",
            422: "Validation Failed",
            429: SECONDARY_RATE_LIMIT,
            500: "Server Error",
            502: "Server Error",
            503: "Service Unavailable",
            504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.",
        }.get(fault.status, "Server Error")
        return _Resp(fault.status, _error_body(fault.status, message), headers)

    def _handle(
        self,
        route: _Route,
        params: dict[str, str],
        query: dict[str, str],
        body: Any,
        raw: bytes,
        headers: dict[str, str],
    ) -> _Resp:
        auth = headers.get("authorization", "")
        scheme, _, token_text = auth.partition(" ")
        token_text = token_text.strip()
        with self._lock:
            token = (
                self._tokens.get(token_text.strip())
                if scheme.lower() in {"token", "bearer"}
                else None
            )
            if token is None:
                message = "Bad credentials" if auth else "Requires authentication"
                return _Resp(401, _error_body(401, message))
            if route.handler != "rate_limit":
                self._used[token_text] = self._used.get(token_text, 0) + 1
            rate = self._rate(token_text)
            rate_headers = {
                "X-RateLimit-Limit": str(rate["limit"]),
                "X-RateLimit-Remaining": str(rate["remaining"]),
                "X-RateLimit-Reset": str(rate["reset"]),
                "X-RateLimit-Used": str(rate["used"]),
                "X-RateLimit-Resource": "core",
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Api-Version-Selected": "2022-11-28",
            }
            if token.read_only and route.method in WRITE_METHODS:
                return _Resp(403, _error_body(403, NOT_ACCESSIBLE), rate_headers)
            repo = None
            if "owner" in params:
                repo = self._repos.get(f"{params['owner']}/{params['repo']}")
                if repo is None:
                    return _Resp(404, _error_body(404, "Not Found"), rate_headers)
            account = self._accounts[token.login]
            ctx = _Ctx(route, params, query, body, raw, headers, account, token, token_text, repo)
            try:
                resp: _Resp = getattr(self, f"_h_{route.handler}")(ctx)
            except _Fail as fail:
                resp = _Resp(
                    fail.status, _error_body(fail.status, fail.message, fail.errors, **fail.extra)
                )
            resp.headers = rate_headers | resp.headers
            return resp

    def _rate(self, token: str) -> JSON:
        account = self._accounts[self._tokens[token].login]
        limit = 1000 if account.type == "Bot" else 5000  # GITHUB_TOKEN: 1,000 per hour and repo
        used = self._used.get(token, 0)
        reset = int(self._started) + 3600
        return {"limit": limit, "used": used, "remaining": max(limit - used, 0), "reset": reset}

    def _download(self, match: re.Match[str]) -> _Resp:
        """github.com's release download URL (a web route, outside the REST contract)."""
        owner, name, tag, filename = (urllib.parse.unquote(v) for v in match.groups())
        with self._lock:
            repo = self._repos.get(f"{owner}/{name}")
            releases = list(repo.releases.values()) if repo else []
            for release in releases:
                if release["tag_name"] == tag and not release["draft"]:
                    assert repo is not None
                    for asset in repo.assets[release["id"]].values():
                        if asset.data["name"] == filename:
                            asset.data["download_count"] += 1
                            disposition = f"attachment; filename={filename}"
                            return _Resp(
                                200,
                                None,
                                {"Content-Disposition": disposition},
                                asset.content,
                                "application/octet-stream",
                            )
        return _Resp(404, None, {}, b"Not Found", "text/plain")

    # ------------------------------------------------------------------ handlers

    def _h_rate_limit(self, ctx: _Ctx) -> _Resp:
        core = self._rate(ctx.token_text)
        reset = core["reset"]

        def bucket(limit: int) -> JSON:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": reset}

        resources = {
            "core": core,
            "search": bucket(30),
            "graphql": bucket(core["limit"]),
            "integration_manifest": bucket(5000),
            "source_import": bucket(100),
            "code_scanning_upload": bucket(500),
            "actions_runner_registration": bucket(10000),
            "scim": bucket(15000),
            "dependency_snapshots": bucket(100),
            "code_search": bucket(10),
        }
        return _Resp(200, {"resources": resources, "rate": core})

    def _h_get_user(self, ctx: _Ctx) -> _Resp:
        if ctx.account.type == "Bot":  # an installation token (GITHUB_TOKEN, an app's) has no user
            raise _Fail(
                403,
                NOT_ACCESSIBLE,
                documentation_url=f"{DOCS_URL}/users/users#get-the-authenticated-user",
            )
        user = self._user(ctx.account.login)
        user |= {
            "user_view_type": "private",
            "name": ctx.account.login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "notification_email": None,
            "public_repos": sum(1 for r in self._repos.values() if r.owner == ctx.account.login),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-02T03:04:05Z",
            "updated_at": "2024-01-02T03:04:05Z",
            "private_gists": 0,
            "total_private_repos": 0,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
        }
        return _Resp(200, user)

    def _h_get_repo(self, ctx: _Ctx) -> _Resp:
        data = self._repo_out(ctx.r)
        write = not ctx.token.read_only
        data |= {
            "permissions": {
                "admin": write and ctx.account.login == ctx.r.owner,
                "maintain": write,
                "push": write,
                "triage": write,
                "pull": True,
            },
            "network_count": 0,
            "subscribers_count": 0,
            "temp_clone_token": "",
            "allow_squash_merge": True,
            "allow_merge_commit": True,
            "allow_rebase_merge": True,
            "delete_branch_on_merge": False,
        }
        return _Resp(200, data)

    def _commit_or_422(self, repo: _Repo, ref: str) -> str:
        sha = self._resolve(repo, ref)
        if sha is None:
            raise _Fail(422, f"No commit found for SHA: {ref}")
        return sha

    def _h_commit_pulls(self, ctx: _Ctx) -> _Resp:
        sha = self._commit_or_422(ctx.r, ctx.params["commit_sha"])
        found = [
            self._pull_out(ctx.r, i, full=False)
            for i in sorted(ctx.r.issues.values(), key=lambda i: -i.number)
            if i.is_pull and sha in {i.head_sha, i.merge_commit_sha}
        ]
        page, headers = self._paginate(found, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _h_get_commit(self, ctx: _Ctx) -> _Resp:
        sha = self._commit_or_422(ctx.r, ctx.params["ref"])
        return _Resp(200, self._commit_out(ctx.r, ctx.r.commits[sha]))

    def _h_list_pulls(self, ctx: _Ctx) -> _Resp:
        state = ctx.query.get("state", "open")
        head = ctx.query.get("head")
        base = ctx.query.get("base")
        pulls = [i for i in ctx.r.issues.values() if i.is_pull]
        pulls = [i for i in pulls if state in ("all", i.state)]
        if head:
            owner, _, branch = head.rpartition(":")
            pulls = [i for i in pulls if i.head_ref == branch and owner in {"", ctx.r.owner}]
        if base:
            pulls = [i for i in pulls if i.base_ref == base]
        sort = ctx.query.get("sort", "created")
        default_direction = "desc" if sort == "created" else "asc"
        descending = ctx.query.get("direction", default_direction) == "desc"
        key = "updated_at" if sort in {"updated", "long-running", "popularity"} else "created_at"
        pulls.sort(key=lambda i: (getattr(i, key), i.number), reverse=descending)
        items = [self._pull_out(ctx.r, i, full=False) for i in pulls]
        page, headers = self._paginate(items, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _h_create_pull(self, ctx: _Ctx) -> _Resp:
        body = ctx.body
        head = str(body["head"]).rpartition(":")[2]
        base = str(body["base"])
        head_sha = ctx.r.refs.get(f"refs/heads/{head}")
        base_sha = ctx.r.refs.get(f"refs/heads/{base}")
        if head_sha is None:
            raise _invalid("PullRequest", "head")
        if base_sha is None:
            raise _invalid("PullRequest", "base")
        if any(
            i.is_pull and i.state == "open" and i.head_ref == head and i.base_ref == base
            for i in ctx.r.issues.values()
        ):
            message = f"A pull request already exists for {ctx.r.owner}:{head}."
            raise _Fail(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "code": "custom", "message": message}],
            )
        if head_sha == base_sha:
            message = f"No commits between {base} and {head}"
            raise _Fail(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "code": "custom", "message": message}],
            )
        number = max(ctx.r.issues, default=0) + 1
        title = body.get("title") or head
        issue = self._new_issue(ctx.r, number, title, body.get("body"), ctx.account.login, [])
        issue.is_pull, issue.pr_id, issue.draft = True, next(self._ids), bool(body.get("draft"))
        issue.head_ref, issue.head_sha, issue.base_ref, issue.base_sha = (
            head,
            head_sha,
            base,
            base_sha,
        )
        data = self._pull_out(ctx.r, issue)
        return _Resp(201, data, {"Location": data["url"]})

    def _issue(self, ctx: _Ctx, key: str = "issue_number") -> _Issue:
        issue = ctx.r.issues.get(int(ctx.params[key]))
        if issue is None:
            raise _Fail(404, "Not Found")
        return issue

    def _h_get_pull(self, ctx: _Ctx) -> _Resp:
        issue = self._issue(ctx, "pull_number")
        if not issue.is_pull:
            raise _Fail(404, "Not Found")
        return _Resp(200, self._pull_out(ctx.r, issue))

    def _h_get_issue(self, ctx: _Ctx) -> _Resp:
        return _Resp(200, self._issue_out(ctx.r, self._issue(ctx)))

    def _h_list_labels(self, ctx: _Ctx) -> _Resp:
        issue = self._issue(ctx)
        labels = [copy.deepcopy(ctx.r.labels[name]) for name in issue.labels]
        page, headers = self._paginate(labels, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    @staticmethod
    def _check_comment_body(text: str) -> None:
        if len(text) > COMMENT_BODY_LIMIT:
            message = f"body is too long (maximum is {COMMENT_BODY_LIMIT} characters)"
            raise _invalid("IssueComment", "body", "custom", message=message)

    def _h_list_comments(self, ctx: _Ctx) -> _Resp:
        issue = self._issue(ctx)
        since = ctx.query.get("since")
        found = [
            copy.deepcopy(c)
            for cid, c in ctx.r.comments.items()
            if ctx.r.comment_issue[cid] == issue.number and (not since or c["updated_at"] >= since)
        ]
        page, headers = self._paginate(found, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _h_create_comment(self, ctx: _Ctx) -> _Resp:
        issue = self._issue(ctx)
        text = ctx.body["body"]
        self._check_comment_body(text)
        cid = next(self._ids)
        api = f"{self.url}/repos/{ctx.r.full_name}"
        kind = "pull" if issue.is_pull else "issues"
        now = _now()
        comment = {
            "id": cid,
            "node_id": _node_id("IC", cid),
            "url": f"{api}/issues/comments/{cid}",
            "html_url": f"{self.url}/{ctx.r.full_name}/{kind}/{issue.number}#issuecomment-{cid}",
            "issue_url": f"{api}/issues/{issue.number}",
            "body": text,
            "user": self._user(ctx.account.login),
            "created_at": now,
            "updated_at": now,
            "author_association": self._association(ctx.r, ctx.account.login),
            "reactions": _reactions(f"{api}/issues/comments/{cid}"),
            # an installation comments as its app's bot, through that app; a user's token, as the user
            "performed_via_github_app": (
                self._app(ctx.account) if ctx.account.type == "Bot" else None
            ),
        }
        ctx.r.comments[cid] = comment
        ctx.r.comment_issue[cid] = issue.number
        issue.updated_at = now
        return _Resp(201, copy.deepcopy(comment), {"Location": comment["url"]})

    def _comment(self, ctx: _Ctx) -> JSON:
        comment = ctx.r.comments.get(int(ctx.params["comment_id"]))
        if comment is None:
            raise _Fail(404, "Not Found")
        return comment

    def _h_get_comment(self, ctx: _Ctx) -> _Resp:
        return _Resp(200, copy.deepcopy(self._comment(ctx)))

    def _h_edit_comment(self, ctx: _Ctx) -> _Resp:
        comment = self._comment(ctx)
        self._check_comment_body(ctx.body["body"])
        comment["body"] = ctx.body["body"]
        comment["updated_at"] = _now()
        return _Resp(200, copy.deepcopy(comment))

    def _h_delete_comment(self, ctx: _Ctx) -> _Resp:
        comment = self._comment(ctx)
        del ctx.r.comments[comment["id"]], ctx.r.comment_issue[comment["id"]]
        return _Resp(204)

    def _h_create_status(self, ctx: _Ctx) -> _Resp:
        sha = ctx.params["sha"]
        if sha not in ctx.r.commits:
            raise _Fail(422, f"No commit found for SHA: {sha}")
        sid = next(self._ids)
        now = _now()
        user = self._user(ctx.account.login)
        status = {
            "url": f"{self.url}/repos/{ctx.r.full_name}/statuses/{sha}",
            "avatar_url": user["avatar_url"],
            "id": sid,
            "node_id": _node_id("SC", sid),
            "state": ctx.body["state"],
            "description": ctx.body.get("description"),
            "target_url": ctx.body.get("target_url"),
            "context": ctx.body.get("context", "default"),
            "created_at": now,
            "updated_at": now,
            "creator": user,
        }
        ctx.r.statuses.append((sha, status))
        return _Resp(201, copy.deepcopy(status), {"Location": status["url"]})

    # check runs ---------------------------------------------------------------

    def _check_output(self, run: JSON, output: JSON | None) -> None:
        if output is None:
            return
        for key in ("summary", "text"):
            text = output.get(key)
            if text is not None and len(text) > CHECK_OUTPUT_LIMIT:
                message = f"Invalid request.\n\nOnly {CHECK_OUTPUT_LIMIT} characters are allowed; {len(text)} were supplied."
                raise _Fail(422, message)
        annotations = output.get("annotations") or []
        if len(annotations) > 50:
            raise _Fail(422, "Invalid request.\n\nOnly 50 annotations are allowed per request.")
        current = run["output"]
        for key in ("title", "summary", "text"):
            if key in output:
                current[key] = output[key]
        current["annotations_count"] += len(annotations)

    def _apply_check_fields(self, run: JSON, body: JSON) -> None:
        for key in ("name", "details_url", "external_id", "started_at"):
            if key in body:
                run[key] = body[key]
        status = body.get("status", run["status"])
        conclusion = body.get("conclusion", run["conclusion"])
        if "conclusion" in body:
            status = "completed"  # providing a conclusion completes the run
        if status == "completed" and not conclusion:
            raise _Fail(422, 'Invalid request.\n\n"conclusion" wasn\'t supplied.')
        run["status"], run["conclusion"] = status, conclusion
        if status == "completed":
            run["completed_at"] = body.get("completed_at") or run["completed_at"] or _now()
        self._check_output(run, body.get("output"))

    def _h_create_check_run(self, ctx: _Ctx) -> _Resp:
        if ctx.account.type != "Bot":
            raise _Fail(403, "You must authenticate via a GitHub App.")
        sha = ctx.body["head_sha"]
        if sha not in ctx.r.commits:
            raise _Fail(422, f"No commit found for SHA: {sha}")
        rid = next(self._ids)
        api = f"{self.url}/repos/{ctx.r.full_name}"
        html = f"{self.url}/{ctx.r.full_name}/runs/{rid}"
        suite = ctx.r.check_suites.setdefault(sha, next(self._ids))
        pulls = [
            {
                "url": f"{api}/pulls/{i.number}",
                "id": i.pr_id,
                "number": i.number,
                "head": {"ref": i.head_ref, "sha": i.head_sha, "repo": {"id": ctx.r.id, "url": api, "name": ctx.r.name}},
                "base": {"ref": i.base_ref, "sha": i.base_sha, "repo": {"id": ctx.r.id, "url": api, "name": ctx.r.name}},
            }
            for i in ctx.r.issues.values()
            if i.is_pull and i.state == "open" and i.head_sha == sha
        ]  # fmt: skip
        run: JSON = {
            "id": rid,
            "head_sha": sha,
            "node_id": _node_id("CR", rid),
            "external_id": "",
            "url": f"{api}/check-runs/{rid}",
            "html_url": html,
            "details_url": html,
            "status": "queued",
            "conclusion": None,
            "started_at": _now(),
            "completed_at": None,
            "output": {
                "title": None,
                "summary": None,
                "text": None,
                "annotations_count": 0,
                "annotations_url": f"{api}/check-runs/{rid}/annotations",
            },
            "name": "",
            "check_suite": {"id": suite},
            "app": self._app(ctx.account),
            "pull_requests": pulls,
        }
        self._apply_check_fields(run, ctx.body)
        ctx.r.check_runs[rid] = run
        return _Resp(201, copy.deepcopy(run), {"Location": run["url"]})

    def _check_run(self, ctx: _Ctx) -> JSON:
        run = ctx.r.check_runs.get(int(ctx.params["check_run_id"]))
        if run is None:
            raise _Fail(404, "Not Found")
        return run

    def _h_get_check_run(self, ctx: _Ctx) -> _Resp:
        return _Resp(200, copy.deepcopy(self._check_run(ctx)))

    def _h_edit_check_run(self, ctx: _Ctx) -> _Resp:
        run = self._check_run(ctx)
        if ctx.account.type != "Bot":
            raise _Fail(403, "You must authenticate via a GitHub App.")
        if run["app"]["id"] != self._app(ctx.account)["id"]:
            message = "Invalid app_id: a check run can only be modified by the GitHub App that created it."
            raise _Fail(403, message)
        updated = copy.deepcopy(run)
        self._apply_check_fields(updated, ctx.body)
        run.clear()
        run.update(updated)
        return _Resp(200, copy.deepcopy(run))

    # releases -----------------------------------------------------------------

    def _ensure_tag(self, repo: _Repo, release: JSON) -> None:
        """A published release names a tag: GitHub creates it from target_commitish if missing."""
        ref = f"refs/tags/{release['tag_name']}"
        if ref not in repo.refs:
            sha = self._resolve(repo, release["target_commitish"])
            if sha is None:
                raise _invalid("Release", "target_commitish")
            repo.refs[ref] = sha

    def _publish(self, repo: _Repo, release: JSON) -> None:
        self._ensure_tag(repo, release)
        release["published_at"] = _now()
        release["draft"] = False

    def _release_urls(self, repo: _Repo, release: JSON) -> None:
        tag = release["tag_name"]
        api = f"{self.url}/repos/{repo.full_name}"
        if release["draft"]:
            untagged = f"untagged-{_fake_sha(release['id'])[:20]}"
            release["html_url"] = f"{self.url}/{repo.full_name}/releases/tag/{untagged}"
            release["tarball_url"] = release["zipball_url"] = None
        else:
            release["html_url"] = f"{self.url}/{repo.full_name}/releases/tag/{_q(tag)}"
            release["tarball_url"] = f"{api}/tarball/{_q(tag)}"
            release["zipball_url"] = f"{api}/zipball/{_q(tag)}"
        for asset in repo.assets.get(release["id"], {}).values():
            download = "untagged-" + _fake_sha(release["id"])[:20] if release["draft"] else tag
            asset.data["browser_download_url"] = (
                f"{self.url}/{repo.full_name}/releases/download/{_q(download)}/{_q(asset.data['name'])}"
            )

    def _h_create_release(self, ctx: _Ctx) -> _Resp:
        body = ctx.body
        tag = body["tag_name"]
        if any(r["tag_name"] == tag for r in ctx.r.releases.values()):
            raise _invalid("Release", "tag_name", "already_exists")
        target = body.get("target_commitish") or ctx.r.default_branch
        if self._resolve(ctx.r, target) is None and f"refs/tags/{tag}" not in ctx.r.refs:
            raise _invalid("Release", "target_commitish")
        rid = next(self._ids)
        api = f"{self.url}/repos/{ctx.r.full_name}"
        now = _now()
        text = body.get("body")
        if body.get("generate_release_notes") and not text:
            text = f"**Full Changelog**: {self.url}/{ctx.r.full_name}/commits/{tag}"
        release: JSON = {
            "url": f"{api}/releases/{rid}",
            "assets_url": f"{api}/releases/{rid}/assets",
            "upload_url": f"{self.url}/repos/{ctx.r.full_name}/releases/{rid}/assets{{?name,label}}",
            "html_url": "",
            "id": rid,
            "author": self._user(ctx.account.login),
            "node_id": _node_id("RE", rid),
            "tag_name": tag,
            "target_commitish": target,
            "name": body.get("name"),
            "draft": bool(body.get("draft")),
            "immutable": False,
            "prerelease": bool(body.get("prerelease")),
            "created_at": now,
            "updated_at": now,
            "published_at": None,
            "tarball_url": None,
            "zipball_url": None,
            "body": text,
            "mentions_count": 0,
        }
        ctx.r.assets[rid] = {}
        if not release["draft"]:
            self._publish(ctx.r, release)
        self._release_urls(ctx.r, release)
        ctx.r.releases[rid] = release
        out = self._release_out(ctx.r, release)
        return _Resp(201, out, {"Location": out["url"]})

    def _release(self, ctx: _Ctx) -> JSON:
        release = ctx.r.releases.get(int(ctx.params["release_id"]))
        if release is None:
            raise _Fail(404, "Not Found")
        return release

    def _h_list_releases(self, ctx: _Ctx) -> _Resp:
        found = sorted(
            ctx.r.releases.values(), key=lambda r: (r["created_at"], r["id"]), reverse=True
        )
        items = [self._release_out(ctx.r, r) for r in found]
        page, headers = self._paginate(items, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _h_get_release(self, ctx: _Ctx) -> _Resp:
        return _Resp(200, self._release_out(ctx.r, self._release(ctx)))

    def _h_get_release_by_tag(self, ctx: _Ctx) -> _Resp:
        for release in ctx.r.releases.values():
            if release["tag_name"] == ctx.params["tag"] and not release["draft"]:
                return _Resp(200, self._release_out(ctx.r, release))
        raise _Fail(404, "Not Found")

    def _h_edit_release(self, ctx: _Ctx) -> _Resp:
        release = self._release(ctx)
        body = ctx.body
        tag = body.get("tag_name", release["tag_name"])
        if any(r["tag_name"] == tag and r is not release for r in ctx.r.releases.values()):
            raise _invalid("Release", "tag_name", "already_exists")
        updated = copy.deepcopy(release)
        for key in ("tag_name", "target_commitish", "name", "body", "prerelease"):
            if key in body:
                updated[key] = body[key]
        updated["updated_at"] = _now()
        if body.get("draft") is True:
            updated["draft"], updated["published_at"] = True, None
        elif release["draft"] and body.get("draft") is False:
            self._publish(ctx.r, updated)
        elif not release["draft"]:
            self._ensure_tag(ctx.r, updated)  # a renamed tag is created too
        release.clear()
        release.update(updated)
        self._release_urls(ctx.r, release)
        return _Resp(200, self._release_out(ctx.r, release))

    def _h_delete_release(self, ctx: _Ctx) -> _Resp:
        release = self._release(ctx)
        del ctx.r.releases[release["id"]]
        ctx.r.assets.pop(release["id"], None)  # the tag stays, as on GitHub
        return _Resp(204)

    def _h_list_assets(self, ctx: _Ctx) -> _Resp:
        release = self._release(ctx)
        items = [copy.deepcopy(a.data) for a in ctx.r.assets[release["id"]].values()]
        page, headers = self._paginate(items, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _h_upload_asset(self, ctx: _Ctx) -> _Resp:
        release = self._release(ctx)
        name = ctx.query["name"]
        assets = ctx.r.assets[release["id"]]
        if any(a.data["name"] == name for a in assets.values()):
            raise _invalid("ReleaseAsset", "name", "already_exists")
        aid = next(self._ids)
        now = _now()
        content_type = ctx.headers.get("content-type") or "application/octet-stream"
        data: JSON = {
            "url": f"{self.url}/repos/{ctx.r.full_name}/releases/assets/{aid}",
            "browser_download_url": "",
            "id": aid,
            "node_id": _node_id("RA", aid),
            "name": name,
            "label": ctx.query.get("label", ""),
            "state": "uploaded",
            "content_type": content_type,
            "size": len(ctx.raw),
            "digest": f"sha256:{hashlib.sha256(ctx.raw).hexdigest()}",
            "download_count": 0,
            "created_at": now,
            "updated_at": now,
            "uploader": self._user(ctx.account.login),
        }
        assets[aid] = _Asset(data, ctx.raw)
        self._release_urls(ctx.r, release)
        return _Resp(201, copy.deepcopy(data), {"Location": data["url"]})

    # deployments --------------------------------------------------------------

    def _h_list_deployments(self, ctx: _Ctx) -> _Resp:
        filters = {k: ctx.query[k] for k in ("sha", "ref", "task", "environment") if k in ctx.query}
        found = [
            copy.deepcopy(d)
            for d in sorted(ctx.r.deployments.values(), key=lambda d: -d["id"])
            if all(d[k] == v for k, v in filters.items())
        ]
        page, headers = self._paginate(found, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _h_create_deployment(self, ctx: _Ctx) -> _Resp:
        body = ctx.body
        ref = body["ref"]
        sha = self._resolve(ctx.r, ref)
        if sha is None:
            raise _Fail(422, f"No ref found for: {ref}")
        latest: dict[str, str] = {}
        for s_sha, status in ctx.r.statuses:
            if s_sha == sha:
                latest[status["context"]] = status["state"]
        required = body.get("required_contexts")
        contexts = list(latest) if required is None else list(required)
        failing = [c for c in contexts if latest.get(c) != "success"]
        if failing:
            errors = [
                {
                    "resource": "Deployment",
                    "field": "required_contexts",
                    "code": "invalid",
                    "contexts": [
                        {"context": c, "state": latest.get(c, "missing")} for c in failing
                    ],
                }
            ]
            raise _Fail(409, f"Conflict: Commit status checks failed for {ref}.", errors)
        did = next(self._ids)
        now = _now()
        environment = body.get("environment", "production")
        api = f"{self.url}/repos/{ctx.r.full_name}"
        deployment = {
            "url": f"{api}/deployments/{did}",
            "id": did,
            "node_id": _node_id("DE", did),
            "sha": sha,
            "ref": ref,
            "task": body.get("task", "deploy"),
            "payload": body.get("payload", {}),
            "original_environment": environment,
            "environment": environment,
            "description": body.get("description", ""),
            "creator": self._user(ctx.account.login),
            "created_at": now,
            "updated_at": now,
            "statuses_url": f"{api}/deployments/{did}/statuses",
            "repository_url": api,
            "transient_environment": bool(body.get("transient_environment", False)),
            "production_environment": bool(
                body.get("production_environment", environment == "production")
            ),
            "performed_via_github_app": None,
        }
        ctx.r.deployments[did] = deployment
        ctx.r.deployment_statuses[did] = []
        return _Resp(201, copy.deepcopy(deployment), {"Location": deployment["url"]})

    def _deployment(self, ctx: _Ctx) -> JSON:
        deployment = ctx.r.deployments.get(int(ctx.params["deployment_id"]))
        if deployment is None:
            raise _Fail(404, "Not Found")
        return deployment

    def _h_list_deployment_statuses(self, ctx: _Ctx) -> _Resp:
        deployment = self._deployment(ctx)
        found = [copy.deepcopy(s) for s in reversed(ctx.r.deployment_statuses[deployment["id"]])]
        page, headers = self._paginate(found, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _new_deployment_status(
        self, repo: _Repo, deployment: JSON, state: str, login: str, body: JSON
    ) -> JSON:
        sid = next(self._ids)
        now = _now()
        log_url = body.get("log_url", body.get("target_url", ""))
        status = {
            "url": f"{deployment['url']}/statuses/{sid}",
            "id": sid,
            "node_id": _node_id("DES", sid),
            "state": state,
            "creator": self._user(login),
            "description": body.get("description", ""),
            "environment": deployment["environment"],
            "target_url": log_url,
            "log_url": log_url,
            "environment_url": body.get("environment_url", ""),
            "created_at": now,
            "updated_at": now,
            "deployment_url": deployment["url"],
            "repository_url": f"{self.url}/repos/{repo.full_name}",
            "performed_via_github_app": None,
        }
        repo.deployment_statuses[deployment["id"]].append(status)
        deployment["updated_at"] = now
        return status

    def _h_create_deployment_status(self, ctx: _Ctx) -> _Resp:
        deployment = self._deployment(ctx)
        body = ctx.body
        if "environment" in body:
            deployment["environment"] = body["environment"]
        status = self._new_deployment_status(
            ctx.r, deployment, body["state"], ctx.account.login, body
        )
        if body["state"] == "success" and body.get("auto_inactive", True):
            # earlier non-transient, non-production deployments to the same environment that
            # succeeded become inactive
            for other in ctx.r.deployments.values():
                history = ctx.r.deployment_statuses[other["id"]]
                if (
                    other is not deployment
                    and other["environment"] == deployment["environment"]
                    and not other["transient_environment"]
                    and not other["production_environment"]
                    and history
                    and history[-1]["state"] == "success"
                ):
                    self._new_deployment_status(ctx.r, other, "inactive", ctx.account.login, {})
        return _Resp(201, copy.deepcopy(status), {"Location": status["url"]})

    # git ----------------------------------------------------------------------

    def _ref_out(self, repo: _Repo, ref: str) -> JSON:
        sha = repo.refs[ref]
        kind = "tag" if sha in repo.tags else "commit"
        api = f"{self.url}/repos/{repo.full_name}/git"
        return {
            "ref": ref,
            "node_id": _node_id("REF", int(_fake_sha(repo.id, ref)[:12], 16)),
            "url": f"{api}/{ref}",
            "object": {"sha": sha, "type": kind, "url": f"{api}/{kind}s/{sha}"},
        }

    def _h_get_ref(self, ctx: _Ctx) -> _Resp:
        ref = f"refs/{ctx.params['ref']}"
        if ref not in ctx.r.refs:
            raise _Fail(404, "Not Found")
        return _Resp(200, self._ref_out(ctx.r, ref))

    def _h_matching_refs(self, ctx: _Ctx) -> _Resp:
        prefix = f"refs/{ctx.params['ref']}"
        found = [self._ref_out(ctx.r, ref) for ref in sorted(ctx.r.refs) if ref.startswith(prefix)]
        page, headers = self._paginate(found, ctx.query, ctx.path)
        return _Resp(200, page, headers)

    def _h_create_ref(self, ctx: _Ctx) -> _Resp:
        ref, sha = ctx.body["ref"], ctx.body["sha"]
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise _Fail(422, f"{ref} is not a valid ref name.")
        if ref in ctx.r.refs:
            raise _Fail(422, "Reference already exists")
        if sha not in ctx.r.commits and sha not in ctx.r.tags:
            raise _Fail(422, "Object does not exist")
        ctx.r.refs[ref] = sha
        data = self._ref_out(ctx.r, ref)
        return _Resp(201, data, {"Location": data["url"]})

    def _h_create_tag(self, ctx: _Ctx) -> _Resp:
        body = ctx.body
        target = body["object"]
        kind = body.get("type", "commit")
        if kind == "commit" and target not in ctx.r.commits:
            raise _Fail(422, "Object does not exist")
        account = ctx.account
        tagger = body.get("tagger") or {
            "name": account.login,
            "email": f"{account.id}+{account.login}@users.noreply.github.com",
        }
        tagger = {"date": _now()} | tagger
        sha = _fake_sha("tag", body["tag"], target, body["message"], tagger["date"])
        api = f"{self.url}/repos/{ctx.r.full_name}/git"
        tag = {
            "node_id": _node_id("TAG", int(sha[:12], 16)),
            "sha": sha,
            "url": f"{api}/tags/{sha}",
            "tagger": tagger,
            "object": {"sha": target, "type": kind, "url": f"{api}/{kind}s/{target}"},
            "tag": body["tag"],
            "message": body["message"],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }
        ctx.r.tags[sha] = tag
        return _Resp(201, copy.deepcopy(tag), {"Location": tag["url"]})


def _explain(exc: BaseException) -> str:
    """openapi-core's error, short: the schema errors under it by path, else its message."""
    cause = exc.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if schema_errors:
        lines = []
        for error in schema_errors:
            where = ".".join(map(str, error.absolute_path)) or "<body>"
            lines.append(f"{where}: {error.message[:200]}")
        return f"{type(exc).__name__}: " + "; ".join(lines)
    text = str(exc) if cause is None or str(cause) in str(exc) else f"{exc}: {cause}"
    return text[:500]


@pytest.fixture(name="github")
def github() -> Iterator[GitHubStandin]:
    """A running GitHub stand-in, stopped after the test."""
    standin = GitHubStandin()
    try:
        yield standin
    finally:
        standin.stop()


# --------------------------------------------------------------------------- webhook events


def _webhook_key(event_name: str, payload: JSON, validators: dict[str, Any]) -> str:
    base = event_name.removesuffix("_target").replace("_", "-")  # pull_request_target: same payload
    for key in (base, f"{base}-{payload.get('action')}"):
        if key in validators:
            return key
    known = ", ".join(sorted(validators))
    raise EventValidationError(
        f"no schema for event {event_name!r} with action {payload.get('action')!r} in "
        f"{WEBHOOKS_SPEC} (it has: {known})"
    )


def validate_event(event_name: str, payload: JSON, *, spec_dir: Path | None = None) -> None:
    """Raise EventValidationError unless ``payload`` fits GitHub's schema for ``event_name``."""
    path = contract_dir(spec_dir) / WEBHOOKS_SPEC
    validators = _webhook_validators(str(path))
    key = _webhook_key(event_name, payload, validators)
    schema_name, validator = validators[key]
    errors = sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [
            f"  - {'.'.join(map(str, e.absolute_path)) or '<payload>'}: {e.message[:300]}"
            for e in errors[:20]
        ]
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise EventValidationError(
            f"{event_name} payload (action {payload.get('action')!r}) does not match "
            f"{schema_name} in {WEBHOOKS_SPEC}:\n" + "\n".join(lines) + more
        )


def _deep_merge(base: JSON, overrides: JSON) -> JSON:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def make_event(
    event_name: str,
    action: str | None = None,
    *,
    repo: str = "octo-org/mlci-demo",
    number: int = 1,
    head_sha: str = "a" * 40,
    base_sha: str = "b" * 40,
    head_ref: str = "feature",
    base_ref: str = "main",
    ref: str | None = None,
    sha: str | None = None,
    before: str | None = None,
    ref_type: str = "tag",
    sender: str = "octocat",
    merged: bool = False,
    labels: Iterable[str] = (),
    conclusion: str = "success",
    workflow: str = "CI",
    api_url: str = "https://api.github.com",
    server_url: str = "https://github.com",
    **overrides: Any,
) -> JSON:
    """A complete, schema-valid webhook payload; ``overrides`` are deep-merged into it.

    Events: ``pull_request`` (action opened/synchronize/reopened/closed, default opened),
    ``push`` (``ref`` default refs/heads/<base_ref>, ``sha`` the new head), ``create``
    (``ref`` a tag or branch name, ``ref_type``), ``workflow_run`` (action completed).
    """
    api, web = api_url.rstrip("/"), server_url.rstrip("/")
    owner_login, _, name = repo.partition("/")
    owner = user_json(api, web, owner_login, 9_000_001, "Organization")
    sender_json = user_json(api, web, sender, 583_231)
    repository = repo_json(api, web, owner, name, 700_000_001)
    created = "2024-05-01T10:00:00Z"
    updated = "2024-05-02T11:30:00Z"
    payload: JSON
    if event_name in {"pull_request", "pull_request_target"}:
        action = action or "opened"
        closed = action == "closed"
        pull = pull_json(
            api,
            web,
            repo=repository,
            number=number,
            pr_id=1_800_000_000 + number,
            title=f"Changes from {head_ref}",
            body="Please review.",
            user=sender_json,
            labels=[label_json(api, repo, n, 5_000_000 + i) for i, n in enumerate(labels)],
            head_ref=head_ref,
            head_sha=head_sha,
            base_ref=base_ref,
            base_sha=base_sha,
            state="closed" if closed else "open",
            created_at=created,
            updated_at=updated,
            closed_at=updated if closed else None,
            merged_at=updated if closed and merged else None,
            merge_commit_sha=_fake_sha("merge", head_sha, base_sha),
            author_association="CONTRIBUTOR",
        )
        payload = {"action": action, "number": number, "pull_request": pull}
        if action == "synchronize":
            payload |= {"before": before or base_sha, "after": head_sha}
    elif event_name == "push":
        ref = ref or f"refs/heads/{base_ref}"
        after = sha or head_sha
        previous = before or base_sha
        commit = {
            "id": after,
            "tree_id": _fake_sha("tree", after),
            "distinct": True,
            "message": "Update the model",
            "timestamp": "2024-05-02T11:30:00+00:00",
            "url": f"{web}/{repo}/commit/{after}",
            "author": {"name": "Test Author", "email": "author@example.com", "username": sender},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
            "added": [],
            "removed": [],
            "modified": ["params.yaml"],
        }
        push_repo = repository | {
            "created_at": 1714557600,  # push payloads carry Unix timestamps here
            "pushed_at": 1714649400,
            "stargazers": 0,
            "master_branch": repository["default_branch"],
        }
        payload = {
            "ref": ref,
            "before": previous,
            "after": after,
            "created": False,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{web}/{repo}/compare/{previous[:12]}...{after[:12]}",
            "commits": [commit],
            "head_commit": commit,
            "repository": push_repo,
            "pusher": {"name": sender, "email": f"{sender}@example.com"},
        }
    elif event_name == "create":
        payload = {
            "ref": ref or "v1.0.0",
            "ref_type": ref_type,
            "master_branch": repository["default_branch"],
            "description": None,
            "pusher_type": "user",
        }
    elif event_name == "workflow_run":
        action = action or "completed"
        run_id = 9_100_000_001
        runs = f"{api}/repos/{repo}/actions/runs/{run_id}"
        mini_repo = {k: repository[k] for k in ("id", "node_id", "name", "full_name", "private", "owner", "html_url", "description", "fork", "url")}  # fmt: skip
        mini_repo |= {k: v for k, v in repository.items() if k.endswith("_url")}
        workflow_json = {
            "badge_url": f"{web}/{repo}/workflows/ci/badge.svg",
            "created_at": created,
            "html_url": f"{web}/{repo}/blob/{base_ref}/.github/workflows/ci.yml",
            "id": 77_000_001,
            "name": workflow,
            "node_id": _node_id("W", 77_000_001),
            "path": ".github/workflows/ci.yml",
            "state": "active",
            "updated_at": updated,
            "url": f"{api}/repos/{repo}/actions/workflows/77000001",
        }
        pulls = [
            {
                "url": f"{api}/repos/{repo}/pulls/{number}",
                "id": 1_800_000_000 + number,
                "number": number,
                "head": {"ref": head_ref, "sha": head_sha, "repo": {"id": repository["id"], "url": repository["url"], "name": name}},
                "base": {"ref": base_ref, "sha": base_sha, "repo": {"id": repository["id"], "url": repository["url"], "name": name}},
            }
        ]  # fmt: skip
        run = {
            "id": run_id,
            "name": workflow,
            "node_id": _node_id("WFR", run_id),
            "head_branch": head_ref,
            "head_sha": head_sha,
            "path": ".github/workflows/ci.yml",
            "display_title": f"Changes from {head_ref}",
            "run_number": 42,
            "event": "pull_request",
            "status": "completed",
            "conclusion": conclusion,
            "workflow_id": workflow_json["id"],
            "check_suite_id": 23_000_001,
            "check_suite_node_id": _node_id("CS", 23_000_001),
            "url": runs,
            "html_url": f"{web}/{repo}/actions/runs/{run_id}",
            "pull_requests": pulls,
            "created_at": created,
            "updated_at": updated,
            "actor": sender_json,
            "triggering_actor": sender_json,
            "run_attempt": 1,
            "referenced_workflows": [],
            "run_started_at": created,
            "jobs_url": f"{runs}/jobs",
            "logs_url": f"{runs}/logs",
            "check_suite_url": f"{api}/repos/{repo}/check-suites/23000001",
            "artifacts_url": f"{runs}/artifacts",
            "cancel_url": f"{runs}/cancel",
            "rerun_url": f"{runs}/rerun",
            "previous_attempt_url": None,
            "workflow_url": workflow_json["url"],
            "head_commit": {
                "id": head_sha,
                "tree_id": _fake_sha("tree", head_sha),
                "message": "Update the model",
                "timestamp": "2024-05-02T11:30:00Z",
                "author": {"name": "Test Author", "email": "author@example.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
            "repository": mini_repo,
            "head_repository": mini_repo,
        }
        payload = {"action": action, "workflow": workflow_json, "workflow_run": run}
    else:
        raise ValueError(
            f"make_event knows pull_request, push, create and workflow_run, not {event_name!r}"
        )
    payload.setdefault("repository", repository)
    payload["sender"] = sender_json
    _deep_merge(payload, overrides)
    validate_event(event_name, payload)
    return payload
