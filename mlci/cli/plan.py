"""`mlci plan`: the DVC pipeline split into jobs for runners (docs/plan.md)."""

from __future__ import annotations

import json

import click

from mlci.cli.failures import handle_errors
from mlci.cli.options import directory, format_option

__all__ = ["plan"]


@click.command()
@click.argument("targets", nargs=-1)
@format_option("terminal", "json")
@handle_errors
def plan(targets: tuple[str, ...], fmt: str) -> None:
    """Plan `mlci run TARGETS` across runners: which stages run or are restored from
    DVC's run-cache, split into a shared upstream, parallel branches and a join.

    --format json is a GitHub Actions matrix (docs/plan.md).
    """
    from mlci import api
    from mlci.plan.render import render_plan

    result = api.plan(directory(), targets=targets)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        render_plan(result)
