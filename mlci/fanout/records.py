"""Branch records: what one upstream or branch job of a fanned-out pipeline did, and where.

Each job writes one small JSON file (its name, targets, runner labels, the machine's facts
from `mlci.hardware`, its status, its stages from `.mlci/run.json`, its log's tail), uploaded
as an artifact; the join downloads them all and the report shows them. A record comes from
a job that ran pull-request code, so `read` type-checks every field and keeps nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlci.state_files import write_json

__all__ = ["STATUSES", "BranchRecord", "file_name", "read", "read_all", "tail", "write"]

FORMAT = 1
STATUSES = ("ok", "failed", "missing")
TAIL_LINES = 40
TAIL_CHARS = 4000
MAX_BYTES = 256 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass
class BranchRecord:
    name: str  # "upstream", or the branch's name in the plan ("train@0")
    targets: list[str]
    runs_on: list[str]
    status: str  # ok | failed | missing (the job left no record)
    sha: str | None = None
    runner: dict[str, Any] | None = None  # mlci.hardware.Runner.to_dict()
    stages: list[dict[str, Any]] = field(default_factory=list)  # name, status, seconds
    log_tail: str = ""
    job_url: str | None = None
    started_at: str | None = None  # of its `mlci run` (ISO 8601, from .mlci/run.json)
    finished_at: str | None = None
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def gpus(self) -> list[str]:
        gpus = (self.runner or {}).get("gpus") or []
        return [str(g.get("name")) for g in gpus if isinstance(g, dict)]


def tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last `lines` lines of a log (at most `chars` characters), colour codes removed."""
    kept = _ANSI.sub("", text).replace("\r\n", "\n").rstrip("\n").split("\n")[-lines:]
    text = "\n".join(line.rsplit("\r", 1)[-1] for line in kept)  # a progress bar's last state
    return text[-chars:]


def file_name(name: str) -> str:
    """A file name for the record of `name` (stage names hold `@`, `/`, `:`)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "branch"
    return f"{safe}.json"


def write(folder: Path, record: BranchRecord) -> Path:
    return write_json(folder / file_name(record.name), record.to_dict())


class RecordError(ValueError):
    """A file that is not a branch record; the message names the field."""


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{where} must be a string")
    return value


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(f"{where} must be a list of strings")
    return list(value)


def _optional(value: Any, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _stages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise RecordError("stages must be a list")
    stages = []
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            raise RecordError(f"stages[{i}] must be an object")
        seconds = row.get("seconds")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float)
        ):
            raise RecordError(f"stages[{i}].seconds must be a number")
        stages.append(
            {
                "name": _text(row.get("name"), f"stages[{i}].name"),
                "status": _text(row.get("status"), f"stages[{i}].status"),
                "seconds": seconds,
            }
        )
    return stages


def _runner(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError("runner must be an object or null")
    gpus = value.get("gpus") or []
    if not isinstance(gpus, list) or not all(isinstance(g, dict) for g in gpus):
        raise RecordError("runner.gpus must be a list of objects")
    for i, gpu in enumerate(gpus):
        _optional(gpu.get("name"), f"runner.gpus[{i}].name")
    for key in ("os", "runner_name", "cpu_model", "gpu_error"):
        _optional(value.get(key), f"runner.{key}")
    count = value.get("cpu_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise RecordError("runner.cpu_count must be an integer")
    return value


def from_dict(data: Any) -> BranchRecord:
    """The record in `data`, every field checked; RecordError naming the first bad one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordError(f"not a branch record of format {FORMAT}")
    status = data.get("status")
    if status not in STATUSES:
        raise RecordError(f"status is {status!r}, not one of {', '.join(STATUSES)}")
    return BranchRecord(
        name=_text(data.get("name"), "name"),
        targets=_texts(data.get("targets"), "targets"),
        runs_on=_texts(data.get("runs_on"), "runs_on"),
        status=status,
        sha=_optional(data.get("sha"), "sha"),
        runner=_runner(data.get("runner")),
        stages=_stages(data.get("stages", [])),
        log_tail=tail(_text(data.get("log_tail", ""), "log_tail")),
        job_url=_optional(data.get("job_url"), "job_url"),
        started_at=_optional(data.get("started_at"), "started_at"),
        finished_at=_optional(data.get("finished_at"), "finished_at"),
    )


def read(path: Path) -> BranchRecord:
    """One record file; RecordError naming the file when it is not one."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise RecordError(f"{path}: larger than {MAX_BYTES} bytes")
        return from_dict(json.loads(path.read_text(encoding="utf-8")))
    except RecordError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise RecordError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"{path}: cannot be read as a branch record: {exc}") from None


def read_all(folder: Path) -> tuple[list[BranchRecord], list[str]]:
    """Every record in `folder` ("upstream" first, then by name), and a note per bad file."""
    records, notes = [], []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            records.append(read(path))
        except RecordError as exc:
            notes.append(str(exc))
    records.sort(key=lambda r: (r.name != "upstream", r.name))
    return records, notes
