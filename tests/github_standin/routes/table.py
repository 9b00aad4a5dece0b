"""Every REST operation the stand-in serves, in one table: its method, the path it matches, the
contract's path it is validated against, and its handler. A new route is one row here."""

from __future__ import annotations

import re
import urllib.parse

from tests.github_standin.messages import Handler, Route
from tests.github_standin.routes import account, checks, deployments, git, issues, pulls, releases

# Operations outside a repository: (method, path pattern, contract path, handler).
_ACCOUNT_ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", r"/rate_limit", "/rate_limit", account.rate_limit),
    ("GET", r"/user", "/user", account.get_user),
]

# Operations under /repos/{owner}/{repo}: the pattern and contract path continue that prefix.
_REPO_ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", "", "", account.get_repo),
    ("GET", r"/commits/(?P<commit_sha>[^/]+)/pulls", "/commits/{commit_sha}/pulls", pulls.commit_pulls),
    ("GET", r"/commits/(?P<ref>.+)", "/commits/{ref}", pulls.get_commit),
    ("GET", r"/pulls", "/pulls", pulls.list_pulls),
    ("POST", r"/pulls", "/pulls", pulls.create_pull),
    ("GET", r"/pulls/(?P<pull_number>[^/]+)", "/pulls/{pull_number}", pulls.get_pull),
    ("GET", r"/issues/comments/(?P<comment_id>[^/]+)", "/issues/comments/{comment_id}", issues.get_comment),
    ("PATCH", r"/issues/comments/(?P<comment_id>[^/]+)", "/issues/comments/{comment_id}", issues.edit_comment),
    ("DELETE", r"/issues/comments/(?P<comment_id>[^/]+)", "/issues/comments/{comment_id}", issues.delete_comment),
    ("GET", r"/issues/(?P<issue_number>[^/]+)", "/issues/{issue_number}", issues.get_issue),
    ("GET", r"/issues/(?P<issue_number>[^/]+)/comments", "/issues/{issue_number}/comments", issues.list_comments),
    ("POST", r"/issues/(?P<issue_number>[^/]+)/comments", "/issues/{issue_number}/comments", issues.create_comment),
    ("GET", r"/issues/(?P<issue_number>[^/]+)/labels", "/issues/{issue_number}/labels", issues.list_labels),
    ("POST", r"/statuses/(?P<sha>[^/]+)", "/statuses/{sha}", checks.create_status),
    ("POST", r"/check-runs", "/check-runs", checks.create_check_run),
    ("GET", r"/check-runs/(?P<check_run_id>[^/]+)", "/check-runs/{check_run_id}", checks.get_check_run),
    ("PATCH", r"/check-runs/(?P<check_run_id>[^/]+)", "/check-runs/{check_run_id}", checks.edit_check_run),
    ("GET", r"/releases", "/releases", releases.list_releases),
    ("POST", r"/releases", "/releases", releases.create_release),
    ("GET", r"/releases/tags/(?P<tag>.+)", "/releases/tags/{tag}", releases.get_release_by_tag),
    ("GET", r"/releases/(?P<release_id>[^/]+)", "/releases/{release_id}", releases.get_release),
    ("PATCH", r"/releases/(?P<release_id>[^/]+)", "/releases/{release_id}", releases.edit_release),
    ("DELETE", r"/releases/(?P<release_id>[^/]+)", "/releases/{release_id}", releases.delete_release),
    ("GET", r"/releases/(?P<release_id>[^/]+)/assets", "/releases/{release_id}/assets", releases.list_assets),
    ("POST", r"/releases/(?P<release_id>[^/]+)/assets", "/releases/{release_id}/assets", releases.upload_asset),
    ("GET", r"/deployments", "/deployments", deployments.list_deployments),
    ("POST", r"/deployments", "/deployments", deployments.create_deployment),
    ("GET", r"/deployments/(?P<deployment_id>[^/]+)/statuses", "/deployments/{deployment_id}/statuses", deployments.list_deployment_statuses),
    ("POST", r"/deployments/(?P<deployment_id>[^/]+)/statuses", "/deployments/{deployment_id}/statuses", deployments.create_deployment_status),
    ("GET", r"/git/ref/(?P<ref>.+)", "/git/ref/{ref}", git.get_ref),
    ("GET", r"/git/matching-refs/(?P<ref>.*)", "/git/matching-refs/{ref}", git.matching_refs),
    ("POST", r"/git/refs", "/git/refs", git.create_ref),
    ("POST", r"/git/tags", "/git/tags", git.create_tag),
]  # fmt: skip

_UPLOADS = {releases.upload_asset}  # served from uploads.github.com on github.com


def _build() -> list[Route]:
    prefix = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
    rows = [(m, p, t, h) for m, p, t, h in _ACCOUNT_ROUTES]
    rows += [(m, prefix + p, "/repos/{owner}/{repo}" + t, h) for m, p, t, h in _REPO_ROUTES]
    return [Route(m, re.compile(p), t, h, h in _UPLOADS) for m, p, t, h in rows]


ROUTES = _build()
# github.com's asset download URL: a web route, outside the REST API and its contract
DOWNLOAD = releases.DOWNLOAD
download = releases.download


def route(method: str, path: str) -> tuple[Route | None, dict[str, str]]:
    """The operation ``method path`` asks for and its path parameters (unquoted)."""
    for candidate in ROUTES:
        if candidate.method == method and (m := candidate.pattern.fullmatch(path)):
            return candidate, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
    return None, {}
