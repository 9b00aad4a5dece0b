"""The branches of a fanned-out pipeline in the report (docs/actions.md, `fan-out`).

The join downloads each branch job's record (mlci.fanout.records) into `.mlci/branches/`;
the report keeps them as `branches` and its Pipeline section shows, per branch, the runner
and GPU it had, and a failed branch by name with its log's tail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.fanout import records
from mlci.report import safe

__all__ = ["Line", "from_document", "lines", "markdown", "read"]

FOLDER = "branches"
_STATUS = {"ok": "finished", "failed": "failed", "missing": "no record"}


def read(
    state: Path, why_not: Callable[[str, Any], str | None]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The records in `state`/branches made for the report's head, and notes for the rest.
    `why_not(what, sha)` says why a record made for `sha` is not the head's (None: it is)."""
    found, notes = records.read_all(state / FOLDER)
    kept = []
    for record in found:
        if why := why_not(f"the branch record {record.name}", record.sha):
            notes.append(why)
        else:
            kept.append(record.to_dict())
    return kept, notes


def from_document(value: Any, fail: Callable[[str, str], Exception]) -> list[dict[str, Any]]:
    """The `branches` of a saved report, each re-checked as a record (a report can come
    from a fork's run); `fail(where, what)` makes the error naming the field."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail("branches", "must be a list of objects")
    rows = []
    for i, row in enumerate(value):
        try:
            rows.append(records.from_dict(row).to_dict())
        except records.RecordError as exc:
            raise fail(f"branches[{i}]", str(exc)) from None
    return rows


@dataclass(frozen=True)
class Line:
    """One branch as both renderers show it, plain text (each renderer escapes)."""

    name: str
    stages: str
    runs_on: str
    runner: str
    gpu: str
    status: str  # finished, failed, no record
    ran: int
    seconds: float
    log_tail: str


def lines(rows: list[dict[str, Any]]) -> list[Line]:
    """The report's `branches`, one Line each, in the order of the records."""
    found = []
    for row in rows:
        record = records.from_dict(row)
        runner = record.runner or {}
        error = runner.get("gpu_error")
        gpu = ", ".join(record.gpus) or ("no GPU" if record.runner else str(error or "—"))
        found.append(
            Line(
                name=record.name,
                stages=" ".join(record.targets),
                runs_on=", ".join(record.runs_on),
                runner=str(runner.get("runner_name") or runner.get("os") or ""),
                gpu=gpu,
                status=_STATUS.get(record.status, record.status),
                ran=sum(1 for s in record.stages if s["status"] == "ran"),
                seconds=sum(
                    s["seconds"] for s in record.stages if s["status"] == "ran" and s["seconds"]
                ),
                log_tail=record.log_tail,
            )
        )
    return found


def markdown(rows: list[dict[str, Any]]) -> str:
    """A table of the branches (job, stages, runner labels, machine, GPU, status, time), then
    the log tail of each that failed."""
    if not rows:
        return ""
    table = [
        "| job | stages | runs on | runner | GPU | status | time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    failed = []
    for line in lines(rows):
        status = (
            f"finished, {line.ran} ran"
            if line.status == "finished"
            else f"**{safe.cell(line.status)}**"
        )
        cells = [line.name, line.stages, line.runs_on, line.runner, line.gpu]
        time = f"{line.seconds:.1f}s" if line.seconds else ""
        table.append("| " + " | ".join([*map(safe.cell, cells), status, time]) + " |")
        if line.status != "finished":
            failed.append(line)
    parts = ["\n".join(table)]
    for line in failed:
        what = f"{line.name} failed" if line.status == "failed" else f"{line.name}: no record"
        body = (
            safe.fenced(line.log_tail)
            if line.log_tail
            else "Its job left no log tail: see the job's own log."
        )
        parts.append(safe.details(what, body))
    return "\n\n".join(parts)
