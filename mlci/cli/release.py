"""`mlci release`: deploy the model version a registry tag names, or `--auto` the changed ones."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from mlci import console
from mlci.cli.failures import handle_errors
from mlci.cli.options import directory, format_option, show_step

if TYPE_CHECKING:
    from mlci.release.results import ReleaseResult

__all__ = ["release"]


def _show_release(result: ReleaseResult, fmt: str) -> None:
    from mlci import ci

    for key in ("event", "name", "version", "stage"):
        ci.set_output(key, str(getattr(result, key) or ""))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    for note in result.notes:
        console.info(note)
    # one line per step, saying what it did: "released" only when something was made
    marks = {"done": "[green]✓[/]", "reused": "[cyan]=[/]", "skipped": "[dim]·[/]"}
    width = max((len(o.step) for o in result.outcomes), default=0)
    for o in result.outcomes:
        detail = o.detail if o.status == "done" else f"{o.status}: {o.detail}"
        console.err().print(
            f"  {marks[o.status]} {console.escape(o.step):<{width}}  {console.escape(detail)}"
        )
    what = f"{result.name} {result.version or ''}".strip()
    if result.released:
        console.success(f"released {what}" + (f" to {result.stage}" if result.stage else ""))
    else:
        console.info(f"nothing released for {result.tag}: every step was skipped or done before")


@click.command()
@click.argument("tag", required=False)
@click.option(
    "--auto",
    "auto_",
    is_flag=True,
    help="Register and release the next version of each changed model whose gates pass (push to main).",
)
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    default=None,
    help="With --auto [default: the commit's Release-Bump trailer, else its merged PR's release:* label, else patch].",
)
@click.option("--push", is_flag=True, help="With --auto: push the new tag to origin.")
@click.option(
    "--containerize", is_flag=True, help="Also build an OCI image of the bento (needs Docker)."
)
@click.option(
    "--push-image",
    metavar="REGISTRY",
    default=None,
    help="Push the image there (with --containerize).",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    default=None,
    help="GitHub token for the Release and deployment.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show MLflow's and BentoML's messages as they come."
)
@format_option("terminal", "json")
@handle_errors
def release(
    tag: str | None,
    auto_: bool,
    bump: str | None,
    push: bool,
    containerize: bool,
    push_image: str | None,
    token: str | None,
    verbose: bool,
    fmt: str,
) -> None:
    """Deploy the model version a registry tag names [TAG: GITHUB_REF in Actions].

    A registration tag (NAME@vX.Y.Z): MLflow model version, bento, smoke-tested
    serve, GitHub Release. A stage tag (NAME#STAGE#N): the same checks, then the
    MLflow alias STAGE moves to the version, inside a GitHub deployment.
    """
    from mlci import api

    if auto_:
        if tag:
            raise click.UsageError("--auto takes no TAG")
        released = api.release_auto(directory(), bump=bump, push=push, token=token, step=show_step)
        for result in released:
            _show_release(result, fmt)
        if not released:
            console.info("nothing to release: no model changed since its latest version")
        return
    result = api.release(
        directory(),
        tag,
        containerize=containerize,
        push_image=push_image or None,
        token=token,
        step=show_step,
    )
    _show_release(result, fmt)
