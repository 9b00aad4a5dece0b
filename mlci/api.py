"""One typed function per user action. The CLI, the actions and notebooks call these.

The library never prints: progress reaches the caller through a `Progress`
(mlci.progress, re-exported here) whose methods default to doing nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci import config
from mlci.progress import Progress

# each action imports what it needs when called: `mlci config` must not pay for `mlci run`
if TYPE_CHECKING:
    from mlci.doctor import Check
    from mlci.init import InitPlan
    from mlci.plan import Plan
    from mlci.release.results import ReleaseResult, RollbackResult
    from mlci.report.model import Report
    from mlci.report.post import PostedReport
    from mlci.reproduce import RunResult
    from mlci.retrain import RetrainResult
    from mlci.validate.results import Result as ValidationResult

__all__ = [
    "Progress",
    "doctor",
    "init",
    "load_config",
    "load_report",
    "models",
    "plan",
    "post_report",
    "project_root",
    "promote",
    "register",
    "release",
    "release_auto",
    "report",
    "retrain",
    "rollback",
    "run",
    "validate_data",
    "validate_model",
]


def load_config(path: Path | None = None) -> config.Config:
    return config.load(path)


def project_root(path: Path | None = None) -> Path:
    return config.find_root(path)


def doctor(path: Path | None = None) -> list[Check]:
    from mlci import doctor as checks

    return checks.checks(path)


def init(
    path: Path | None = None,
    *,
    data: tuple[Path, ...] = (),
    repo: str | None = None,
    ref: str | None = None,
    runner: tuple[str, ...] = (),
    mlci_version: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> InitPlan:
    """Workflows calling mlci's reusable ones, `[tool.mlci]` and a gx/ skeleton; `dry_run` writes nothing."""
    from mlci import init as scaffold

    return scaffold.init(
        path,
        data=data,
        repo=repo,
        ref=ref,
        runner=runner,
        mlci_version=mlci_version,
        force=force,
        dry_run=dry_run,
    )


def plan(path: Path | None = None, *, targets: tuple[str, ...] = ()) -> Plan:
    """The stages `mlci run TARGETS` would take, run or restore, split into runner jobs."""
    from mlci import extras
    from mlci.plan import make

    extras.require("dvc", needed_for="mlci plan")
    root, cfg = _project(path)
    return make(root, cfg, targets)


def run(
    path: Path | None = None,
    *,
    targets: tuple[str, ...] = (),
    force: bool = False,
    pull: bool = True,
    push: bool = True,
    tracking_enabled: bool = True,
    restore_only: bool = False,
    allow_run: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> RunResult:
    """Fetch, `dvc repro`, push, record an MLflow run, write `.mlci/run.json`."""
    from mlci import extras, reproduce

    extras.require("dvc", needed_for="mlci run")

    return reproduce.run(
        path,
        targets=targets,
        force=force,
        pull=pull,
        push=push,
        tracking_enabled=tracking_enabled,
        restore_only=restore_only,
        allow_run=allow_run,
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
    check_runs: bool = False,
) -> PostedReport:
    """Post or update the report's PR comment and set the `mlci/report` commit status.

    `check_runs`: also one check run per validation the report carries (a saved report
    posted by a `workflow_run` job, whose pull request run could not create them).
    """
    from mlci.report import post

    return post.post(report, token=token, precision=precision, env=env, check_runs=check_runs)


def load_report(file: Path) -> Report:
    """A report saved by `mlci report --format json`, checked field by field."""
    from mlci.report.model import load

    return load(file)


def _project(path: Path | None) -> tuple[Path, config.Config]:
    from mlci import git

    cfg = config.load(path)
    root = git.toplevel(cfg.root)
    return root, (cfg if root == cfg.root else config.load(root))


def _workspace_revision(root: Path) -> tuple[str | None, bool]:
    """HEAD's commit and whether tracked files differ from it: what a validation is made for."""
    from mlci import git
    from mlci.errors import UsageError

    try:
        head = git.head(root)
    except UsageError:  # not a git checkout: the results belong to no revision
        return None, False
    return head.sha, head.dirty


def validate_data(
    path: Path | None = None,
    *,
    names: tuple[str, ...] = (),
    docs: bool = False,
    base: str | None = None,
) -> ValidationResult:
    """Run the datasets' expectation suites; profile drift against the base revision's data."""
    from mlci import ci, extras, git
    from mlci.report.build import default_base
    from mlci.validate import data, results

    root, cfg = _project(path)
    if not cfg.data and not names:
        empty = results.Result(kind="data")
        empty.extra["note"] = (
            "nothing to validate: pyproject.toml declares no [tool.mlci.data.<name>]"
        )
        return empty
    extras.require("gx", needed_for="mlci validate data")
    if base is not None:
        base_sha: str | None = git.resolve_or_fetch(root, base)  # a named revision must exist
    else:
        default = default_base(root, ci.context())
        base_sha = git.resolve(root, default) if default else None
    made_for = _workspace_revision(root)  # the workspace's files are validated
    result = data.validate(root, cfg, names=names, docs=docs, base_sha=base_sha)
    result.sha, result.dirty = made_for
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
    from mlci import git
    from mlci.validate import model, results

    root, cfg = _project(path)
    made_for = (
        _workspace_revision(root) if head == "workspace" else (git.resolve(root, head), False)
    )
    result = model.validate(root, cfg, base=base, head=head, checks=checks)
    result.sha, result.dirty = made_for
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


def rollback(
    path: Path | None = None,
    name: str = "",
    *,
    stage: str,
    push: bool = False,
    token: str | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> RollbackResult:
    """Give STAGE back to its previous holder: a stage tag, the MLflow alias, a deployment."""
    from mlci.release import rollback as release_rollback

    root, cfg = _project(path)
    return release_rollback.rollback(root, cfg, name, stage, push=push, token=token, step=step)


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


def retrain(
    path: Path | None = None,
    source: str | None = None,
    *,
    name: str | None = None,
    branch: str | None = None,
    push: bool = True,
    dry_run: bool = False,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> RetrainResult:
    """Merge new labelled data into a dataset, validate, `dvc add` + push, open a pull request."""
    from mlci import retrain as retraining

    root, cfg = _project(path)
    result = retraining.retrain(
        root,
        cfg,
        source=source,
        name=name,
        branch=branch,
        push=push,
        dry_run=dry_run,
        token=token,
        env=env,
        step=step,
    )
    # the merged data's validation is the proposal's (its pull request body and JSON): the
    # checkout's own results in .mlci/validation stay those of its revision
    return result


def release_auto(
    path: Path | None = None,
    *,
    bump: str | None = None,
    push: bool = False,
    token: str | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> list[ReleaseResult]:
    """Register and release the next version of each changed model whose gates pass."""
    from mlci.release import auto

    root, cfg = _project(path)
    return auto.auto(root, cfg, bump=bump, push=push, token=token, step=step)
