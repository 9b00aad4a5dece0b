"""Deployments and their statuses: create one (refused while the commit's required statuses are
not all successful), list them, post a status (a success makes earlier ones inactive)."""

from __future__ import annotations

import copy
from typing import Any

from tests.github_standin.messages import Ctx, Fail, Resp, created, listing
from tests.github_standin.objects import node_id, now
from tests.github_standin.state import Repo, State
from tests.github_standin.views import user

JSON = dict[str, Any]


def list_deployments(st: State, ctx: Ctx) -> Resp:
    filters = {k: ctx.query[k] for k in ("sha", "ref", "task", "environment") if k in ctx.query}
    matching = [
        copy.deepcopy(d)
        for d in sorted(ctx.r.deployments.values(), key=lambda d: -d["id"])
        if all(d[k] == v for k, v in filters.items())
    ]
    return listing(st, ctx, matching)


def create_deployment(st: State, ctx: Ctx) -> Resp:
    body = ctx.body
    ref = body["ref"]
    sha = st.resolve(ctx.r, ref)
    if sha is None:
        raise Fail(422, f"No ref found for: {ref}")
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
                "contexts": [{"context": c, "state": latest.get(c, "missing")} for c in failing],
            }
        ]
        raise Fail(409, f"Conflict: Commit status checks failed for {ref}.", errors)
    did = next(st.ids)
    stamp = now()
    environment = body.get("environment", "production")
    api = f"{st.url}/repos/{ctx.r.full_name}"
    deployment = {
        "url": f"{api}/deployments/{did}",
        "id": did,
        "node_id": node_id("DE", did),
        "sha": sha,
        "ref": ref,
        "task": body.get("task", "deploy"),
        "payload": body.get("payload", {}),
        "original_environment": environment,
        "environment": environment,
        "description": body.get("description", ""),
        "creator": user(st, ctx.account.login),
        "created_at": stamp,
        "updated_at": stamp,
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
    return created(deployment)


def list_deployment_statuses(st: State, ctx: Ctx) -> Resp:
    deployment = ctx.find(ctx.r.deployments, "deployment_id")
    history = ctx.r.deployment_statuses[deployment["id"]]
    return listing(st, ctx, [copy.deepcopy(s) for s in reversed(history)])


def _new_status(
    st: State, repo: Repo, deployment: JSON, state: str, login: str, body: JSON
) -> JSON:
    sid = next(st.ids)
    stamp = now()
    log_url = body.get("log_url", body.get("target_url", ""))
    status = {
        "url": f"{deployment['url']}/statuses/{sid}",
        "id": sid,
        "node_id": node_id("DES", sid),
        "state": state,
        "creator": user(st, login),
        "description": body.get("description", ""),
        "environment": deployment["environment"],
        "target_url": log_url,
        "log_url": log_url,
        "environment_url": body.get("environment_url", ""),
        "created_at": stamp,
        "updated_at": stamp,
        "deployment_url": deployment["url"],
        "repository_url": f"{st.url}/repos/{repo.full_name}",
        "performed_via_github_app": None,
    }
    repo.deployment_statuses[deployment["id"]].append(status)
    deployment["updated_at"] = stamp
    return status


def create_deployment_status(st: State, ctx: Ctx) -> Resp:
    deployment = ctx.find(ctx.r.deployments, "deployment_id")
    body = ctx.body
    if "environment" in body:
        deployment["environment"] = body["environment"]
    status = _new_status(st, ctx.r, deployment, body["state"], ctx.account.login, body)
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
                _new_status(st, ctx.r, other, "inactive", ctx.account.login, {})
    return created(status)
