"""Issues and their comments: get an issue, its labels; list, post, get, edit and delete
comments (the comments mlci's report posts and updates)."""

from __future__ import annotations

import copy

from tests.github_standin.messages import Ctx, Resp, created, found, invalid, listing
from tests.github_standin.objects import node_id, now, reactions
from tests.github_standin.state import State
from tests.github_standin.views import app, association, issue_out, user

COMMENT_BODY_LIMIT = 65_536  # not in the OpenAPI description: GitHub's documented limit


def get_issue(st: State, ctx: Ctx) -> Resp:
    return Resp(200, issue_out(st, ctx.r, ctx.find(ctx.r.issues, "issue_number")))


def list_labels(st: State, ctx: Ctx) -> Resp:
    issue = ctx.find(ctx.r.issues, "issue_number")
    return listing(st, ctx, [copy.deepcopy(ctx.r.labels[name]) for name in issue.labels])


def _check_comment_body(text: str) -> None:
    if len(text) > COMMENT_BODY_LIMIT:
        message = f"body is too long (maximum is {COMMENT_BODY_LIMIT} characters)"
        raise invalid("IssueComment", "body", "custom", message=message)


def list_comments(st: State, ctx: Ctx) -> Resp:
    issue = ctx.find(ctx.r.issues, "issue_number")
    since = ctx.query.get("since")
    comments = [
        copy.deepcopy(c)
        for cid, c in ctx.r.comments.items()
        if ctx.r.comment_issue[cid] == issue.number and (not since or c["updated_at"] >= since)
    ]
    return listing(st, ctx, comments)


def create_comment(st: State, ctx: Ctx) -> Resp:
    issue = ctx.find(ctx.r.issues, "issue_number")
    text = ctx.body["body"]
    _check_comment_body(text)
    cid = next(st.ids)
    api = f"{st.url}/repos/{ctx.r.full_name}"
    kind = "issues" if issue.pull is None else "pull"
    stamp = now()
    comment = {
        "id": cid,
        "node_id": node_id("IC", cid),
        "url": f"{api}/issues/comments/{cid}",
        "html_url": f"{st.url}/{ctx.r.full_name}/{kind}/{issue.number}#issuecomment-{cid}",
        "issue_url": f"{api}/issues/{issue.number}",
        "body": text,
        "user": user(st, ctx.account.login),
        "created_at": stamp,
        "updated_at": stamp,
        "author_association": association(st, ctx.r, ctx.account.login),
        "reactions": reactions(f"{api}/issues/comments/{cid}"),
        # an installation comments as its app's bot, through that app; a user's token, as the user
        "performed_via_github_app": app(st, ctx.account) if ctx.account.type == "Bot" else None,
    }
    ctx.r.comments[cid] = comment
    ctx.r.comment_issue[cid] = issue.number
    issue.updated_at = stamp
    return created(comment)


def get_comment(st: State, ctx: Ctx) -> Resp:
    return found(ctx.find(ctx.r.comments, "comment_id"))


def edit_comment(st: State, ctx: Ctx) -> Resp:
    comment = ctx.find(ctx.r.comments, "comment_id")
    _check_comment_body(ctx.body["body"])
    comment["body"] = ctx.body["body"]
    comment["updated_at"] = now()
    return found(comment)


def delete_comment(st: State, ctx: Ctx) -> Resp:
    comment = ctx.find(ctx.r.comments, "comment_id")
    del ctx.r.comments[comment["id"]], ctx.r.comment_issue[comment["id"]]
    return Resp(204)
