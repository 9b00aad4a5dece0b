"""The stage graph as DVC builds it, and the stages `dvc repro TARGETS` would take, in its order.

Read from DVC's own index (every dvc.yaml with foreach and matrix expanded, every .dvc
file, each stage's `wdir` applied), through the repository mlci.dvc opens. The order is
`dvc repro`'s own (`plan_repro` over the graph with frozen stages cut off their deps).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlci.errors import UsageError

__all__ = ["Node", "collect_targets", "full_graph", "stages_for"]


@dataclass
class Node:
    name: str  # DVC's addressing: `train@0`, `sub/dvc.yaml:train`, `data.dvc`
    pipeline: str  # the dvc.yaml or .dvc file declaring it, repo-relative
    needs: list[str]  # the stages of the plan it depends on directly
    meta: Any  # the stage's `meta` in dvc.yaml (interpolated), None for a .dvc file
    stage: Any = field(repr=False, compare=False)  # DVC's Stage object


def _name(stage: Any) -> str:
    return str(stage.addressing)


def _pipeline(repo: Any, stage: Any) -> str:
    return str(os.path.relpath(stage.path, repo.root_dir)).replace(os.sep, "/")


def full_graph(repo: Any) -> dict[str, list[str]]:
    """Every stage of the repository and the stages it depends on, as `dvc dag` draws them."""
    graph = repo.index.graph
    return {_name(s): sorted(_name(d) for d in graph.successors(s)) for s in graph.nodes}


def collect_targets(repo: Any, targets: Sequence[str]) -> list[Any]:
    """The stages `dvc repro TARGETS` starts from; a target DVC does not know is bad input
    (exit 2), named, before any work."""
    from dvc.dvcfile import PROJECT_FILE
    from dvc.exceptions import DvcException
    from dvc.repo.reproduce import collect_stages

    stages: list[Any] = []
    for target in targets or [PROJECT_FILE]:
        try:
            stages.extend(collect_stages(repo, [target]))
        except DvcException as exc:
            text = " ".join(str(exc).split())
            raise UsageError(
                f"unknown target '{target}': {text}",
                hint="`dvc stage list --all` names every stage",
            ) from None
    return list(dict.fromkeys(stages))


def stages_for(repo: Any, targets: Sequence[str] = ()) -> list[Node]:
    """The stages `dvc repro TARGETS` takes, in its order (no targets: ./dvc.yaml's, as DVC)."""
    from dvc.repo.reproduce import get_active_graph, plan_repro

    graph = get_active_graph(repo.index.graph)
    ordered = plan_repro(graph, collect_targets(repo, targets))
    position = {stage: i for i, stage in enumerate(ordered)}
    return [
        Node(
            name=_name(stage),
            pipeline=_pipeline(repo, stage),
            needs=[
                _name(d)
                for d in sorted(
                    (d for d in graph.successors(stage) if d in position), key=position.__getitem__
                )
            ],
            meta=getattr(stage, "meta", None),
            stage=stage,
        )
        for stage in ordered
    ]
