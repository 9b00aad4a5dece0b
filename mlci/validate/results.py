"""Validation results: what `mlci validate data|model` found, as written to `.mlci/validation/<kind>.json`.

The report reads these files; the CLI turns them into a table, exit codes,
workflow annotations and check runs. Stdlib only: the report path imports it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["FORMAT", "Check", "Result", "read", "write"]

FORMAT = 1
Severity = Literal["error", "warning"]
Verdict = Literal["pass", "fail", "warn", "no-baseline", "skipped"]


@dataclass
class Check:
    """One expectation of a suite, one gate, or one model check."""

    group: str  # the suite or dataset for data, "gates" / "model" for the model
    name: str  # expectation type, gate key, or check name
    verdict: Verdict
    severity: Severity = "error"
    target: str | None = None  # column, metric, file
    observed: Any = None
    expected: str | None = None  # the limit or the expectation, in words
    message: str = ""  # one line a person reads
    details: dict[str, Any] = field(default_factory=dict)  # counts, unexpected examples, base value
    file: str | None = (
        None  # where it is declared (for annotations): pyproject.toml, gx/expectations/x.json
    )
    line: int | None = None

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"


@dataclass
class Result:
    kind: Literal["data", "model"]
    checks: list[Check] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # profiles, docs path, latency figures
    # the commit the validated files are of, and whether the workspace had uncommitted changes
    # to tracked files: a report shows only the results of its own head revision
    sha: str | None = None
    dirty: bool = False

    @property
    def errors(self) -> list[Check]:
        return [c for c in self.checks if c.failed and c.severity == "error"]

    @property
    def warnings(self) -> list[Check]:
        return [
            c for c in self.checks if c.verdict == "warn" or (c.failed and c.severity == "warning")
        ]

    @property
    def success(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> str:
        passed = sum(1 for c in self.checks if c.verdict == "pass")
        parts = [f"{passed} of {len(self.checks)} checks passed"]
        if self.errors:
            parts.append(f"{len(self.errors)} failed")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        if baseline := sum(1 for c in self.checks if c.verdict == "no-baseline"):
            parts.append(f"{baseline} without baseline")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        checks = sorted(self.checks, key=lambda c: (not c.failed, c.verdict != "warn"))
        return {
            "format": FORMAT,
            "kind": self.kind,
            "success": self.success,
            "summary": self.summary,
            "checks": [asdict(c) for c in checks],
            "sha": self.sha,
            "dirty": self.dirty,
            **({"extra": self.extra} if self.extra else {}),
        }


def write(state_dir: Path, result: Result) -> Path:
    folder = state_dir / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.kind}.json"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{result.kind}-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(result.to_dict(), handle, indent=2, default=str)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None
