"""Validation results into GitHub Actions: log annotations, the job summary, a check run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mlci import ci
from mlci.errors import ServiceError
from mlci.report import safe
from mlci.validate.results import Check, Result, drift

if TYPE_CHECKING:
    from mlci import github

__all__ = ["markdown", "publish"]


def markdown(result: Result) -> str:
    verdict = "passed" if result.success else "failed"
    lines = [f"### mlci validate {result.kind}: {verdict}", "", safe.inline(result.summary), ""]
    lines += ["| | check | target | observed | expected |", "|---|---|---|---|---|"]
    mark = {"pass": "✓", "fail": "✗", "warn": "!", "no-baseline": "·", "skipped": "·"}
    for check in sorted(result.checks, key=lambda c: (not c.failed, c.verdict != "warn")):
        lines.append(
            f"| {mark[check.verdict]} | {safe.cell(f'{check.group}: {check.name}')} | {safe.cell(check.target)} "
            f"| {safe.cell(check.observed)} | {safe.cell(check.expected)} |"
        )
    if drifted := drift(result.extra):
        lines += ["", *(f"Drift: {safe.inline(line)}  " for line in drifted)]
    return "\n".join(lines) + "\n"


def _level(check: Check) -> ci.AnnotationLevel:
    return "error" if check.failed and check.severity == "error" else "warning"


def publish(
    result: Result, *, token: str | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    """What was published, one line each; nothing outside GitHub Actions."""
    context = ci.context(env)
    if not context.in_actions:
        return []
    done: list[str] = []
    for check in result.checks:
        if check.failed or check.verdict == "warn":
            ci.annotate(
                _level(check),
                check.message or f"{check.name}: {check.verdict}",
                file=check.file,
                line=check.line,
                title=f"mlci {result.kind}: {check.group} {check.name}",
                env=env,
            )
    ci.add_summary(markdown(result), env=env)
    token = token or context.token
    head_sha = context.event.get("pull_request", {}).get("head", {}).get("sha") or context.sha
    if not (token and context.repository and head_sha):
        return done
    from mlci import github

    try:
        client = github.Client(token, context.repository, api_url=context.api_url)
    except ServiceError as exc:
        return [*done, f"no check run: {exc.message}"]
    # a fork's read-only token cannot create check runs: the log annotations still stand
    done.append(check_run(client, result, head_sha, context.run_url))
    return done


def check_run(client: github.Client, result: Result, head_sha: str, details_url: str | None) -> str:
    """The `mlci/<kind>` check run of a validation on `head_sha`; what happened, one line."""
    from mlci import github

    try:
        url = github.create_check_run(
            client,
            f"mlci/{result.kind}",
            head_sha,
            success=result.success,
            title=f"{result.kind} validation {'passed' if result.success else 'failed'}",
            summary=markdown(result),
            findings=[
                dataclasses.asdict(c) for c in result.checks if c.failed or c.verdict == "warn"
            ],
            details_url=details_url,
        )
    except ServiceError as exc:
        return f"no check run mlci/{result.kind}: {exc.message}"
    return f"check run mlci/{result.kind}: {url}"
