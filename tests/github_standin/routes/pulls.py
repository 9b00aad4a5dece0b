"""Commits and pull requests: a commit, the pull requests that hold it, list, open and get pull
requests."""

from __future__ import annotations

from tests.github_standin.messages import (
    Ctx,
    Fail,
    Resp,
    commit_or_422,
    created,
    invalid,
    listing,
)
from tests.github_standin.state import Pull, State
from tests.github_standin.views import commit_out, pull_out


def commit_pulls(st: State, ctx: Ctx) -> Resp:
    sha = commit_or_422(st, ctx.r, ctx.params["commit_sha"])
    found = [
        pull_out(st, ctx.r, i, p, full=False)
        for i, p in sorted(ctx.r.pulls(), key=lambda ip: -ip[0].number)
        if sha in {p.head_sha, p.merge_commit_sha}
    ]
    return listing(st, ctx, found)


def get_commit(st: State, ctx: Ctx) -> Resp:
    sha = commit_or_422(st, ctx.r, ctx.params["ref"])
    return Resp(200, commit_out(st, ctx.r, ctx.r.commits[sha]))


def list_pulls(st: State, ctx: Ctx) -> Resp:
    state = ctx.query.get("state", "open")
    head = ctx.query.get("head")
    base = ctx.query.get("base")
    pulls = [(i, p) for i, p in ctx.r.pulls() if state in ("all", i.state)]
    if head:
        owner, _, branch = head.rpartition(":")
        pulls = [(i, p) for i, p in pulls if p.head_ref == branch and owner in {"", ctx.r.owner}]
    if base:
        pulls = [(i, p) for i, p in pulls if p.base_ref == base]
    sort = ctx.query.get("sort", "created")
    default_direction = "desc" if sort == "created" else "asc"
    descending = ctx.query.get("direction", default_direction) == "desc"
    key = "updated_at" if sort in {"updated", "long-running", "popularity"} else "created_at"
    pulls.sort(key=lambda ip: (getattr(ip[0], key), ip[0].number), reverse=descending)
    return listing(st, ctx, [pull_out(st, ctx.r, i, p, full=False) for i, p in pulls])


def _refused(message: str) -> Fail:
    error = {"resource": "PullRequest", "code": "custom", "message": message}
    return Fail(422, "Validation Failed", [error])


def create_pull(st: State, ctx: Ctx) -> Resp:
    body = ctx.body
    head = str(body["head"]).rpartition(":")[2]
    base = str(body["base"])
    head_sha = ctx.r.refs.get(f"refs/heads/{head}")
    base_sha = ctx.r.refs.get(f"refs/heads/{base}")
    if head_sha is None:
        raise invalid("PullRequest", "head")
    if base_sha is None:
        raise invalid("PullRequest", "base")
    if any(
        i.state == "open" and p.head_ref == head and p.base_ref == base for i, p in ctx.r.pulls()
    ):
        raise _refused(f"A pull request already exists for {ctx.r.owner}:{head}.")
    if head_sha == base_sha:
        raise _refused(f"No commits between {base} and {head}")
    number = max(ctx.r.issues, default=0) + 1
    title = body.get("title") or head
    issue = st.new_issue(ctx.r, number, title, body.get("body"), ctx.account.login, [])
    issue.pull = Pull(next(st.ids), head, head_sha, base, base_sha, draft=bool(body.get("draft")))
    return created(pull_out(st, ctx.r, issue, issue.pull))


def get_pull(st: State, ctx: Ctx) -> Resp:
    issue = ctx.find(ctx.r.issues, "pull_number")
    if issue.pull is None:
        raise Fail(404, "Not Found")
    return Resp(200, pull_out(st, ctx.r, issue, issue.pull))
