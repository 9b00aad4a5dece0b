"""The plan: each stage's action, group and runner, and the jobs they make (JSON, PLAN layout).

`to_json()` is the layout docs/plan.md describes and the fanned-out workflows read:
its `branches` is a GitHub Actions `strategy.matrix` as it stands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlci.plan.runners import FALLBACK, union

__all__ = ["Group", "Plan", "PlannedStage", "group_action"]


@dataclass
class PlannedStage:
    name: str
    pipeline: str
    action: str  # run | restore | unchanged
    group: str  # upstream | branch-<n> | join
    runs_on: list[str]
    asked: list[str] | None = None  # the labels it asks for itself (meta, a pattern)
    why: str = ""


@dataclass
class Group:
    name: str
    stages: list[PlannedStage] = field(default_factory=list)
    default_labels: list[str] = field(default_factory=lambda: list(FALLBACK))

    @property
    def targets(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def runs_on(self) -> list[str]:
        return union((s.asked for s in self.stages), self.default_labels)

    @property
    def action(self) -> str:
        return group_action(s.action for s in self.stages)


def group_action(actions: Any) -> str:
    seen = set(actions)
    return next((a for a in ("run", "restore") if a in seen), "unchanged")


@dataclass
class Plan:
    revision: str | None
    remote: str | None
    stages: list[PlannedStage]
    upstream: Group
    branches: list[Group]
    join: Group

    @property
    def fan_out(self) -> bool:
        return sum(1 for b in self.branches if b.action == "run") >= 2

    def to_json(self) -> dict[str, Any]:
        def job(group: Group) -> dict[str, Any]:
            return {"targets": group.targets, "runs-on": group.runs_on, "action": group.action}

        return {
            "revision": self.revision,
            "remote": self.remote,
            "stages": [
                {
                    "name": s.name,
                    "pipeline": s.pipeline,
                    "action": s.action,
                    "group": s.group,
                    "runs-on": s.runs_on,
                }
                for s in self.stages
            ],
            "upstream": job(self.upstream),
            "branches": {
                "include": [
                    {
                        "name": b.stages[0].name,
                        "targets": " ".join(b.targets),
                        "runs-on": json.dumps(b.runs_on),
                        "action": b.action,
                    }
                    for b in self.branches
                ]
            },
            "join": job(self.join),
            "fan-out": self.fan_out,
        }
