"""`mlci doctor`: check what the commands need before they need it."""

from __future__ import annotations

import json
import sys

import click

from mlci.cli.failures import handle_errors
from mlci.cli.options import directory, format_option

__all__ = ["doctor"]


@click.command()
@format_option("terminal", "json")
@handle_errors
def doctor(fmt: str) -> None:
    """Check the repository, DVC remote, MLflow, GitHub token, runner, GPUs and Docker."""
    from mlci import api
    from mlci.render import render_checks

    rows = api.doctor(directory())
    if fmt == "json":
        click.echo(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        render_checks(rows)
    if any(row.status == "fail" for row in rows):
        sys.exit(1)
