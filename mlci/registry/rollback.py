"""Rollback (no GTO counterpart): give a stage back to the version that held it before.

`rollback(NAME, STAGE)` assigns STAGE to the version that held it immediately
before the current assignment, with a new `NAME#STAGE#N` tag whose message ends
`(rollback of <current tag>)`. If the current assignment is itself such a
rollback, a second call changes nothing: rolling back is a one-step undo, not a
walk down the history (promote an older version explicitly for that).
`plan_rollback` reads what it would do, and `apply_rollback` writes the tag:
`mlci rollback` (release/deploy.py) moves the MLflow alias between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlci.errors import UsageError
from mlci.registry.fold import fold
from mlci.registry.grammar import ROLLBACK_RE
from mlci.registry.operations import assign, registered
from mlci.registry.state import Registry, load


def _holder_before(
    registry: Registry, name: str, stage: str, tag: str, current: str
) -> tuple[str, str]:
    """(version, its assignment tag) that held `stage` before `tag`, skipping `current`."""
    tags = registry.refs.tags
    cut = next(i for i, t in enumerate(tags) if t.info.tag == tag)
    while True:
        art = fold(tags[:cut], registry.refs.commits).get(name)
        held = art.stage_holders.get(stage) if art else None
        if not held:
            raise UsageError(
                f"nothing to roll back to: no version held {stage} before {tag}",
                hint="a stage tag can be undone with `gto unassign`",
            )
        if held[0].version != current:
            return held[0].version, held[0].authoring.tag
        earlier = held[0].authoring.tag
        cut = next(i for i, t in enumerate(tags) if t.info.tag == earlier)


@dataclass(frozen=True)
class RollbackPlan:
    """What `rollback(NAME, STAGE)` would do, read from the tags; nothing written yet.

    `version` is the version that holds `stage` once the rollback is done; `done`
    says the current assignment is already a rollback (of `rolled_back`), so no
    tag is needed.
    """

    name: str
    stage: str
    current: str  # the version holding the stage now
    current_tag: str  # its assignment tag
    version: str
    commit: str
    version_tag: str  # the registration tag of `version`
    done: bool
    rolled_back: str | None = None


def plan_rollback(root: Path, name: str, stage: str) -> RollbackPlan:
    """The version `stage` goes back to, or that it went back already (UsageError: nothing to)."""
    root = Path(root)
    registry = load(root)
    artifact = registry.artifact(name)
    art = registry.gto_artifacts.get(name)
    held = art.stage_holders.get(stage) if art else None
    if not held:
        raise UsageError(f"{name} has no version in {stage}: nothing to roll back")
    current = held[0]
    assignment = current.authoring
    if marker := ROLLBACK_RE.search(assignment.message):
        done = artifact.version(current.version)
        return RollbackPlan(
            name,
            stage,
            current.version,
            assignment.tag,
            current.version,
            current.commit,
            done.tag if done else "",
            done=True,
            rolled_back=marker["tag"],
        )
    previous, _ = _holder_before(registry, name, stage, assignment.tag, current.version)
    versions = art.versions if art else []
    ver = next((v for v in versions if v.version == previous and not v.discovered), None)
    target = artifact.version(previous)
    if ver is None or target is None:
        raise UsageError(
            f"{stage} was held by {previous} before, which is not a registered version"
        )
    if not ver.is_active:
        raise UsageError(f"{stage} was held by {name} {previous} before, which is deregistered now")
    return RollbackPlan(
        name, stage, current.version, assignment.tag, previous, ver.commit, target.tag, done=False
    )


def apply_rollback(root: Path, plan: RollbackPlan, *, push: bool = False) -> str:
    """Write the stage tag a plan calls for (none when it is done already); returns the tag."""
    if plan.done:
        return plan.current_tag
    root = Path(root)
    registry = load(root)
    ver = registered(registry, plan.name, plan.version)
    message = (
        f"Assigning stage {plan.stage} to artifact {plan.name} version {plan.version} "
        f"(rollback of {plan.current_tag})"
    )
    return assign(root, registry, plan.name, plan.stage, ver, message, push)


def rollback(root: Path, name: str, stage: str, *, push: bool = False) -> str:
    """Give `stage` back to the version that held it before the current assignment.

    Only the tag: `mlci rollback` (release/deploy.py) also moves the MLflow alias.
    Returns the new tag; when the current assignment is itself a rollback,
    nothing is tagged and the current tag is returned.
    """
    return apply_rollback(root, plan_rollback(root, name, stage), push=push)
