"""`mlci init`: set up CI in a git + DVC repository."""

from __future__ import annotations

from pathlib import Path

import click

from mlci import console
from mlci.cli.failures import handle_errors
from mlci.cli.options import directory

__all__ = ["init"]


@click.command()
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A CSV or Parquet dataset: a starter suite from its columns, and a [tool.mlci.data] entry. Repeatable.",
)
@click.option(
    "--ref",
    default=None,
    help="The ref of mlci's reusable workflows to call, pinned to its commit SHA "
    "[default: this mlci's release tag].",
)
@click.option(
    "--repo",
    default=None,
    metavar="OWNER/NAME",
    help="The repository of mlci's reusable workflows [default: mlci-dev/mlci].",
)
@click.option(
    "--runner",
    default=None,
    help="Comma-separated runner labels of the pipeline jobs, e.g. self-hosted,linux,gpu [default: ubuntu-latest].",
)
@click.option(
    "--mlci-version",
    default=None,
    help="The mlci the workflows install (actions/setup `version`) [default: the workflows' own commit].",
)
@click.option("--force", is_flag=True, help="Overwrite files that differ from what init writes.")
@click.option("--dry-run", is_flag=True, help="Show the diff; write nothing.")
@handle_errors
def init(
    data: tuple[Path, ...],
    ref: str | None,
    repo: str | None,
    runner: str | None,
    mlci_version: str | None,
    force: bool,
    dry_run: bool,
) -> None:
    """Set up CI in a git + DVC repository: workflows, [tool.mlci], gx/.

    Writes .github/workflows/mlci-*.yml (calling mlci's reusable workflows at a
    pinned ref), merges [tool.mlci] into pyproject.toml, and a gx/ skeleton.
    A file that differs from what init would write is left alone unless --force.
    """
    from mlci import api

    labels = tuple(label.strip() for label in (runner or "").split(",") if label.strip())
    plan = api.init(
        directory(),
        data=data,
        repo=repo,
        ref=ref,
        runner=labels,
        mlci_version=mlci_version,
        force=force,
        dry_run=dry_run,
    )
    if dry_run:
        click.echo(plan.diff(), nl=False)
    verbs = {"create": "created", "update": "updated", "conflict": "overwrote"}
    if dry_run:
        verbs = {"create": "would create", "update": "would update", "conflict": "differs"}
    for change in plan.pending:
        detail = f"  ({change.reason})" if change.reason and change.action == "update" else ""
        console.info(f"{verbs[change.action]:<13} {change.path}{detail}")
    if not plan.pending:
        console.success("nothing to change: every file is as mlci init writes it")
        return
    if dry_run:
        plan.check(force=force)
        console.info("dry run: nothing written")
        return
    console.success(f"mlci init wrote {len(plan.pending)} files. Next steps:")
    from mlci.render import render_steps

    render_steps(plan.next_steps)
