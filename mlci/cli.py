"""The `mlci` command line: click commands only; each calls one api function and renders."""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mlci import __version__, console
from mlci.errors import MlciError

F = TypeVar("F", bound=Callable[..., Any])

ISSUES_URL = "https://github.com/mlci-dev/mlci/issues"


def _show_traceback() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("traceback"))


def handle_errors(func: F) -> F:
    """Known errors: one red line and their exit code. Anything else: exit 4 and where to report it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MlciError as exc:
            if _show_traceback():
                traceback.print_exc()
            console.error(exc.message)
            if exc.hint:
                console.info(f"hint: {exc.hint}")
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.error("interrupted")
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if _show_traceback():
                traceback.print_exc()
            console.error(f"unexpected error: {type(exc).__name__}: {exc}")
            console.info(
                f"This is a bug in mlci {__version__}. Please report it at {ISSUES_URL} "
                "with the output of the same command run with `mlci --traceback ...`."
            )
            sys.exit(4)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mlci")
@click.option("--traceback", is_flag=True, hidden=True, help="Show the full traceback of an error.")
@click.option(
    "-C",
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run as if mlci was started in this directory.",
)
@click.pass_context
def cli(ctx: click.Context, traceback: bool, directory: Path | None) -> None:
    """CI-native MLOps for DVC projects: run, validate, report, release."""
    ctx.obj = {"directory": directory}


def _directory() -> Path | None:
    obj = click.get_current_context().find_root().obj or {}
    directory: Path | None = obj.get("directory")
    return directory


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("--force", is_flag=True, help="Re-run stages even when nothing changed.")
@click.option("--no-pull", is_flag=True, help="Do not pull data and the run-cache first.")
@click.option("--no-push", is_flag=True, help="Do not push outputs and the run-cache afterwards.")
@click.option("--no-tracking", is_flag=True, help="Record no MLflow run.")
@click.option("-v", "--verbose", is_flag=True, help="Show the stage commands' output.")
@handle_errors
def run(
    targets: tuple[str, ...],
    force: bool,
    no_pull: bool,
    no_push: bool,
    no_tracking: bool,
    verbose: bool,
) -> None:
    """Reproduce the DVC pipeline: pull, repro, push, record an MLflow run.

    Only stages whose deps, params or command changed run; the rest are skipped
    or restored from DVC's run-cache. The outcome is written to .mlci/run.json.
    """
    from mlci import api
    from mlci.render import RunProgress, render_run

    progress = RunProgress(verbose=verbose, root=api.project_root(_directory()))
    result = api.run(
        _directory(),
        targets=targets,
        force=force,
        pull=not no_pull,
        push=not no_push,
        tracking_enabled=not no_tracking,
        progress=progress,
    )
    render_run(result)


@cli.command("config")
@click.option("--format", "fmt", type=click.Choice(["terminal", "json"]), default="terminal")
@handle_errors
def config_command(fmt: str) -> None:
    """Show the effective configuration: every key, its value and where it came from."""
    from mlci import api
    from mlci.render import render_config

    cfg = api.load_config(_directory())
    if fmt == "json":
        rows = [{"key": k, "value": v, "source": s} for k, v, s in cfg.effective()]
        click.echo(
            json.dumps({"file": str(cfg.file) if cfg.file else None, "settings": rows}, indent=2)
        )
    else:
        render_config(cfg)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["terminal", "json"]), default="terminal")
@handle_errors
def doctor(fmt: str) -> None:
    """Check the repository, DVC remote, MLflow, GitHub token, runner, GPUs and Docker."""
    from mlci import api
    from mlci.render import render_checks

    rows = api.doctor(_directory())
    if fmt == "json":
        click.echo(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        render_checks(rows)
    if any(row.status == "fail" for row in rows):
        sys.exit(1)


@cli.command()
@click.option(
    "--base",
    default=None,
    help="Revision to compare with [default: the PR's base, else the merge-base with the default branch].",
)
@click.option("--head", default="workspace", show_default=True, help="Revision to report on.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["terminal", "markdown", "json"]),
    default="terminal",
    show_default=True,
)
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
    "--pull", is_flag=True, help="Fetch DVC-cached metrics and plots missing from the local cache."
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
) -> None:
    """Compare metrics, params, data and pipeline between two revisions."""
    from mlci import api, ci
    from mlci.report import markdown

    result = api.report(
        _directory(), base=base, head=head, all_params=all_params, pull=pull, report_id=report_id
    )
    cfg = api.load_config(_directory())
    digits = precision if precision is not None else cfg.report.precision
    if fmt == "json":
        text = json.dumps(result.to_dict(), indent=2) + "\n"
    elif fmt == "markdown":
        text = markdown.render(result, precision=digits)
    else:
        text = ""
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text or markdown.render(result, precision=digits), encoding="utf-8")
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
        posted = api.post_report(result, token=token, precision=digits)
        console.info(posted)


def main() -> None:
    cli(prog_name="mlci")
