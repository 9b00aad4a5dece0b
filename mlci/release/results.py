"""What a release or a rollback did, step by step, as the CLI shows it and JSON writes it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Outcome", "ReleaseResult", "RollbackResult"]


@dataclass
class Outcome:
    """What one step of a release did: `done`, `reused` (there already) or `skipped` (why)."""

    step: str  # "MLflow", "bento", "smoke test", "image", "alias", "GitHub Release", "deployment"
    status: Literal["done", "reused", "skipped"]
    detail: str


@dataclass
class ReleaseResult:
    tag: str
    event: str
    name: str
    version: str | None = None
    stage: str | None = None
    commit: str | None = None
    mlflow: dict[str, Any] | None = None
    bento: str | None = None
    smoke_tested: bool = False
    release_url: str | None = None
    deployment: str | None = None
    alias: str | None = None
    notes: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def outcome(self, step: str, status: Literal["done", "reused", "skipped"], detail: str) -> None:
        self.outcomes.append(Outcome(step, status, detail))

    @property
    def released(self) -> bool:
        """Whether this run made something: a model version, a bento, a Release, an alias move."""
        return any(o.status == "done" for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"released": self.released}


@dataclass
class RollbackResult:
    name: str
    stage: str
    version: str  # holds the stage now
    previous: str  # held it before this rollback
    tag: str  # the stage tag that records it
    created: bool = False  # a new tag was written (False: the stage was rolled back already)
    pushed: bool = False
    mlflow_version: str | None = None
    alias: str | None = None
    deployment: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
