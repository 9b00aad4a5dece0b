"""Webhook payloads: ``make_event`` builds a complete one for an event (the event files handed to
mlci or to ``act``) and ``validate_event`` checks one against GitHub's webhook schemas."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.github_standin.contract import WEBHOOKS_SPEC, contract_dir, webhook_validators
from tests.github_standin.objects import (
    fake_sha,
    label_json,
    node_id,
    pull_json,
    pull_minimal,
    repo_json,
    user_json,
)

JSON = dict[str, Any]


class EventValidationError(ValueError):
    """A webhook payload does not match GitHub's schema for its event."""


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
    validators = webhook_validators(str(path))
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
            head=(head_ref, head_sha),
            base=(base_ref, base_sha),
            state="closed" if closed else "open",
            created_at=created,
            updated_at=updated,
            closed_at=updated if closed else None,
            merged_at=updated if closed and merged else None,
            merge_commit_sha=fake_sha("merge", head_sha, base_sha),
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
            "tree_id": fake_sha("tree", after),
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
            "node_id": node_id("W", 77_000_001),
            "path": ".github/workflows/ci.yml",
            "state": "active",
            "updated_at": updated,
            "url": f"{api}/repos/{repo}/actions/workflows/77000001",
        }
        pulls = [
            pull_minimal(
                repository,
                number,
                1_800_000_000 + number,
                (head_ref, head_sha),
                (base_ref, base_sha),
            )
        ]
        run = {
            "id": run_id,
            "name": workflow,
            "node_id": node_id("WFR", run_id),
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
            "check_suite_node_id": node_id("CS", 23_000_001),
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
                "tree_id": fake_sha("tree", head_sha),
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
