"""The model registry's commands: `models`, `register`, `promote`, `rollback`."""

from __future__ import annotations

import json

import click

from mlci import console
from mlci.cli.failures import handle_errors
from mlci.cli.options import directory, format_option, show_step

__all__ = ["models", "promote", "register", "rollback"]


@click.command()
@click.argument("name", required=False)
@format_option("terminal", "json")
@handle_errors
def models(name: str | None, fmt: str) -> None:
    """The model registry from git tags: versions and stages (GTO's tags; `gto show` JSON)."""
    from mlci import api
    from mlci.registry import view as registry_view

    state = api.models(directory(), name)
    if fmt == "json":
        click.echo(json.dumps(state, indent=2, default=str))
    else:
        registry_view.render(state, name)


@click.command()
@click.argument("name")
@click.option(
    "--version", default=None, help="The version to register (vX.Y.Z) [default: the next one]."
)
@click.option(
    "--bump", type=click.Choice(["major", "minor", "patch"]), default="patch", show_default=True
)
@click.option("--ref", default="HEAD", show_default=True, help="The commit to register.")
@click.option("--push", is_flag=True, help="Push the tag to origin.")
@handle_errors
def register(name: str, version: str | None, bump: str, ref: str, push: bool) -> None:
    """Register a version of an artifact: an annotated tag NAME@vX.Y.Z."""
    from mlci import api

    console.success(
        f"created {api.register(directory(), name, version=version, bump=bump, ref=ref, push=push)}"
    )


@click.command()
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option("--force", is_flag=True, help="Skip the stage order and protected-branch checks.")
@click.option("--push", is_flag=True, help="Push the tag to origin.")
@handle_errors
def promote(name: str, version: str, stage: str, force: bool, push: bool) -> None:
    """Assign STAGE to VERSION: an annotated tag NAME#STAGE#N."""
    from mlci import api

    console.success(
        f"created {api.promote(directory(), name, version, stage, force=force, push=push)}"
    )


@click.command()
@click.argument("name")
@click.option("--stage", required=True, help="The stage to give back to its previous version.")
@click.option("--push", is_flag=True, help="Push the tag to origin.")
@click.option(
    "--token", envvar="GITHUB_TOKEN", default=None, help="GitHub token for the deployment."
)
@format_option("terminal", "json")
@handle_errors
def rollback(name: str, stage: str, push: bool, token: str | None, fmt: str) -> None:
    """Give STAGE back to the version that held it before: a stage tag, the MLflow alias, a deployment."""
    from mlci import api

    result = api.rollback(
        directory(),
        name,
        stage=stage,
        push=push,
        token=token,
        step=show_step,
    )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    for note in result.notes:
        console.info(note)
    if result.created or result.alias:
        done = [
            f"{result.tag}: {name} {stage} is {result.version} again (was {result.previous})"
            if result.created
            else f"{result.tag}: {name} {stage} is {result.version}"
        ]
        done += [f"alias {result.alias}"] if result.alias else []
        done += ["pushed"] if result.pushed else []
        console.success("; ".join(done))
