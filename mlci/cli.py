"""The `mlci` command line: click commands only; each calls one api function and renders."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mlci import __version__, console, extras, interrupts, logs
from mlci.errors import MlciError, UsageError

if TYPE_CHECKING:
    from mlci.release.results import ReleaseResult
    from mlci.report.model import Report
    from mlci.validate.results import Result as ValidationResult

F = TypeVar("F", bound=Callable[..., Any])

ISSUES_URL = "https://github.com/mlci-dev/mlci/issues"
EXIT_PIPE = 141  # 128 + SIGPIPE: stdout's reader closed the pipe


def format_option(*choices: str) -> Callable[[F], F]:
    """`--format` with the first choice as default; every command spells it the same."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True
    )


def _show_traceback() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("traceback"))


def _closed_pipe() -> None:
    """The reader of stdout went away (`mlci config | head -1`): stop quietly, as git does.

    128 + SIGPIPE, the status a shell shows for a command its pipe closed; stdout is
    pointed at /dev/null so that Python's own flush at exit has nowhere to fail.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_PIPE)


def _fail(exc: MlciError) -> None:
    if _show_traceback():
        traceback.print_exc()
    console.error(exc.message)
    if exc.hint:
        console.info(f"hint: {exc.hint}")
    sys.exit(exc.exit_code)


def handle_errors(func: F) -> F:
    """Known errors: one red line and their exit code. Anything else: exit 4 and where to report it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            # signals raise Interrupted; library warnings go to .mlci/logs/<command>.log
            with interrupts.handled(), logs.for_command():
                return func(*args, **kwargs)
        except MlciError as exc:
            _fail(exc)
        except KeyboardInterrupt as exc:
            interrupts.ignore()
            console.error(str(exc) if isinstance(exc, interrupts.Interrupted) else "interrupted")
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            _closed_pipe()
        except ImportError as exc:
            if (missing := extras.from_import_error(exc)) is None:
                _internal(exc)
            else:
                _fail(missing)
        except Exception as exc:
            _internal(exc)

    return wrapper  # type: ignore[return-value]


def _internal(exc: BaseException) -> None:
    if _show_traceback():
        traceback.print_exc()
    console.error(f"unexpected error: {type(exc).__name__}: {exc}")
    console.info(
        f"This is a bug in mlci {__version__}. Please report it at {ISSUES_URL} "
        "with the output of the same command run with `mlci --traceback ...`."
    )
    sys.exit(4)


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


@cli.command()
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

    result = api.plan(_directory(), targets=targets)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        render_plan(result)


@cli.command("config")
@format_option("terminal", "json")
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
@format_option("terminal", "json")
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
        _directory(),
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


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocking} is a file, not a folder" if blocking else exc.strerror or str(exc)
        raise UsageError(f"{path}: cannot write: {why}") from None


def _saved_report(source: Path, report_id: str) -> Report:
    """`report --from`: the saved report; the options that compute one are refused with it."""
    from mlci import api

    ctx = click.get_current_context()
    computing = {"base": "--base", "head": "--head", "all_params": "--all", "pull": "--pull"}
    given = [
        flag
        for name, flag in computing.items()
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        raise click.UsageError(
            f"--from renders a saved report: {', '.join(given)} only apply when computing one"
        )
    result = api.load_report(source)
    result.id = report_id or result.id
    return result


@cli.command()
@click.option(
    "--base",
    default=None,
    help="Revision to compare with [default: the PR's base, else the merge-base with the default branch].",
)
@click.option("--head", default="workspace", show_default=True, help="Revision to report on.")
@format_option("terminal", "markdown", "json")
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
    "--pull",
    is_flag=True,
    help="Fetch DVC-cached metrics and plots missing from the local cache "
    "(exit 3 when the DVC remote cannot be reached).",
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
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Render (and --post) a report saved with --format json instead of computing one; "
    "no repository is read. With --post in a workflow_run job, the pull request and commit "
    "come from the event, and each validation in the report becomes a check run.",
)
@click.option("--check", is_flag=True, help="Exit 1 when a validation in the report failed.")
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
    source: Path | None,
    check: bool,
) -> None:
    """Compare metrics, params, data and pipeline between two revisions."""
    from mlci import api, ci
    from mlci.report import markdown

    if source is not None:
        result = _saved_report(source, report_id)
    else:
        result = api.report(
            _directory(),
            base=base,
            head=head,
            all_params=all_params,
            pull=pull,
            report_id=report_id,
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
        _write(output, text or markdown.render(result, precision=digits))
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
        posted = api.post_report(
            result, token=token, precision=digits, check_runs=source is not None
        )
        for line in (posted.message, *posted.check_runs):
            console.info(line)
        ci.set_output("comment-url", posted.comment_url or "")
    _exit_on_bad_input(result.problems)
    if check and any(not r.get("success", True) for r in result.validation):
        console.error("a validation failed (see the report)")
        sys.exit(1)


def _exit_on_bad_input(problems: list[str]) -> None:
    """Files DVC would reject or cannot parse: the rest was reported; exit 2 so CI sees it."""
    for line in problems:
        console.error(line)
    if problems:
        sys.exit(2)


@cli.group()
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

    _finish_validation(api.validate_data(_directory(), names=names, docs=docs, base=base), token)


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
        api.validate_model(_directory(), base=base, head=head, checks=not no_checks), token
    )


@cli.command()
@click.argument("name", required=False)
@format_option("terminal", "json")
@handle_errors
def models(name: str | None, fmt: str) -> None:
    """The model registry from git tags: versions and stages (GTO's tags; `gto show` JSON)."""
    from mlci import api
    from mlci.registry import view as registry_view

    state = api.models(_directory(), name)
    if fmt == "json":
        click.echo(json.dumps(state, indent=2, default=str))
    else:
        registry_view.render(state, name)


@cli.command()
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
        f"created {api.register(_directory(), name, version=version, bump=bump, ref=ref, push=push)}"
    )


@cli.command()
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
        f"created {api.promote(_directory(), name, version, stage, force=force, push=push)}"
    )


@cli.command()
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
        _directory(),
        name,
        stage=stage,
        push=push,
        token=token,
        step=lambda message: console.err().print(f"[dim]›[/] {console.escape(message)}"),
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


@cli.command()
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

    def step(message: str) -> None:
        console.err().print(f"[dim]›[/] {console.escape(message)}")

    if auto_:
        if tag:
            raise click.UsageError("--auto takes no TAG")
        released = api.release_auto(_directory(), bump=bump, push=push, token=token, step=step)
        for result in released:
            _show_release(result, fmt)
        if not released:
            console.info("nothing to release: no model changed since its latest version")
        return
    result = api.release(
        _directory(),
        tag,
        containerize=containerize,
        push_image=push_image or None,
        token=token,
        step=step,
    )
    _show_release(result, fmt)


@cli.command()
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

    def step(message: str) -> None:
        console.err().print(f"[dim]›[/] {console.escape(message)}")

    result = api.retrain(
        _directory(),
        source,
        name=name,
        branch=branch,
        push=not no_push,
        dry_run=dry_run,
        token=token,
        step=step,
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


# the fanned-out workflows' steps (mlci/fanout/cli.py), after handle_errors, which they use
from mlci.fanout.cli import fanout  # noqa: E402

cli.add_command(fanout)


def main() -> None:
    try:
        cli(prog_name="mlci")
    except SystemExit as exc:
        # click met the closed pipe itself (--help, usage errors): it exits 1 with stdout wrapped
        if type(sys.stdout).__name__ == "_PacifyFlushWrapper":
            _closed_pipe()
        # output still buffered when click exits: a closed pipe shows here, not inside a command
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _closed_pipe()
        raise exc from None
