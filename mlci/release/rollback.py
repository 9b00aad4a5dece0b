"""`mlci rollback NAME STAGE`: give a stage back to its previous holder.

The stage tag, the MLflow alias and a GitHub deployment move together, or none
of them: what can refuse is asked first, and a failure undoes what was done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlci import ci, config, registry, tracking
from mlci.errors import MlciError, ServiceError, UsageError
from mlci.release.destinations import connect_github, in_mlflow, mlflow_model_name
from mlci.release.results import RollbackResult

__all__ = ["rollback"]


def rollback(
    root: Path,
    cfg: config.Config,
    name: str,
    stage: str,
    *,
    push: bool = False,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> RollbackResult:
    """Give `stage` back to its previous holder: a stage tag, the MLflow alias, a deployment.

    Everything that can refuse is asked before anything is written: the tags
    (who held the stage), then MLflow (the previous holder must have been
    released there: its version is the one tagged `mlci.git_tag`). Then, inside
    a GitHub deployment: the tag (local), the alias, the push. A failure undoes
    what was done, in reverse, and the deployment says failure. Idempotent: when
    the stage is rolled back already, no tag is written, and only an alias left
    behind (a tag written by gto or by hand) is moved.
    """
    plan = registry.plan_rollback(root, name, stage)
    result = RollbackResult(name, stage, plan.version, plan.current, plan.current_tag)
    model_name = mlflow_model_name(cfg, name)
    target, before = _alias_move(cfg, plan, model_name, result)
    if plan.done and before == target:
        result.notes.append(
            f"{name} {stage} is rolled back to {plan.version} already "
            f"({plan.current_tag} rolled back {plan.rolled_back}): nothing to do"
        )
        return result

    context = ci.context(env)
    deployment = _rollback_deployment(connect_github(token, context), plan, result)
    tag = None
    moved = False
    try:
        if deployment is not None:
            deployment.status(
                "in_progress", f"rolling {name} back to {plan.version}", log_url=context.run_url
            )
        if not plan.done:
            tag = registry.apply_rollback(root, plan)
            step(f"tagged {tag}")
            result.tag, result.created = tag, True
        if target is not None:
            if before != target:
                step(f"moving the MLflow alias {stage} to version {target}")
                tracking.set_alias(cfg.tracking_uri, model_name, stage, target)
                moved = True
            result.alias = f"{model_name}@{stage} -> {target}"
        if tag and push:
            step(f"pushing {tag}")
            registry.push_tag(root, tag)
            result.pushed = True
    except (MlciError, KeyboardInterrupt) as exc:
        undone = _undo(root, cfg, model_name, stage, before, moved, tag)
        _report_failure(exc, undone, deployment, context.run_url, tag_made=tag is not None)
        raise
    if plan.done:
        result.notes.append(f"{plan.current_tag} was there already: the alias followed it")
    if deployment is not None:
        try:
            deployment.status(
                "success", f"{name} {plan.version} is {stage} again", log_url=context.run_url
            )
        except ServiceError as exc:
            exc.hint = "the rollback itself is done; only the deployment status is missing"
            raise
    return result


def _alias_move(
    cfg: config.Config, plan: registry.RollbackPlan, model_name: str, result: RollbackResult
) -> tuple[str | None, str | None]:
    """(MLflow version the alias goes to, where it is now); (None, None) without MLflow.

    The version is the one the release path registered for the previous holder's
    registration tag; a holder never released there is refused, nothing changed.
    """
    if not in_mlflow(cfg):
        result.notes.append(
            "no MLflow model to move (tracking off or no [tool.mlci.model] loader): only the tag"
        )
        return None, None
    uri = cfg.tracking_uri
    found = tracking.find_version(uri, model_name, plan.version_tag)
    if found is None:
        raise UsageError(
            f"{plan.name} {plan.version} was never released to MLflow ({uri} has no version "
            f"of {model_name} tagged mlci.git_tag={plan.version_tag}): nothing changed",
            hint=f"run `mlci release {plan.version_tag}` first, then roll back again",
        )
    result.mlflow_version = found.version
    return found.version, tracking.get_alias(uri, model_name, plan.stage)


def _rollback_deployment(
    github_client: Any, plan: registry.RollbackPlan, result: RollbackResult
) -> Any:
    if github_client is None:
        result.notes.append("no GitHub token or GITHUB_REPOSITORY: no deployment recorded")
        return None
    from mlci import github

    deployment = github.create_deployment(
        github_client,
        plan.commit,
        plan.stage,
        f"roll {plan.name} {plan.stage} back to {plan.version}",
        {"artifact": plan.name, "version": plan.version, "rollback_of": plan.current_tag},
    )
    result.deployment = plan.stage
    return deployment


def _report_failure(
    exc: BaseException, undone: str, deployment: Any, log_url: str | None, *, tag_made: bool
) -> None:
    """The deployment says failure; the error says what was undone."""
    cause = exc.message if isinstance(exc, MlciError) else "interrupted"
    clean = "could not" not in undone
    if deployment is not None:
        # GitHub keeps 140 characters: the state things are in goes first
        summary = "undone, nothing changed" if clean else "NOT fully undone"
        with contextlib.suppress(MlciError):
            deployment.status("failure", f"{summary}: {cause}", log_url=log_url)
    if isinstance(exc, MlciError):
        exc.message = cause + undone
        exc.args = (exc.message,)
        if tag_made and clean:
            exc.hint = "nothing is left behind: roll back again once that is fixed"


def _undo(
    root: Path,
    cfg: config.Config,
    model_name: str,
    stage: str,
    before: str | None,
    moved: bool,
    tag: str | None,
) -> str:
    """Take back the alias move and the local tag; what could not be undone, as a sentence."""
    left = []
    if moved:
        try:
            if before is None:
                tracking.delete_alias(cfg.tracking_uri, model_name, stage)
            else:
                tracking.set_alias(cfg.tracking_uri, model_name, stage, before)
        except MlciError:
            left.append(f"the alias {model_name}@{stage} could not be moved back to {before}")
    if tag:
        try:
            registry.delete_tag(root, tag)
        except MlciError:
            left.append(f"the local tag {tag} could not be deleted")
    if left:
        return " (undone, but " + "; ".join(left) + ")"
    return " (undone: the tags and the alias are as they were)"
