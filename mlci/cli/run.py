"""`mlci run`: reproduce the DVC pipeline and record the run."""

from __future__ import annotations

import click

from mlci.cli.failures import handle_errors
from mlci.cli.options import directory

__all__ = ["run"]


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--force", is_flag=True, help="Re-run stages even when nothing changed.")
@click.option("--no-pull", is_flag=True, help="Do not pull data and the run-cache first.")
@click.option("--no-push", is_flag=True, help="Do not push outputs and the run-cache afterwards.")
@click.option("--no-tracking", is_flag=True, help="Record no MLflow run.")
@click.option(
    "--restore-only",
    is_flag=True,
    help="Start no stage command: each stage must be unchanged or restored from the run-cache.",
)
@click.option(
    "--allow-run",
    "allow_run",
    multiple=True,
    metavar="STAGE",
    help="With --restore-only, a stage that may still run (repeatable; the fan-out's join).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show the stage commands' output and library messages."
)
@handle_errors
def run(
    targets: tuple[str, ...],
    force: bool,
    no_pull: bool,
    no_push: bool,
    no_tracking: bool,
    restore_only: bool,
    allow_run: tuple[str, ...],
    verbose: bool,
) -> None:
    """Reproduce the DVC pipeline: pull, repro, push, record an MLflow run.

    Only stages whose deps, params or command changed run; the rest are skipped
    or restored from DVC's run-cache. The outcome is written to .mlci/run.json.
    """
    from mlci import api
    from mlci.errors import UsageError
    from mlci.render import RunProgress, render_run

    if allow_run and not restore_only:
        raise UsageError("--allow-run is for --restore-only: without it every stage may run")

    progress = RunProgress(verbose=verbose, root=api.project_root(directory()))
    result = api.run(
        directory(),
        targets=targets,
        force=force,
        pull=not no_pull,
        push=not no_push,
        tracking_enabled=not no_tracking,
        restore_only=restore_only,
        allow_run=tuple(t for arg in allow_run for t in arg.split()),
        progress=progress,
    )
    render_run(result)
