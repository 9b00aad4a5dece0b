"""The branches of a fanned-out pipeline in the report (docs/actions.md, `fan-out`).

The join downloads each branch job's record (mlci.fanout.records) into `.mlci/branches/`;
the report keeps them as `branches` and its Pipeline section shows, per branch, the runner
and GPU it had, and a failed branch by name with its log's tail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlci.fanout import records
from mlci.report import safe

__all__ = ["from_document", "markdown", "read"]

FOLDER = "branches"
_STATUS = {"ok": "finished", "failed": "**failed**", "missing": "**no record**"}


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


def _gpu(record: records.BranchRecord) -> str:
    names = record.gpus
    if names:
        return ", ".join(safe.cell(n) for n in names)
    error = (record.runner or {}).get("gpu_error")
    return "no GPU" if record.runner else "—" if not error else safe.cell(error)


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
    for row in rows:
        record = records.from_dict(row)
        runner = record.runner or {}
        seconds = sum(s["seconds"] for s in record.stages if s["status"] == "ran" and s["seconds"])
        ran = sum(1 for s in record.stages if s["status"] == "ran")
        status = _STATUS.get(record.status, safe.cell(record.status))
        if record.status == "ok":
            status += f", {ran} ran"
        table.append(
            "| "
            + " | ".join(
                [
                    safe.cell(record.name),
                    safe.cell(" ".join(record.targets)),
                    safe.cell(", ".join(record.runs_on)),
                    safe.cell(runner.get("runner_name") or runner.get("os")),
                    _gpu(record),
                    status,
                    f"{seconds:.1f}s" if seconds else "",
                ]
            )
            + " |"
        )
        if record.status != "ok":
            failed.append(record)
    parts = ["\n".join(table)]
    for record in failed:
        what = f"{record.name} failed" if record.status == "failed" else f"{record.name}: no record"
        body = (
            safe.fenced(record.log_tail)
            if record.log_tail
            else "Its job left no log tail: see the job's own log."
        )
        parts.append(safe.details(what, body))
    return "\n\n".join(parts)
