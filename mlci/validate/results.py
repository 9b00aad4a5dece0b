"""Validation results: what `mlci validate data|model` found, as written to `.mlci/validation/<kind>.json`.

The report reads these files; the CLI turns them into a table, exit codes,
workflow annotations and check runs. Stdlib only: the report path imports it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci.state_files import write_json

__all__ = [
    "DRIFT_PSI",
    "FORMAT",
    "Check",
    "Result",
    "count",
    "drift",
    "read",
    "tally",
    "write",
]

FORMAT = 1
_MODEL_NOUN = {"gates": "gate", "model": "model check"}
DRIFT_PSI = 0.1  # a column whose population stability index reaches this has drifted
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
        """How many checks, of which kinds, and what became of them; the counts add up."""
        groups = self.groups()
        if self.kind == "model":
            what = count(len(self.checks), "check")
            parts = [count(len(c), _MODEL_NOUN.get(g, f"{g} check")) for g, c in groups.items()]
        else:
            what = count(len(self.checks), "expectation")
            parts = [f"{g} {len(c)}" for g, c in groups.items()] if len(groups) > 1 else []
        what += f" ({', '.join(parts)})" if parts else ""
        return f"{what}: {tally(self.checks)}" if self.checks else what

    def groups(self) -> dict[str, list[Check]]:
        groups: dict[str, list[Check]] = {}
        for check in self.checks:
            groups.setdefault(check.group, []).append(check)
        return groups

    def group_label(self, group: str) -> str:
        """`4 gates`, `1 model check`, `42 expectations of digits`."""
        number = len(self.groups().get(group, []))
        if self.kind == "model":
            return count(number, _MODEL_NOUN.get(group, f"{group} check"))
        return f"{count(number, 'expectation')} of {group}"

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


def count(number: int, noun: str) -> str:
    """`1 gate`, `4 gates`, `2 model checks`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def tally(checks: list[Check]) -> str:
    """`2 passed, 1 failed, 1 warning, 1 without baseline, 1 skipped`: each check counted once."""
    passed = sum(1 for c in checks if c.verdict == "pass")
    failed = sum(1 for c in checks if c.failed and c.severity == "error")
    warned = sum(1 for c in checks if c.verdict == "warn" or (c.failed and c.severity == "warning"))
    parts = [f"{passed} passed"]
    parts += [f"{failed} failed"] if failed else []
    parts += [count(warned, "warning")] if warned else []
    if baseline := sum(1 for c in checks if c.verdict == "no-baseline"):
        parts.append(f"{baseline} without baseline")
    if skipped := sum(1 for c in checks if c.verdict == "skipped"):
        parts.append(f"{skipped} skipped")
    return ", ".join(parts)


def drift(extra: Any) -> list[str]:
    """The data profiles' drift, one line per dataset: the columns whose PSI reached DRIFT_PSI.

    `extra` is a data validation's `extra` (as written, or as read back from JSON);
    nothing for a model validation.
    """
    profiles = extra.get("profiles") if isinstance(extra, dict) else None
    lines: list[str] = []
    for name, entry in sorted(profiles.items()) if isinstance(profiles, dict) else ():
        if not isinstance(entry, dict):
            continue
        scores = entry.get("psi") if isinstance(entry.get("psi"), dict) else {}
        base = entry.get("base_sha")
        against = f" vs {str(base)[:8]}" if isinstance(base, str) and base else ""
        if entry.get("note"):
            lines.append(f"{name}: no drift score: {entry['note']}")
        elif entry.get("base") is None or not scores:
            lines.append(f"{name}: no drift score: no base revision to compare with")
        else:
            numbers = {str(c): float(v) for c, v in scores.items() if isinstance(v, int | float)}
            drifted = sorted(
                ((c, v) for c, v in numbers.items() if v >= DRIFT_PSI), key=lambda cv: -cv[1]
            )
            head = f"{name}{against}: {len(drifted)} of {count(len(numbers), 'column')} drifted (PSI ≥ {DRIFT_PSI:g})"
            if drifted:
                shown = ", ".join(f"{c} {v:.3g}" for c, v in drifted[:5])
                more = f", {len(drifted) - 5} more" if len(drifted) > 5 else ""
                head += f": {shown}{more}"
            lines.append(head)
    return lines


def write(state_dir: Path, result: Result) -> Path:
    path = state_dir / "validation" / f"{result.kind}.json"
    return write_json(path, result.to_dict(), sort_keys=False)


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None
