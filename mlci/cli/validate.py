"""`mlci validate data` and `mlci validate model`: run, show, publish, exit 1 on failure."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from mlci import console
from mlci.cli.failures import handle_errors
from mlci.cli.options import directory

if TYPE_CHECKING:
    from mlci.validate.results import Result as ValidationResult

__all__ = ["validate"]


@click.group()
def validate() -> None:
    """Validate the data (Great Expectations) or the model (gates)."""


def _finish_validation(result: ValidationResult, token: str | None) -> None:
    from mlci.render import render_validation
    from mlci.validate import publish

    if note := result.extra.get("note"):
        console.info(str(note))
        return
    render_validation(result)
    for line in publish.publish(result, token=token):
        console.info(line)
    if not result.success:
        sys.exit(1)


@validate.command("data")
@click.argument("names", nargs=-1)
@click.option(
    "--docs", is_flag=True, help="Build Great Expectations Data Docs under .mlci/gx-docs."
)
@click.option("--base", default=None, help="Revision whose data the profile is compared with.")
@click.option(
    "--token", envvar="GITHUB_TOKEN", default=None, help="GitHub token for the check run."
)
@handle_errors
def validate_data(names: tuple[str, ...], docs: bool, base: str | None, token: str | None) -> None:
    """Run the expectation suites of [tool.mlci.data] datasets. Exit 1 when one fails."""
    from mlci import api

    _finish_validation(api.validate_data(directory(), names=names, docs=docs, base=base), token)


@validate.command("model")
@click.option("--base", default=None, help="Revision the relative gates compare with.")
@click.option(
    "--head", default="workspace", show_default=True, help="Revision whose metrics are gated."
)
@click.option(
    "--no-checks", is_flag=True, help="Gates only: skip the model size, load and latency checks."
)
@click.option(
    "--token", envvar="GITHUB_TOKEN", default=None, help="GitHub token for the check run."
)
@handle_errors
def validate_model(base: str | None, head: str, no_checks: bool, token: str | None) -> None:
    """Evaluate [tool.mlci.gates] and the model checks. Exit 1 when an error gate fails."""
    from mlci import api

    _finish_validation(
        api.validate_model(directory(), base=base, head=head, checks=not no_checks), token
    )
