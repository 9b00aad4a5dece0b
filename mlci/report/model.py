"""The Report: what changed between a base and a head revision. Renderers read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlci.diff import DataChange, MetricChange, ParamChange, StageChange
from mlci.snapshot import PlotSpec, to_json

__all__ = ["Plot", "Report", "Revision", "StageRow"]

JSON_FORMAT = 1


@dataclass(frozen=True)
class Revision:
    rev: str  # as asked for: "workspace", "main", a sha, "origin/main"
    sha: str | None  # None for the workspace

    @property
    def label(self) -> str:
        if self.sha is None:
            return self.rev
        if self.sha.startswith(self.rev):  # the revision was given as a sha
            return self.sha[:8]
        return f"{self.rev} ({self.sha[:8]})"


@dataclass
class StageRow:
    change: StageChange
    run: str | None = None  # ran | cached | unchanged | failed, from .mlci/run.json
    seconds: float | None = None


@dataclass
class Plot:
    spec: PlotSpec
    base: dict[str, bytes]  # file -> contents at base
    head: dict[str, bytes]


@dataclass
class Report:
    id: str
    base: Revision | None
    head: Revision
    metrics: list[MetricChange]
    params: list[ParamChange]
    data: list[DataChange]
    stages: list[StageRow]
    plots: list[Plot] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    runner: dict[str, Any] | None = None
    mlflow: dict[str, Any] | None = None
    run: dict[str, Any] | None = None  # summary of .mlci/run.json when it describes the head
    notes: list[str] = field(default_factory=list)  # what could not be read, and why
    all_params: bool = False

    @property
    def changed_metrics(self) -> list[MetricChange]:
        return [m for m in self.metrics if m.changed]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON document (docs/report.md). Values are exact; rounding is for display."""

        def rev(r: Revision | None) -> dict[str, Any] | None:
            return {"rev": r.rev, "sha": r.sha} if r else None

        document: dict[str, Any] = to_json(
            {
                "format": JSON_FORMAT,
                "id": self.id,
                "base": rev(self.base),
                "head": rev(self.head),
                "metrics": [
                    {
                        "file": m.file,
                        "name": m.name,
                        "base": m.base,
                        "head": m.head,
                        "change": m.change,
                        "significant": m.significant,
                        "interval": list(m.interval) if m.interval else None,
                    }
                    for m in self.metrics
                ],
                "params": [
                    {"file": p.file, "name": p.name, "base": p.base, "head": p.head}
                    for p in self.params
                ],
                "data": [
                    {
                        "path": d.path,
                        "status": d.status,
                        "base_hash": d.base.hash if d.base else None,
                        "head_hash": d.head.hash if d.head else None,
                        "base_size": d.base.size if d.base else None,
                        "head_size": d.head.size if d.head else None,
                        "base_files": d.base.files if d.base else None,
                        "head_files": d.head.files if d.head else None,
                    }
                    for d in self.data
                ],
                "stages": [
                    {
                        "name": s.change.name,
                        "status": s.change.status,
                        "changed": {
                            "cmd": s.change.cmd,
                            "deps": s.change.deps,
                            "params": s.change.params,
                            "outs": s.change.outs,
                        },
                        "run": s.run,
                        "seconds": s.seconds,
                    }
                    for s in self.stages
                ],
                "validation": self.validation,
                "runner": self.runner,
                "mlflow": self.mlflow,
                "notes": self.notes,
            }
        )
        return document
