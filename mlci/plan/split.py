"""How a pipeline's stages split across jobs: a shared upstream, independent branches, a join.

Pure: stage names and what each depends on, in DVC's order. The upstream starts as
the data sources (.dvc files: a checkout, no command) and grows from the top while
the rest has a single entry point, stage by stage, so that it is closed under
dependencies. The first stages left without a dependency outside the upstream head
the branches; a stage reached from one head only belongs to that head's branch; a
stage reached from two or more (and everything after it) is the join. Branches then
share no stage and depend on nothing of each other: each can run on its own runner
once the upstream has pushed. Fewer than two branches: everything is upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Split", "split"]


@dataclass
class Split:
    upstream: list[str]
    branches: list[list[str]]  # each in DVC's order; the branches in their heads' order
    join: list[str]

    def group_of(self, name: str) -> str:
        if name in self.upstream:
            return "upstream"
        for i, branch in enumerate(self.branches):
            if name in branch:
                return f"branch-{i}"
        return "join"


def _heads_of(
    order: Sequence[str], needs: Mapping[str, Sequence[str]], upstream: set[str]
) -> dict[str, set[str]]:
    """For each stage outside the upstream, the heads (first stages outside it) that lead to it."""
    reached: dict[str, set[str]] = {}
    for name in order:  # DVC's order puts every stage after what it depends on
        if name in upstream:
            continue
        inner = [n for n in needs.get(name, ()) if n not in upstream]
        reached[name] = set().union(*(reached[n] for n in inner)) if inner else {name}
    return reached


def split(
    order: Sequence[str], needs: Mapping[str, Sequence[str]], sources: Sequence[str] = ()
) -> Split:
    """`order`: the stages in DVC's order; `needs`: what each depends on; `sources`: data sources."""
    upstream = set(sources)
    while True:
        reached = _heads_of(order, needs, upstream)
        heads = [n for n in order if reached.get(n) == {n}]
        if len(heads) >= 2 or not reached:
            break
        upstream.update(heads)  # a single entry point: it is shared by all that follows
    if not reached:
        return Split(upstream=list(order), branches=[], join=[])
    branches = [[n for n in order if reached.get(n) == {head}] for head in heads]
    join = [n for n in order if n in reached and len(reached[n]) > 1]
    return Split(upstream=[n for n in order if n in upstream], branches=branches, join=join)
