"""The pull request of `mlci retrain`: its title, the commit message, the body (the data
diff, every name and value from the data escaped), and opening it unless one exists."""

from __future__ import annotations

from collections.abc import Mapping

from mlci import ci
from mlci.report import safe
from mlci.retrain.result import RetrainResult, Step

_MARKER = "<!-- mlci-retrain -->"
_MAX_FILES_SHOWN = 50


def propose(
    result: RetrainResult,
    *,
    token: str | None,
    env: Mapping[str, str] | None,
    step: Step,
    pushed: bool,
) -> RetrainResult:
    """Open the pull request of the pushed branch, unless one (open or closed) exists for it."""
    from mlci import github

    assert result.branch is not None  # noqa: S101 (set by the caller)
    context = ci.context(env)
    token = token or context.token
    result.status = "pushed" if pushed else "exists"
    if not (context.repository and token):
        missing = "GITHUB_REPOSITORY" if not context.repository else "a GitHub token"
        result.message = (
            f"{'pushed' if pushed else 'found'} {result.branch} on origin; no pull request opened "
            f"(no {missing}): open one from {result.branch} into {result.base}"
        )
        return result
    client = github.Client(token, context.repository, api_url=context.api_url)
    existing = github.pulls_from(client, result.branch)
    if existing:
        pull = next((p for p in existing if p.state == "open"), existing[0])
        result.status = "exists"
        result.pull_number, result.pull_url = pull.number, pull.url
        result.message = (
            f"this data is already proposed in #{pull.number} ({pull.state}): {pull.url}"
        )
        return result
    step(f"opening a pull request from {result.branch} into {result.base}")
    pull = github.create_pull(
        client,
        head=result.branch,
        base=result.base or "main",
        title=_title(result),
        body=result.body,
    )
    result.status = "opened"
    result.pull_number, result.pull_url = pull.number, pull.url
    result.message = f"opened #{pull.number}: {pull.url}"
    return result


def _title(result: RetrainResult) -> str:
    return f"mlci retrain: {result.rows_added} new rows for {result.dataset}"


def commit_message(result: RetrainResult) -> str:
    return (
        f"{_title(result)}\n\n"
        f"{result.path}: {result.rows_before} -> {result.rows_after} rows "
        f"(md5 {result.md5_before[:8]} -> {result.md5_after[:8]}), "
        f"from {len(result.files)} file(s) of {result.source}.\n"
    )


def pull_body(result: RetrainResult) -> str:
    """The data diff as markdown; every name and value from the data is escaped."""
    dropped = result.duplicates_existing + result.duplicates_new
    lines = [
        _MARKER,
        f"## {safe.inline(_title(result))}",
        "",
        f"New labelled data from {safe.code(result.source)} merged into "
        f"{safe.code(result.path)} (appended; exact duplicates dropped).",
        "",
        "| | rows |",
        "|---|---:|",
        f"| before | {result.rows_before} |",
        f"| added | {result.rows_added} |",
        f"| duplicates dropped | {dropped} ({result.duplicates_existing} already in the dataset, "
        f"{result.duplicates_new} repeated in the new data) |",
        f"| after | {result.rows_after} |",
        "",
        "| | before | after |",
        "|---|---|---|",
        f"| md5 of {safe.code(result.path, table=True)} | {safe.code(result.md5_before or '—', table=True)} "
        f"| {safe.code(result.md5_after or '—', table=True)} |",
    ]
    if result.out_md5_after:
        lines.append(
            f"| {safe.code(result.out, table=True)} in {safe.code(result.dvcfile, table=True)} "
            f"| {safe.code(result.out_md5_before or '—', table=True)} "
            f"| {safe.code(result.out_md5_after, table=True)} |"
        )
    if result.label:
        lines += [
            "",
            f"Per {safe.code(result.label)}:",
            "",
            "| label | before | added | after |",
            "|---|---:|---:|---:|",
        ]
        for key in _count_keys(result):
            before = result.labels_before.get(key, 0)
            added = result.labels_added.get(key, 0)
            lines.append(f"| {safe.cell(key)} | {before} | {added} | {before + added} |")
    if result.dropped_columns:
        names = ", ".join(safe.code(c) for c in result.dropped_columns[:20])
        lines += ["", f"Columns not in the dataset, dropped: {names}"]
    shown = result.files[:_MAX_FILES_SHOWN]
    table = ["| file | rows | added | duplicates |", "|---|---:|---:|---:|"]
    table += [f"| {safe.cell(f.name)} | {f.rows} | {f.added} | {f.duplicates} |" for f in shown]
    if len(result.files) > len(shown):
        table.append(f"| … {len(result.files) - len(shown)} more | | | |")
    lines += ["", safe.details(f"{len(result.files)} new data file(s)", "\n".join(table))]
    if result.validation is not None:
        verdict = "passed" if result.validation.success else "failed"
        lines += [
            "",
            f"Validation ({safe.code(result.path)}, its expectation suite): {verdict}, "
            f"{safe.inline(result.validation.summary)}.",
        ]
    lines += [
        "",
        "This pull request's own CI re-runs the pipeline on the new data and reports the "
        "metric change against the base branch.",
    ]
    return "\n".join(lines) + "\n"


def _count_keys(result: RetrainResult) -> list[str]:
    keys = list(result.labels_before)
    keys += [k for k in result.labels_added if k not in result.labels_before]
    return keys
