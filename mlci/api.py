"""One typed function per user action. The CLI, the actions and notebooks call these.

The library never prints: progress reaches the caller through a `Progress`
object whose methods default to doing nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci import config
from mlci.errors import UsageError

# each action imports what it needs when called: `mlci config` must not pay for `mlci run`
if TYPE_CHECKING:
    from mlci.doctor import Check
    from mlci.dvc import StageRun
    from mlci.release.deploy import ReleaseResult
    from mlci.report.model import Report
    from mlci.reproduce import RunResult
    from mlci.validate.results import Result as ValidationResult

__all__ = [
    "Progress",
    "doctor",
    "load_config",
    "models",
    "post_report",
    "project_root",
    "promote",
    "register",
    "release",
    "release_auto",
    "report",
    "rollback",
    "run",
    "validate_data",
    "validate_model",
]


class Progress:
    """Callbacks for what a long action is doing; override what you want to show."""

    def step(self, message: str) -> None:
        """A phase starts or ends (pull, push, tracking)."""

    def stage(self, stage: StageRun) -> None:
        """A pipeline stage finished: ran, came from the run-cache, or was unchanged."""

    def output(self, line: str) -> None:
        """A line printed by DVC or a stage command."""

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the action."""


def load_config(path: Path | None = None) -> config.Config:
    return config.load(path)


def project_root(path: Path | None = None) -> Path:
    return config.find_root(path)


def doctor(path: Path | None = None) -> list[Check]:
    from mlci import doctor as checks

    return checks.checks(path)


def run(
    path: Path | None = None,
    *,
    targets: tuple[str, ...] = (),
    force: bool = False,
    pull: bool = True,
    push: bool = True,
    tracking_enabled: bool = True,
    progress: Progress | None = None,
) -> RunResult:
    """Fetch, `dvc repro`, push, record an MLflow run, write `.mlci/run.json`."""
    from mlci import reproduce

    return reproduce.run(
        path,
        targets=targets,
        force=force,
        pull=pull,
        push=push,
        tracking_enabled=tracking_enabled,
        progress=progress,
    )


def report(
    path: Path | None = None,
    *,
    base: str | None = None,
    head: str = "workspace",
    all_params: bool = False,
    pull: bool = False,
    report_id: str = "",
) -> Report:
    """The diff of metrics, params, data and pipeline between two revisions."""
    from mlci.report.build import build

    root, cfg = _project(path)
    return build(
        root, cfg, base=base, head=head, all_params=all_params, pull=pull, report_id=report_id
    )


def post_report(
    report: Report,
    *,
    token: str | None,
    precision: int = 4,
    env: Mapping[str, str] | None = None,
) -> str:
    """Post or update the report's PR comment and set the `mlci/report` commit status."""
    from mlci import ci, git, github
    from mlci.report import markdown

    context = ci.context(env)
    if not context.repository:
        raise UsageError("GITHUB_REPOSITORY is not set: --post needs owner/name of the repository")
    client = github.Client(
        token or context.token or "", context.repository, api_url=context.api_url
    )
    head_sha = (
        context.event.get("pull_request", {}).get("head", {}).get("sha")
        or report.head.sha
        or context.sha
        or git.resolve(config.find_root(), "HEAD")
    )
    number = context.pr_number or (client.pull_for_commit(head_sha) if head_sha else None)
    if number is None:
        return f"no pull request found for {str(head_sha)[:8]}: nothing posted (the report is in the job summary)"
    # room for the history section that upsert_comment appends
    body = markdown.render(report, precision=precision, limit=markdown.COMMENT_LIMIT - 6_000)
    posted = github.upsert_comment(
        client, number, markdown.marker(report.id), body, markdown.headline(report, precision)
    )
    if head_sha:
        failed = [r for r in report.validation if not r.get("success", True)]
        client.set_status(
            head_sha,
            "failure" if failed else "success",
            markdown.status_line(report, precision),
            "mlci/report",
            target_url=context.run_url,
        )
    verb = "posted" if posted.created else "updated"
    return f"report {verb} on #{number}: {posted.url}"


def _project(path: Path | None) -> tuple[Path, config.Config]:
    from mlci import git

    cfg = config.load(path)
    root = git.toplevel(cfg.root)
    return root, (cfg if root == cfg.root else config.load(root))


def validate_data(
    path: Path | None = None,
    *,
    names: tuple[str, ...] = (),
    docs: bool = False,
    base: str | None = None,
) -> ValidationResult:
    """Run the datasets' expectation suites; profile drift against the base revision's data."""
    from mlci import ci, git
    from mlci.report.build import default_base
    from mlci.validate import data, results

    root, cfg = _project(path)
    if not cfg.data and not names:
        empty = results.Result(kind="data")
        empty.extra["note"] = (
            "nothing to validate: pyproject.toml declares no [tool.mlci.data.<name>]"
        )
        return empty
    base_rev = base if base is not None else default_base(root, ci.context())
    base_sha = git.resolve(root, base_rev) if base_rev else None
    result = data.validate(root, cfg, names=names, docs=docs, base_sha=base_sha)
    results.write(cfg.state_path, result)
    return result


def validate_model(
    path: Path | None = None,
    *,
    base: str | None = None,
    head: str = "workspace",
    checks: bool = True,
) -> ValidationResult:
    """Evaluate the gates of [tool.mlci.gates] and the model checks of [tool.mlci.model]."""
    from mlci.validate import model, results

    root, cfg = _project(path)
    result = model.validate(root, cfg, base=base, head=head, checks=checks)
    results.write(cfg.state_path, result)
    return result


def models(path: Path | None = None, name: str | None = None) -> Any:
    """The registry state from git tags, as `gto show --json` gives it."""
    from mlci import registry

    root, _cfg = _project(path)
    return registry.load(root).show(name)


def register(
    path: Path | None = None,
    name: str = "",
    *,
    version: str | None = None,
    bump: str = "patch",
    ref: str = "HEAD",
    push: bool = False,
) -> str:
    from mlci import registry

    root, _cfg = _project(path)
    return registry.register(root, name, version=version, bump=bump, ref=ref, push=push)  # type: ignore[arg-type]


def promote(
    path: Path | None = None,
    name: str = "",
    version: str = "",
    stage: str = "",
    *,
    force: bool = False,
    push: bool = False,
) -> str:
    from mlci import registry

    root, cfg = _project(path)
    return registry.promote(root, name, version, stage, cfg=cfg.release, force=force, push=push)


def rollback(path: Path | None = None, name: str = "", *, stage: str, push: bool = False) -> str:
    from mlci import registry

    root, _cfg = _project(path)
    return registry.rollback(root, name, stage, push=push)


def release(
    path: Path | None = None,
    tag: str | None = None,
    *,
    containerize: bool = False,
    push_image: str | None = None,
    token: str | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> ReleaseResult:
    """Deploy the model version a registry tag names (TAG defaults to GITHUB_REF)."""
    from mlci.release import deploy

    root, cfg = _project(path)
    return deploy.release(
        root,
        cfg,
        tag or deploy.tag_from_env(),
        containerize=containerize,
        push_image=push_image,
        token=token,
        step=step,
    )


def release_auto(
    path: Path | None = None,
    *,
    bump: str | None = None,
    push: bool = False,
    token: str | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> list[ReleaseResult]:
    """Register and release the next version of each changed model whose gates pass."""
    from mlci.release import deploy

    root, cfg = _project(path)
    return deploy.auto(root, cfg, bump=bump, push=push, token=token, step=step)
