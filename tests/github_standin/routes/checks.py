"""Commit statuses and check runs: post a status; create, get and update a check run (only an
installation token may, and only the app that created a run may change it)."""

from __future__ import annotations

import copy
from typing import Any

from tests.github_standin.messages import Ctx, Fail, Resp, created, found, known_commit
from tests.github_standin.objects import node_id, now, pull_minimal
from tests.github_standin.state import State
from tests.github_standin.views import app, user

JSON = dict[str, Any]

CHECK_OUTPUT_LIMIT = 65_535  # check run output.summary / output.text


def create_status(st: State, ctx: Ctx) -> Resp:
    sha = known_commit(ctx.r, ctx.params["sha"])
    sid = next(st.ids)
    stamp = now()
    creator = user(st, ctx.account.login)
    status = {
        "url": f"{st.url}/repos/{ctx.r.full_name}/statuses/{sha}",
        "avatar_url": creator["avatar_url"],
        "id": sid,
        "node_id": node_id("SC", sid),
        "state": ctx.body["state"],
        "description": ctx.body.get("description"),
        "target_url": ctx.body.get("target_url"),
        "context": ctx.body.get("context", "default"),
        "created_at": stamp,
        "updated_at": stamp,
        "creator": creator,
    }
    ctx.r.statuses.append((sha, status))
    return created(status)


def _check_output(run: JSON, output: JSON | None) -> None:
    if output is None:
        return
    for key in ("summary", "text"):
        text = output.get(key)
        if text is not None and len(text) > CHECK_OUTPUT_LIMIT:
            message = f"Invalid request.\n\nOnly {CHECK_OUTPUT_LIMIT} characters are allowed; {len(text)} were supplied."
            raise Fail(422, message)
    annotations = output.get("annotations") or []
    if len(annotations) > 50:
        raise Fail(422, "Invalid request.\n\nOnly 50 annotations are allowed per request.")
    current = run["output"]
    for key in ("title", "summary", "text"):
        if key in output:
            current[key] = output[key]
    current["annotations_count"] += len(annotations)


def _apply_check_fields(run: JSON, body: JSON) -> None:
    for key in ("name", "details_url", "external_id", "started_at"):
        if key in body:
            run[key] = body[key]
    status = body.get("status", run["status"])
    conclusion = body.get("conclusion", run["conclusion"])
    if "conclusion" in body:
        status = "completed"  # providing a conclusion completes the run
    if status == "completed" and not conclusion:
        raise Fail(422, 'Invalid request.\n\n"conclusion" wasn\'t supplied.')
    run["status"], run["conclusion"] = status, conclusion
    if status == "completed":
        run["completed_at"] = body.get("completed_at") or run["completed_at"] or now()
    _check_output(run, body.get("output"))


def _app_only(ctx: Ctx) -> None:
    if ctx.account.type != "Bot":
        raise Fail(403, "You must authenticate via a GitHub App.")


def create_check_run(st: State, ctx: Ctx) -> Resp:
    _app_only(ctx)
    sha = known_commit(ctx.r, ctx.body["head_sha"])
    rid = next(st.ids)
    api = f"{st.url}/repos/{ctx.r.full_name}"
    html = f"{st.url}/{ctx.r.full_name}/runs/{rid}"
    suite = ctx.r.check_suites.setdefault(sha, next(st.ids))
    repo = {"id": ctx.r.id, "url": api, "name": ctx.r.name}
    pulls = [
        pull_minimal(repo, i.number, p.id, (p.head_ref, p.head_sha), (p.base_ref, p.base_sha))
        for i, p in ctx.r.pulls()
        if i.state == "open" and p.head_sha == sha
    ]
    run: JSON = {
        "id": rid,
        "head_sha": sha,
        "node_id": node_id("CR", rid),
        "external_id": "",
        "url": f"{api}/check-runs/{rid}",
        "html_url": html,
        "details_url": html,
        "status": "queued",
        "conclusion": None,
        "started_at": now(),
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
        "app": app(st, ctx.account),
        "pull_requests": pulls,
    }
    _apply_check_fields(run, ctx.body)
    ctx.r.check_runs[rid] = run
    return created(run)


def get_check_run(st: State, ctx: Ctx) -> Resp:
    return found(ctx.find(ctx.r.check_runs, "check_run_id"))


def edit_check_run(st: State, ctx: Ctx) -> Resp:
    run = ctx.find(ctx.r.check_runs, "check_run_id")
    _app_only(ctx)
    if run["app"]["id"] != app(st, ctx.account)["id"]:
        message = (
            "Invalid app_id: a check run can only be modified by the GitHub App that created it."
        )
        raise Fail(403, message)
    updated = copy.deepcopy(run)
    _apply_check_fields(updated, ctx.body)
    run.clear()
    run.update(updated)
    return found(run)
