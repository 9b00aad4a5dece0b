"""The registry's operations: register and promote, each writing one annotated tag as GTO would.

Tags mlci creates are dated at least one second after the artifact's newest
registry tag, so that GTO's one-second ordering sees each as the latest.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from mlci import git
from mlci.errors import UsageError
from mlci.registry.declared import declared_meta
from mlci.registry.grammar import Bump, bumped, check_fullname, check_version, name_to_tag
from mlci.registry.gto_objects import GtoVersion, sort_semver
from mlci.registry.state import Registry, load

if TYPE_CHECKING:
    from mlci.config import ReleaseConfig


def _resolve(root: Path, ref: str) -> str:
    sha = git.resolve(root, ref)
    if sha is None:
        raise UsageError(f"unknown revision '{ref}': not a commit in {root}")
    return sha


def _newest_ts(registry: Registry, name: str) -> int:
    return max((t.ts for t in registry.refs.tags if t.info.name == name), default=0)


def _create_tag(
    root: Path, registry: Registry, name: str, tag: str, commit: str, message: str
) -> None:
    if tag in registry.refs.names:
        raise UsageError(f"tag '{tag}' exists already")
    from mlci import ci

    env = ci.git_env(root)  # in Actions: the bot's identity when the runner has none
    now = int(dt.datetime.now(dt.UTC).timestamp())
    newest = _newest_ts(registry, name)
    if now <= newest:
        # GTO orders tags by their date, to the second: keep this one strictly newer
        env["GIT_COMMITTER_DATE"] = f"{newest + 1} +0000"
    git.create_tag(root, tag, commit, message, env=env)


def push_tag(root: Path, tag: str) -> None:
    """`git push origin TAG`; a failure is a ServiceError (the tag stays local)."""
    from mlci import ci

    # in Actions the checkout keeps no credentials: git gets GITHUB_TOKEN from the environment
    git.push_tag(root, tag, env=ci.git_env(root))


def _known(registry: Registry, root: Path, name: str) -> None:
    check_fullname(name)
    if name in registry.artifacts:
        return
    if ":" in name and declared_meta(root, name, {}) is not None:
        return
    raise UsageError(
        f"unknown artifact '{name}': not in dvc.yaml `artifacts:` and never tagged",
        hint=f"declare it in dvc.yaml:\nartifacts:\n  {name.rpartition(':')[2]}:\n    type: model\n    path: ...",
    )


def register(
    root: Path,
    name: str,
    *,
    version: str | None = None,
    bump: Bump = "patch",
    ref: str = "HEAD",
    push: bool = False,
    message: str | None = None,
) -> str:
    """Tag `NAME@vX.Y.Z` on `ref`; the version is `version` or the highest one bumped.

    The first version is v0.0.1, v0.1.0 or v1.0.0 for a patch, minor or major
    bump. Refused (UsageError): an unknown artifact, a version that exists,
    and a commit that already carries a version of the artifact (GTO allows
    one version per commit).
    """
    root = Path(root)
    registry = load(root)
    _known(registry, root, name)
    commit = _resolve(root, ref)
    art = registry.gto_artifacts.get(name)
    ever = [v for v in art.versions if not v.discovered] if art else []
    for ver in ever:
        if ver.commit == commit:
            state = "carried" if not ver.is_active else "has"
            raise UsageError(
                f"commit {commit[:7]} {state} {name} {ver.version} already"
                + (" (deregistered)" if not ver.is_active else ""),
                hint="GTO allows one version per commit: register a new commit",
            )
    if version is not None:
        if reason := check_version(version):
            raise UsageError(reason)
        for ver in ever:
            if ver.version == version:
                raise UsageError(
                    f"{name} {version} is already registered on commit {ver.commit[:7]}"
                )
    else:
        highest = sort_semver(ever)
        version = bumped(highest[0].version if highest else None, bump)
    tag = f"{name_to_tag(name)}@{version}"
    _create_tag(
        root,
        registry,
        name,
        tag,
        commit,
        message or f"Registering artifact {name} version {version}",
    )
    if push:
        push_tag(root, tag)
    return tag


def _default_branch_ref(root: Path) -> str:
    branch = git.default_branch(root)
    for candidate in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"):
        if git.resolve(root, candidate) is not None:
            return candidate
    raise UsageError(
        f"cannot check a protected stage: no branch '{branch}' (nor origin/{branch})",
        hint="fetch the default branch (in GitHub Actions: actions/checkout with fetch-depth: 0)",
    )


def registered(registry: Registry, name: str, version: str) -> GtoVersion:
    """The registered, not deregistered `version` of `name`, or a UsageError saying why not."""
    art = registry.gto_artifacts.get(name)
    registry.artifact(name)  # unknown artifact: UsageError
    for ver in art.versions if art else []:
        if ver.version == version and not ver.discovered:
            if not ver.is_active:
                raise UsageError(f"{name} {version} is deregistered")
            return ver
    known = ", ".join(v.version for v in registry.artifacts[name].versions) or "none"
    raise UsageError(f"{name} has no version {version} (registered: {known})")


def assign(
    root: Path, registry: Registry, name: str, stage: str, ver: GtoVersion, message: str, push: bool
) -> str:
    """Tag `NAME#STAGE#N` (N: the artifact's highest counter + 1) on the version's commit."""
    counter = registry.refs.counters.get(name, 0) + 1
    tag = f"{name_to_tag(name)}#{stage}#{counter}"
    _create_tag(root, registry, name, tag, ver.commit, message)
    if push:
        push_tag(root, tag)
    return tag


def promote(
    root: Path,
    name: str,
    version: str,
    stage: str,
    *,
    cfg: ReleaseConfig,
    force: bool = False,
    push: bool = False,
) -> str:
    """Tag `NAME#STAGE#N` on the version's commit, after the release policy allows it.

    Policy (force skips it): the version must have been in the stage before
    `stage` in cfg.stages; a cfg.protected stage takes only commits on the
    default branch; the version must not hold the stage already.
    """
    root = Path(root)
    if stage not in cfg.stages:
        raise UsageError(
            f"unknown stage '{stage}' (allowed: {', '.join(cfg.stages)})",
            hint="stages are set by [tool.mlci.release] stages",
        )
    registry = load(root)
    ver = registered(registry, name, version)
    if not force:
        position = cfg.stages.index(stage)
        if position > 0:
            before = cfg.stages[position - 1]
            held = ver.stages.get(before)
            if held is None or not held.assignments:
                raise UsageError(
                    f"{name} {version} has never been in {before}: promote it to {before} first",
                    hint="or pass --force to skip the release policy",
                )
        if stage in cfg.protected:
            branch = _default_branch_ref(root)
            if not git.is_ancestor(root, ver.commit, branch):
                shown = branch.removeprefix("refs/remotes/").removeprefix("refs/heads/")
                raise UsageError(
                    f"{stage} is protected: {name} {version} (commit {ver.commit[:7]}) is not on {shown}",
                    hint="merge it first, or pass --force",
                )
        current = registry.artifacts[name].stages.get(stage)
        if current is not None and current.current == version:
            raise UsageError(
                f"{name} {version} is in {stage} already", hint="pass --force to tag it again"
            )
    message = f"Assigning stage {stage} to artifact {name} version {version}"
    return assign(root, registry, name, stage, ver, message, push)


def delete_tag(root: Path, tag: str) -> None:
    """Remove a local tag (one made by this process and not pushed: an undo)."""
    git.delete_tag(Path(root), tag)
