"""`mlci release TAG`: a registry tag becomes an MLflow model version, a bento, a GitHub Release.

The git tags lead; everything here follows them. A registration tag registers,
builds, smoke-tests and publishes. A stage tag moves the MLflow alias named
after the stage, only after that version's bento passed its smoke test, inside
a GitHub deployment whose status says how it went. Nothing is half-promoted:
on any failure the alias stays where it was and the deployment says failure.
Here the tag is checked and the deployment kept; the steps themselves are in
mlci.release.steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from mlci import ci, config, docker, git, registry
from mlci.errors import MlciError, ServiceError, UsageError
from mlci.release.destinations import NO_GITHUB, connect_github
from mlci.release.results import ReleaseResult
from mlci.release.steps import release_version

__all__ = ["release", "tag_from_env"]


def tag_from_env(env: Mapping[str, str] | None = None) -> str:
    context = ci.context(env)
    if context.ref and context.ref.startswith("refs/tags/"):
        return context.ref.removeprefix("refs/tags/")
    raise UsageError("no tag given and GITHUB_REF is not a tag: mlci release TAG")


def _version_of(
    info: registry.TagInfo, artifact: registry.Artifact, tag: str
) -> tuple[registry.Version, str]:
    """The registered version a registration or stage tag names, and the artifact's path."""
    if info.action == "register":
        number = info.version
    else:
        event = next((e for s in artifact.stages.values() for e in s.history if e.tag == tag), None)
        number = event.version if event else None
    version = artifact.version(number or "")
    if version is None:
        raise UsageError(f"{tag}: version {number} of {info.name} is not registered")
    path = artifact.meta.get("path")
    if not path:
        raise UsageError(f"dvc.yaml: artifact '{info.name}' has no path")
    return version, str(path)


def release(
    root: Path,
    cfg: config.Config,
    tag: str,
    *,
    containerize: bool = False,
    push_image: str | None = None,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> ReleaseResult:
    if containerize:
        # before anything else: a release that cannot finish must not start
        available, why = docker.available()
        if not available:
            raise ServiceError(f"--containerize needs a Docker engine: {why}")
    info = registry.check_tag(tag)
    result = ReleaseResult(tag=tag, event=info.event, name=info.name, stage=info.stage)
    if git.resolve(root, f"refs/tags/{tag}") is None:
        raise UsageError(
            f"no such tag: {tag}",
            hint="create it with mlci register / mlci promote, and fetch tags",
        )
    artifact = registry.load(root).artifact(info.name)
    if info.action not in {"register", "assign"}:
        result.outcome("release", "skipped", f"a {info.event} tag deploys nothing")
        return result
    version, path = _version_of(info, artifact, tag)
    result.version, result.commit = version.version, version.commit

    context = ci.context(env)
    github_client = connect_github(token, context)
    deployment = None
    if info.action == "assign" and github_client is not None:
        from mlci import github

        deployment = github.create_deployment(
            github_client,
            version.commit,  # the tag may not be pushed yet; its commit is what deploys
            info.stage or "",
            f"{info.name} {result.version} to {info.stage}",
            {"artifact": info.name, "version": result.version},
        )
        deployment.status(
            "in_progress", f"releasing {info.name} {result.version}", log_url=context.run_url
        )
        result.deployment = info.stage
    try:
        release_version(
            root,
            cfg,
            result,
            artifact,
            version,
            str(path),
            info,
            github_client,
            step,
            containerize,
            push_image,
        )
    except (MlciError, KeyboardInterrupt) as exc:
        if deployment is not None:
            message = exc.message if isinstance(exc, MlciError) else "interrupted"
            deployment.status("failure", message, log_url=context.run_url)
        raise
    if deployment is not None:
        deployment.status(
            "success", f"{info.name} {result.version} is {info.stage}", log_url=context.run_url
        )
        result.outcome("deployment", "done", f"GitHub deployment to {info.stage}: success")
    elif info.action == "assign":
        result.outcome("deployment", "skipped", NO_GITHUB)
    return result
