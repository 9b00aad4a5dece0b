"""The token's view of GitHub: its rate limit, its user, a repository."""

from __future__ import annotations

from typing import Any

from tests.github_standin.messages import DOCS_URL, NOT_ACCESSIBLE, Ctx, Fail, Resp
from tests.github_standin.state import State
from tests.github_standin.views import repo_out, user

JSON = dict[str, Any]


def rate_limit(st: State, ctx: Ctx) -> Resp:
    core = st.rate(ctx.token_text)
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
    return Resp(200, {"resources": resources, "rate": core})


def get_user(st: State, ctx: Ctx) -> Resp:
    if ctx.account.type == "Bot":  # an installation token (GITHUB_TOKEN, an app's) has no user
        raise Fail(
            403,
            NOT_ACCESSIBLE,
            documentation_url=f"{DOCS_URL}/users/users#get-the-authenticated-user",
        )
    data = user(st, ctx.account.login)
    data |= {
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
        "public_repos": sum(1 for r in st.repos.values() if r.owner == ctx.account.login),
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
    return Resp(200, data)


def get_repo(st: State, ctx: Ctx) -> Resp:
    data = repo_out(st, ctx.r)
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
    return Resp(200, data)
