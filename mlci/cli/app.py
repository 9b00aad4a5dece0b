"""The `mlci` group: its global options, the one list of its commands, and the entry point."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlci import __version__, console
from mlci.cli import (
    config,
    doctor,
    fanout,
    init,
    plan,
    registry,
    release,
    report,
    retrain,
    run,
    validate,
)
from mlci.cli.failures import closed_pipe
from mlci.cli.fastexit import arm

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mlci")
@click.option("--traceback", is_flag=True, hidden=True, help="Show the full traceback of an error.")
@click.option(
    "-C",
    "--directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Run as if mlci was started in this directory.",
)
@click.pass_context
def cli(ctx: click.Context, traceback: bool, directory: Path | None) -> None:
    """CI-native MLOps for DVC projects: run, validate, report, release."""
    console.fit_encoding()
    ctx.obj = {"directory": directory}


# every command of `mlci`, registered here and nowhere else (`--help` lists them sorted)
_COMMANDS: tuple[click.Command, ...] = (
    run.run,
    plan.plan,
    config.config_command,
    doctor.doctor,
    init.init,
    report.report,
    validate.validate,
    registry.models,
    registry.register,
    registry.promote,
    registry.rollback,
    release.release,
    retrain.retrain,
    fanout.fanout,
)
for _command in _COMMANDS:
    cli.add_command(_command)


def main() -> None:
    try:
        cli(prog_name="mlci")
    except SystemExit as exc:
        code = exc.code
        try:
            # click met the closed pipe itself (--help, usage errors): it exits 1, stdout wrapped
            if type(sys.stdout).__name__ == "_PacifyFlushWrapper":
                closed_pipe()
            # output still buffered when click exits: a closed pipe shows here, not in a command
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                closed_pipe()
        except SystemExit as closed:
            code = closed.code
        # the atexit handlers run, then the process ends with this code (mlci/cli/fastexit.py)
        sys.exit(arm(code))
