"""GitHub's JSON objects (user, repository, label, pull request, reactions) built from plain
values, as the REST API and webhook payloads render them; with the ids and times they carry."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(prefix: str, number: int) -> str:
    packed = base64.urlsafe_b64encode(number.to_bytes(8, "big")).decode().rstrip("=")
    return f"{prefix}_kwDO{packed}"


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()  # noqa: S324 - a git-like id


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _label_color(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:6]


def user_json(api: str, web: str, login: str, uid: int, kind: str = "User") -> JSON:
    """A ``simple-user`` object as GitHub renders it."""
    url = f"{api}/users/{q(login)}"
    html = f"{web}/apps/{login.removesuffix('[bot]')}" if kind == "Bot" else f"{web}/{q(login)}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("BOT" if kind == "Bot" else "U", uid),
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
    open_issues: int = 0,
) -> JSON:
    """A repository object with every field GitHub sends (fits repository and full-repository)."""
    full = f"{owner['login']}/{name}"
    url = f"{api}/repos/{full}"
    host = urllib.parse.urlsplit(web).hostname or "github.com"
    return {
        "id": rid,
        "node_id": node_id("R", rid),
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
        "updated_at": created_at,
        "pushed_at": created_at,
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
        "node_id": node_id("LA", lid),
        "url": f"{api}/repos/{full_name}/labels/{q(name)}",
        "name": name,
        "color": _label_color(name),
        "default": False,
        "description": description,
    }


Branch = tuple[str, str]  # (ref, sha)


def _end(repo: JSON, branch: Branch) -> JSON:
    """A pull request's head or base: ``branch`` in ``repo``."""
    owner = repo["owner"]
    ref, sha = branch
    return {"label": f"{owner['login']}:{ref}", "ref": ref, "sha": sha, "user": owner, "repo": repo}


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
    head: Branch,
    base: Branch,
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
    data: JSON = {
        "url": url,
        "id": pr_id,
        "node_id": node_id("PR", pr_id),
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
        "statuses_url": f"{api}/repos/{full_name}/statuses/{head[1]}",
        "head": _end(repo, head),
        "base": _end(repo, base),
        "_links": _links(api, web, full_name, number, head[1]),
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


def reactions(url: str) -> JSON:
    counts = dict.fromkeys(
        ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0
    )
    return {"url": f"{url}/reactions", "total_count": 0, **counts}


def pull_minimal(repo: JSON, number: int, pr_id: int, head: Branch, base: Branch) -> JSON:
    """A ``pull-request-minimal`` (as check runs and workflow runs list them) of a pull request
    in ``repo`` (a repository object, or its id, url and name)."""
    return {
        "url": f"{repo['url']}/pulls/{number}",
        "id": pr_id,
        "number": number,
        "head": {"ref": head[0], "sha": head[1], "repo": _repo_ids(repo)},
        "base": {"ref": base[0], "sha": base[1], "repo": _repo_ids(repo)},
    }


def _repo_ids(repo: JSON) -> JSON:
    return {"id": repo["id"], "url": repo["url"], "name": repo["name"]}
