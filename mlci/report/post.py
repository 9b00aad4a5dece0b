"""The report on GitHub: the pull request's comment, the `mlci/report` status, check runs.

In a `workflow_run` job (the fork-safe half of docs/actions.md) the report is a saved
one that anyone could have written: the pull request and the head commit then come
from the trusted event only, never from the report.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mlci import ci, config, git, github
from mlci.errors import UsageError
from mlci.report import markdown
from mlci.report.model import Report, Revision
from mlci.validate import publish

__all__ = ["PostedReport", "post"]

_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class PostedReport:
    message: str  # what was done, one line
    comment_url: str | None = None
    check_runs: list[str] = field(default_factory=list)  # one line each

    def __str__(self) -> str:
        return self.message


def _workflow_run_target(context: ci.CiContext) -> tuple[str, int | None]:
    """The head commit and, when the event lists it, the pull request of a workflow_run."""
    run = context.event.get("workflow_run")
    if not isinstance(run, Mapping):
        run = {}
    head_sha = run.get("head_sha")
    if not isinstance(head_sha, str) or not _SHA.fullmatch(head_sha):
        raise UsageError("the workflow_run event has no head_sha: nothing to post the report on")
    # a fork's pull requests are not listed: the caller then asks GitHub for the commit's
    numbers = [
        p["number"]
        for p in run.get("pull_requests") or []
        if isinstance(p, Mapping)
        and isinstance(p.get("number"), int)
        and isinstance(p.get("head"), Mapping)
        and p["head"].get("sha") == head_sha
    ]
    return head_sha, (numbers[0] if numbers else None)


def _target(context: ci.CiContext, report: Report) -> tuple[Report, str | None, int | None]:
    if context.event_name == "workflow_run":
        trusted, number = _workflow_run_target(context)
        return (
            dataclasses.replace(report, head=Revision(rev=trusted, sha=trusted)),
            trusted,
            number,
        )
    pull = context.event.get("pull_request")
    head = pull.get("head") if isinstance(pull, Mapping) else None
    from_event = head.get("sha") if isinstance(head, Mapping) else None
    head_sha: str | None = (
        (from_event if isinstance(from_event, str) else None)
        or report.head.sha
        or context.sha
        or git.resolve(config.find_root(), "HEAD")
    )
    return report, head_sha, context.pr_number


def _check_runs(
    client: github.Client, report: Report, head_sha: str, details_url: str | None
) -> list[str]:
    return [
        publish.check_run(client, result, head_sha, details_url)
        for result in report.validation_results()
    ]


def post(
    report: Report,
    *,
    token: str | None,
    precision: int = 4,
    env: Mapping[str, str] | None = None,
    check_runs: bool = False,
) -> PostedReport:
    """Post or update the comment, set the status; with `check_runs`, one per validation."""
    context = ci.context(env)
    if not context.repository:
        raise UsageError("GITHUB_REPOSITORY is not set: --post needs owner/name of the repository")
    client = github.Client(
        token or context.token or "", context.repository, api_url=context.api_url
    )
    report, head_sha, number = _target(context, report)
    if number is None and head_sha:
        number = client.pull_for_commit(head_sha)
    if number is None:
        return PostedReport(
            f"no pull request found for {str(head_sha)[:8]}: nothing posted (the report is in the job summary)"
        )
    # room for the history section that upsert_comment appends
    body = markdown.render(report, precision=precision, limit=markdown.COMMENT_LIMIT - 6_000)
    posted = github.upsert_comment(
        client, number, markdown.marker(report.id), body, markdown.headline(report, precision)
    )
    runs: list[str] = []
    if head_sha:
        failed = [r for r in report.validation if not r.get("success", True)]
        client.set_status(
            head_sha,
            "failure" if failed else "success",
            markdown.status_line(report, precision),
            "mlci/report",
            target_url=context.run_url,
        )
        if check_runs:
            runs = _check_runs(client, report, head_sha, _details_url(context))
    verb = "posted" if posted.created else "updated"
    return PostedReport(f"report {verb} on #{number}: {posted.url}", posted.url, runs)


def _details_url(context: ci.CiContext) -> str | None:
    """The run the checks ran in: the pull request's run for a workflow_run job."""
    run = context.event.get("workflow_run")
    url = run.get("html_url") if isinstance(run, Mapping) else None
    return url if isinstance(url, str) else context.run_url
