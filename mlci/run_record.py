"""`.mlci/run.json`: what the last `mlci run` did, for `mlci report` to read later."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlci.state_files import write_json

__all__ = ["RunRecord", "StageRecord", "read", "write"]

FORMAT = 1
FILENAME = "run.json"


@dataclass
class StageRecord:
    name: str
    status: str  # ran | cached | unchanged | failed
    seconds: float


@dataclass
class RunRecord:
    started_at: str
    finished_at: str = ""
    status: str = "ok"  # ok | failed
    git: dict[str, Any] = field(default_factory=dict)
    ci: dict[str, Any] = field(default_factory=dict)
    stages: list[StageRecord] = field(default_factory=list)
    remote: dict[str, Any] | None = None
    hardware: dict[str, Any] = field(default_factory=dict)
    mlflow: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    lock_digest: str | None = None
    error: str | None = None
    format: int = FORMAT

    @property
    def sha(self) -> str | None:
        """The commit the run was made at (`git.sha`)."""
        sha = self.git.get("sha")
        return sha if isinstance(sha, str) else None

    @property
    def dirty(self) -> bool:
        """Whether tracked files had uncommitted changes when it started (`git.dirty`)."""
        return self.git.get("dirty") is True

    @property
    def ran(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "ran"]

    @property
    def cached(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "cached"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["stages"] = [StageRecord(**s) for s in known.get("stages", [])]
        return cls(**known)


def write(state_dir: Path, record: RunRecord) -> Path:
    return write_json(state_dir / FILENAME, record.to_dict())


def read(state_dir: Path) -> RunRecord | None:
    path = state_dir / FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunRecord.from_dict(data) if data.get("format") == FORMAT else None
    except (OSError, ValueError, TypeError):
        return None
