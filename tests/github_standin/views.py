"""The stand-in's state as GitHub renders it: users, repositories, issues, pull requests, commits,
apps, releases and git refs, with every field the REST API sends."""

from __future__ import annotations

import copy
from typing import Any

from tests.github_standin.objects import (
    fake_sha,
    node_id,
    pull_json,
    reactions,
    repo_json,
    user_json,
)
from tests.github_standin.state import ACTIONS_BOT, Account, Commit, Issue, Pull, Repo, State

JSON = dict[str, Any]

_UNSIGNED = {
    "verified": False,
    "reason": "unsigned",
    "signature": None,
    "payload": None,
    "verified_at": None,
}


def unsigned() -> JSON:
    """The ``verification`` of an unsigned commit or tag."""
    return dict(_UNSIGNED)


def user(st: State, login: str) -> JSON:
    account = st.account(login)
    return user_json(st.url, st.url, login, account.id, account.type)


def repo_out(st: State, repo: Repo) -> JSON:
    open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
    return repo_json(
        st.url,
        st.url,
        user(st, repo.owner),
        repo.name,
        repo.id,
        default_branch=repo.default_branch,
        private=repo.private,
        created_at=repo.created_at,
        open_issues=open_issues,
    )


def association(st: State, repo: Repo, login: str) -> str:
    if login == repo.owner:
        return "OWNER"
    return "NONE" if st.account(login).type == "Bot" else "CONTRIBUTOR"


def _comment_count(repo: Repo, issue: Issue) -> int:
    return sum(1 for n in repo.comment_issue.values() if n == issue.number)


def pull_out(st: State, repo: Repo, issue: Issue, pull: Pull, *, full: bool = True) -> JSON:
    return pull_json(
        st.url,
        st.url,
        repo=repo_out(st, repo),
        number=issue.number,
        pr_id=pull.id,
        title=issue.title,
        body=issue.body,
        user=user(st, issue.author),
        labels=[copy.deepcopy(repo.labels[name]) for name in issue.labels],
        head=(pull.head_ref, pull.head_sha),
        base=(pull.base_ref, pull.base_sha),
        state=issue.state,
        draft=pull.draft,
        created_at=issue.created_at,
        updated_at=issue.updated_at,
        closed_at=issue.closed_at,
        merged_at=pull.merged_at,
        merge_commit_sha=pull.merge_commit_sha,
        author_association=association(st, repo, issue.author),
        comments=_comment_count(repo, issue),
        full=full,
    )


def issue_out(st: State, repo: Repo, issue: Issue) -> JSON:
    url = f"{st.url}/repos/{repo.full_name}/issues/{issue.number}"
    kind = "issues" if issue.pull is None else "pull"
    data: JSON = {
        "id": issue.id,
        "node_id": node_id("I", issue.id),
        "url": url,
        "repository_url": f"{st.url}/repos/{repo.full_name}",
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"{st.url}/{repo.full_name}/{kind}/{issue.number}",
        "number": issue.number,
        "state": issue.state,
        "state_reason": "completed" if issue.state == "closed" else None,
        "title": issue.title,
        "body": issue.body,
        "user": user(st, issue.author),
        "labels": [copy.deepcopy(repo.labels[name]) for name in issue.labels],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": _comment_count(repo, issue),
        "closed_at": issue.closed_at,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_by": None,
        "author_association": association(st, repo, issue.author),
        "reactions": reactions(url),
        "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
    }
    if issue.pull is not None:
        pull = f"{st.url}/repos/{repo.full_name}/pulls/{issue.number}"
        html = data["html_url"]
        data["draft"] = issue.pull.draft
        data["pull_request"] = {
            "url": pull,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": issue.pull.merged_at,
        }
    return data


def commit_out(st: State, repo: Repo, commit: Commit) -> JSON:
    api = f"{st.url}/repos/{repo.full_name}"
    person = {"name": commit.author, "email": commit.email, "date": commit.date}
    owner = user(st, repo.owner)
    tree = fake_sha("tree", commit.sha)
    return {
        "sha": commit.sha,
        "node_id": node_id("C", int(fake_sha(commit.sha)[:12], 16)),
        "commit": {
            "author": person,
            "committer": person,
            "message": commit.message,
            "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
            "url": f"{api}/git/commits/{commit.sha}",
            "comment_count": 0,
            "verification": unsigned(),
        },
        "url": f"{api}/commits/{commit.sha}",
        "html_url": f"{st.url}/{repo.full_name}/commit/{commit.sha}",
        "comments_url": f"{api}/commits/{commit.sha}/comments",
        # GitHub sends null when no account matches the commit's e-mail, which the contract's
        # ``nullable`` oneOf (no ``type``) cannot express: commits belong to the repo's owner.
        "author": owner,
        "committer": owner,
        "parents": [
            {
                "sha": p,
                "url": f"{api}/commits/{p}",
                "html_url": f"{st.url}/{repo.full_name}/commit/{p}",
            }
            for p in commit.parents
        ],
        "stats": {"total": 1, "additions": 1, "deletions": 0},
        "files": [],
    }


def app(st: State, account: Account) -> JSON:
    """The GitHub App an installation token (a Bot account) acts through."""
    slug = account.login.removesuffix("[bot]")
    if account.login == ACTIONS_BOT:
        app_id, name, owner = (
            15368,
            "GitHub Actions",
            user_json(st.url, st.url, "github", 9919, "Organization"),
        )
    else:
        app_id, name, owner = (
            account.id,
            slug,
            user_json(st.url, st.url, slug, account.id, "Organization"),
        )
    return {
        "id": app_id,
        "slug": slug,
        "node_id": node_id("A", app_id),
        "owner": owner,
        "name": name,
        "description": f"{name} app",
        "external_url": f"{st.url}/apps/{slug}",
        "html_url": f"{st.url}/apps/{slug}",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-01-02T03:04:05Z",
        "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
        "events": ["check_run", "check_suite", "pull_request", "push"],
    }


def release_out(repo: Repo, release: JSON) -> JSON:
    out = copy.deepcopy(release)
    out["assets"] = [copy.deepcopy(a.data) for a in repo.assets.get(release["id"], {}).values()]
    return out


def ref_out(st: State, repo: Repo, ref: str) -> JSON:
    sha = repo.refs[ref]
    kind = "tag" if sha in repo.tags else "commit"
    api = f"{st.url}/repos/{repo.full_name}/git"
    return {
        "ref": ref,
        "node_id": node_id("REF", int(fake_sha(repo.id, ref)[:12], 16)),
        "url": f"{api}/{ref}",
        "object": {"sha": sha, "type": kind, "url": f"{api}/{kind}s/{sha}"},
    }
