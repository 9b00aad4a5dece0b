"""`mlci retrain`: merge new labelled data and propose it as a pull request."""

from __future__ import annotations

import json
import sys

import click

from mlci import console
from mlci.cli.failures import handle_errors
from mlci.cli.options import directory, format_option, show_step

__all__ = ["retrain"]


@click.command()
@click.argument("source", required=False)
@click.option(
    "--data", "name", default=None, help="The [tool.mlci.data] dataset [default: the only one]."
)
@click.option("--branch", default=None, help="Branch name [default: mlci/retrain-<dataset>-<md5>].")
@click.option(
    "--no-push", is_flag=True, help="Commit the branch locally: no dvc/git push, no pull request."
)
@click.option("--dry-run", is_flag=True, help="Merge and validate only; write nothing.")
@click.option(
    "--token", envvar="GITHUB_TOKEN", default=None, help="GitHub token for the pull request."
)
@format_option("terminal", "json")
@handle_errors
def retrain(
    source: str | None,
    name: str | None,
    branch: str | None,
    no_push: bool,
    dry_run: bool,
    token: str | None,
    fmt: str,
) -> None:
    """Merge new labelled data into a dataset and propose it as a pull request.

    SOURCE: a CSV file, a folder of them, or a URL [default: the feedback store's
    feedback-*.csv]. New rows are appended, exact duplicates dropped, the result
    validated, `dvc add`-ed and pushed, and a pull request opened whose CI reports
    the metric change. Nothing new: exit 0, no branch, no pull request.
    """
    from mlci import api, ci
    from mlci.render import render_validation

    result = api.retrain(
        directory(),
        source,
        name=name,
        branch=branch,
        push=not no_push,
        dry_run=dry_run,
        token=token,
        step=show_step,
    )
    ci.set_output("status", result.status)
    ci.set_output("pull-request", result.pull_url or "")
    if result.body and result.status != "nothing-new":
        ci.add_summary(result.body)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    elif result.status == "invalid" and result.validation is not None:
        render_validation(result.validation)
    if result.status == "invalid":
        console.error(result.message)
        sys.exit(1)
    if fmt == "json":
        return
    if result.status != "nothing-new":
        added = f"{result.rows_added} new rows ({result.rows_before} → {result.rows_after})"
        dropped = result.duplicates_existing + result.duplicates_new
        console.info(f"{result.path}: {added}, {dropped} duplicates dropped")
    if result.status in ("opened", "pushed", "committed"):
        console.success(result.message)
    else:
        console.info(result.message)
