"""The two decisions a fanned-out workflow takes from `mlci plan --format json`.

- `outputs`: what the plan job hands the others (the branch matrix, the upstream's targets
  and runner, whether to fan out at all: an empty matrix is an error on GitHub).
- `check`: before the join runs `mlci run`, whether every branch finished and nothing but
  join stages is left to run. The join never runs a failed branch's stages itself.

The plan's layout is docs/runners.md's (`mlci plan`); a document of another shape is exit 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.errors import UsageError
from mlci.fanout import records

__all__ = ["Expected", "check", "expected", "load_plan", "outputs"]

UPSTREAM = "upstream"


@dataclass(frozen=True)
class Expected:
    """A job the join waits for a record from."""

    name: str
    targets: list[str]
    runs_on: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "targets": self.targets, "runs-on": self.runs_on}


class _BadPlan(ValueError):
    """A part of the plan that is not what `mlci plan --format json` writes."""


def _fail(where: str, what: str) -> _BadPlan:
    return _BadPlan(f"{where} {what}")


def _labels(value: Any, where: str) -> list[str]:
    if isinstance(value, str):  # a matrix value: a JSON string of labels
        try:
            value = json.loads(value)
        except ValueError:
            raise _fail(where, "is not a JSON list of runner labels") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise _fail(where, "must be a non-empty list of runner labels")
    return value


def _targets(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise _fail(where, "must be stage names")


def load_plan(text: str, source: str = "the plan") -> dict[str, Any]:
    """The plan document in `text`, its parts checked (exit 2 naming `source` and the
    first bad part)."""
    try:
        return _checked(text)
    except _BadPlan as exc:
        raise UsageError(
            f"{source}: {exc}", hint="it must be the output of `mlci plan --format json`"
        ) from None


def _checked(text: str) -> dict[str, Any]:
    try:
        plan = json.loads(text)
    except ValueError as exc:
        raise _fail("is", f"not JSON: {exc}") from None
    if not isinstance(plan, dict):
        raise _fail("is", "not an object")
    for key in ("upstream", "join"):
        if not isinstance(plan.get(key), dict):
            raise _fail(key, "must be an object")
        _targets(plan[key].get("targets", []), f"{key}.targets")
    include = (
        (plan.get("branches") or {}).get("include")
        if isinstance(plan.get("branches"), dict)
        else None
    )
    if not isinstance(include, list) or not all(isinstance(b, dict) for b in include):
        raise _fail("branches.include", "must be a list of objects")
    for i, branch in enumerate(include):
        if not isinstance(branch.get("name"), str):
            raise _fail(f"branches.include[{i}].name", "must be a string")
        _targets(branch.get("targets"), f"branches.include[{i}].targets")
        _labels(branch.get("runs-on"), f"branches.include[{i}].runs-on")
    if not isinstance(plan.get("stages", []), list):
        raise _fail("stages", "must be a list")
    return plan


def _working(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The branches with a stage to run: the matrix (a branch to restore is the join's)."""
    return [b for b in plan["branches"]["include"] if b.get("action") == "run"]


def expected(plan: dict[str, Any]) -> list[Expected]:
    """The jobs of a fanned-out run, in order: the upstream (when it has work), the branches."""
    branches = _working(plan)
    if len(branches) < 2 or plan.get("fan-out") is False:
        return []
    upstream = plan["upstream"]
    jobs = []
    if upstream.get("action") == "run" and _targets(upstream.get("targets", []), "upstream"):
        jobs.append(
            Expected(
                UPSTREAM,
                _targets(upstream["targets"], "upstream.targets"),
                _labels(upstream.get("runs-on") or ["ubuntu-latest"], "upstream.runs-on"),
            )
        )
    for i, b in enumerate(branches):
        jobs.append(
            Expected(b["name"], _targets(b["targets"], f"[{i}]"), _labels(b["runs-on"], f"[{i}]"))
        )
    return jobs


def outputs(plan: dict[str, Any]) -> dict[str, str]:
    """The plan job's outputs. `fan-out` is "false" when fewer than two branches have work:
    the join then runs the whole pipeline, as without fan-out."""
    jobs = expected(plan)
    branches = [j for j in jobs if j.name != UPSTREAM]
    upstream = next((j for j in jobs if j.name == UPSTREAM), None)
    matrix = {
        "include": [
            {
                "name": b.name,
                "targets": " ".join(b.targets),
                "runs-on": json.dumps(b.runs_on),
                # the record's artifact: a name GitHub takes, whatever the stage is called
                "artifact": f"mlci-branch-{i}",
            }
            for i, b in enumerate(branches)
        ]
    }
    return {
        "fan-out": "true" if branches else "false",
        "matrix": json.dumps(matrix, separators=(",", ":")),
        "upstream": " ".join(upstream.targets) if upstream else "",
        "upstream-runs-on": json.dumps(upstream.runs_on if upstream else ["ubuntu-latest"]),
        "expect": json.dumps([j.to_dict() for j in jobs], separators=(",", ":")),
        # the stages the join may still run (`mlci run --restore-only --allow-run`)
        "join": " ".join(_targets(plan["join"].get("targets", []), "join.targets")),
    }


def _expected_from(text: str) -> list[Expected]:
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        raise UsageError("--expect: not JSON (the plan job's `expect` output)") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError("--expect: must be a list of objects (the plan job's `expect` output)")
    return [
        Expected(
            str(r.get("name")),
            _targets(r.get("targets", []), "expect.targets"),
            _labels(r.get("runs-on") or ["ubuntu-latest"], "expect.runs-on"),
        )
        for r in rows
    ]


def check(
    plan: dict[str, Any] | None, found: Path, expect: str, sha: str | None, into: Path
) -> tuple[list[records.BranchRecord], list[str]]:
    """The records of the jobs `expect` names (one saying "missing" for a job that left none,
    or left one for another commit), written to `into` for the report; and the problems: a
    failed or missing job, and, given a plan made now, a stage outside the join that would
    still run (without one, the join's `mlci run --restore-only` refuses such a stage)."""
    jobs = _expected_from(expect)
    have, notes = records.read_all(found)
    by_name = {r.name: r for r in have if sha is None or r.sha == sha}
    kept = []
    for job in jobs:
        record = by_name.get(job.name) or records.BranchRecord(
            name=job.name, targets=job.targets, runs_on=job.runs_on, status="missing", sha=sha
        )
        kept.append(record)
        records.write(into, record)
    problems = [
        f"{'the upstream job' if r.name == UPSTREAM else f'branch {r.name}'} "
        + ("failed" if r.status == "failed" else "left no record: its job did not finish")
        for r in kept
        if r.status != "ok"
    ]
    if plan is None:
        return kept, [*notes, *problems]
    join = set(_targets(plan["join"].get("targets", []), "join.targets"))
    for stage in plan.get("stages", []):
        if not isinstance(stage, dict):
            continue
        name, group = stage.get("name"), stage.get("group")
        if stage.get("action") == "run" and group != "join" and name not in join:
            problems.append(f"stage {name} ({group}) would run in the join: no job pushed it")
    return kept, [*notes, *problems]
