"""`mlci plan`: the stages `mlci run TARGETS` would take, what it would do with each, and the jobs.

The remote is the one `mlci run` uses; an unreachable one is exit 3, as for `mlci run`,
since a plan read from the local run-cache alone would answer differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mlci import config, dvc, git, workspace
from mlci.errors import UsageError
from mlci.plan.document import Group, Plan, PlannedStage
from mlci.plan.runners import asked_for, default_of
from mlci.plan.split import split

__all__ = ["make"]


def make(root: Path, cfg: config.Config, targets: Sequence[str] = ()) -> Plan:
    from mlci.dvc import graph, runcache

    if not (root / ".dvc").is_dir():
        raise UsageError(f"not a DVC repository: {root}", hint="run `dvc init` first")
    if not targets and not (root / workspace.ROOT_PIPELINE).is_file():
        # pipelines in sub-folders only: DVC wants targets (or none at all: exit 2 either way)
        workspace.load_project(root).refuse_without_targets(targets, "plan")
    remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    if remote is not None and not dvc.check_remote(root, remote):
        remote = None  # the embedded folder before the first push: nothing to read
    revision = git.head(root).sha
    with dvc.opened(root, remote) as repo:
        nodes = graph.stages_for(repo, targets)
        outcomes = runcache.decide(
            repo, nodes, remote.name if remote else None, run_cache=cfg.dvc.run_cache
        )
    table = cfg.runners
    default = default_of(table)
    asked = {n.name: asked_for(n.name, n.pipeline, n.meta, table) for n in nodes}
    parts = split(
        [n.name for n in nodes],
        {n.name: n.needs for n in nodes},
        [n.name for n in nodes if not n.stage.cmd],
    )
    stages = [
        PlannedStage(
            name=n.name,
            pipeline=n.pipeline,
            action=outcomes[n.name].action,
            group=parts.group_of(n.name),
            runs_on=asked[n.name] or default,
            asked=asked[n.name],
            why=outcomes[n.name].why,
        )
        for n in nodes
    ]
    by_name = {s.name: s for s in stages}

    def group(name: str, names: list[str]) -> Group:
        return Group(name, [by_name[n] for n in names], default)

    return Plan(
        revision=revision,
        remote=remote.name if remote else None,
        stages=stages,
        upstream=group("upstream", parts.upstream),
        branches=[group(f"branch-{i}", b) for i, b in enumerate(parts.branches)],
        join=group("join", parts.join),
    )
