"""`mlci report`: compute or load a report, render it, post it, and exit as it says."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlci import console
from mlci.cli.failures import handle_errors
from mlci.cli.options import directory, format_option
from mlci.errors import UsageError

if TYPE_CHECKING:
    from mlci.report.model import Report

__all__ = ["report"]


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocking} is a file, not a folder" if blocking else exc.strerror or str(exc)
        raise UsageError(f"{path}: cannot write: {why}") from None


def _saved_report(source: Path, report_id: str) -> Report:
    """`report --from`: the saved report; the options that compute one are refused with it."""
    from mlci import api

    ctx = click.get_current_context()
    computing = {"base": "--base", "head": "--head", "all_params": "--all", "pull": "--pull"}
    given = [
        flag
        for name, flag in computing.items()
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        raise click.UsageError(
            f"--from renders a saved report: {', '.join(given)} only apply when computing one"
        )
    result = api.load_report(source)
    result.id = report_id or result.id
    return result


@click.command()
@click.option(
    "--base",
    default=None,
    help="Revision to compare with [default: the PR's base, else the merge-base with the default branch].",
)
@click.option("--head", default="workspace", show_default=True, help="Revision to report on.")
@format_option("terminal", "markdown", "json")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file.",
)
@click.option(
    "--all", "all_params", is_flag=True, help="Show every param, not only the changed ones."
)
@click.option(
    "--precision", type=click.IntRange(0, 12), default=None, help="Significant digits shown."
)
@click.option(
    "--pull",
    is_flag=True,
    help="Fetch DVC-cached metrics and plots missing from the local cache "
    "(exit 3 when the DVC remote cannot be reached).",
)
@click.option("--id", "report_id", default="", help="Report id (one PR comment per id).")
@click.option("--post", is_flag=True, help="Post (or update) the report as a pull request comment.")
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    default=None,
    show_envvar=True,
    help="GitHub token for --post.",
)
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Render (and --post) a report saved with --format json instead of computing one; "
    "no repository is read. With --post in a workflow_run job, the pull request and commit "
    "come from the event, and each validation in the report becomes a check run.",
)
@click.option("--check", is_flag=True, help="Exit 1 when a validation in the report failed.")
@handle_errors
def report(
    base: str | None,
    head: str,
    fmt: str,
    output: Path | None,
    all_params: bool,
    precision: int | None,
    pull: bool,
    report_id: str,
    post: bool,
    token: str | None,
    source: Path | None,
    check: bool,
) -> None:
    """Compare metrics, params, data and pipeline between two revisions."""
    from mlci import api, ci
    from mlci.report import markdown

    if source is not None:
        result = _saved_report(source, report_id)
    else:
        result = api.report(
            directory(),
            base=base,
            head=head,
            all_params=all_params,
            pull=pull,
            report_id=report_id,
        )
    cfg = api.load_config(directory())
    digits = precision if precision is not None else cfg.report.precision
    if fmt == "json":
        text = json.dumps(result.to_dict(), indent=2) + "\n"
    elif fmt == "markdown":
        text = markdown.render(result, precision=digits)
    else:
        text = ""
    if output:
        _write(output, text or markdown.render(result, precision=digits))
        console.info(f"report written to {output}")
    elif fmt == "terminal":
        from mlci.report import terminal

        terminal.render(result, precision=digits)
    else:
        click.echo(text, nl=False)
    if ci.in_actions():
        ci.add_summary(markdown.render(result, precision=digits))
        ci.set_output("metrics-changed", str(len(result.changed_metrics)))
        ci.set_output("report-json", json.dumps(result.to_dict()))
    context = ci.context()
    if post or (cfg.report.post and context.in_actions and context.is_pull_request):
        posted = api.post_report(
            result, token=token, precision=digits, check_runs=source is not None
        )
        for line in (posted.message, *posted.check_runs):
            console.info(line)
        ci.set_output("comment-url", posted.comment_url or "")
    _exit_on_bad_input(result.problems)
    if check and any(not r.get("success", True) for r in result.validation):
        console.error("a validation failed (see the report)")
        sys.exit(1)


def _exit_on_bad_input(problems: list[str]) -> None:
    """Files DVC would reject or cannot parse: the rest was reported; exit 2 so CI sees it."""
    for line in problems:
        console.error(line)
    if problems:
        sys.exit(2)
