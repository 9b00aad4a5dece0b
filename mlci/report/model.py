"""The Report: what changed between a base and a head revision. Renderers read it.

`Report.to_dict` is mlci's JSON document (docs/report.md); `load` reads one back. A
saved report may come from a pull request's run, even a fork's, so `load` treats it
as data anyone could have written: every field is type-checked (`mlci.report.reading`),
values stay JSON values for the escaping renderers, and validation verdicts are
recomputed from the checks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from mlci.diff import DataChange, MetricChange, ParamChange, StageChange, Status
from mlci.errors import UsageError
from mlci.report import branches
from mlci.report.reading import Reader
from mlci.snapshot import PlotSpec, to_json
from mlci.validate.results import Result

__all__ = ["JSON_FORMAT", "Plot", "Report", "Revision", "StageRow", "load"]

JSON_FORMAT = 1
MAX_JSON_BYTES = 20 * 1024 * 1024
RUNS = ("ran", "cached", "unchanged", "failed")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


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
    problems: list[str] = field(default_factory=list)  # bad input (also in notes): exit 2
    metrics_declared: bool = True  # some dvc.yaml declares metrics (read or not)
    branches: list[dict[str, Any]] = field(default_factory=list)  # a fanned-out run's jobs

    @property
    def no_metrics_line(self) -> str:
        """What the metrics section says when it has no row."""
        if not self.metrics_declared:
            return "No metrics declared in dvc.yaml."
        return "No metric could be read: see the notes."

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
                        "pipeline": m.pipeline,
                        "unread": m.unread,
                    }
                    for m in self.metrics
                ],
                "params": [
                    {
                        "file": p.file,
                        "name": p.name,
                        "base": p.base,
                        "head": p.head,
                        "pipeline": p.pipeline,
                        "unread": p.unread,
                    }
                    for p in self.params
                ],
                "data": [
                    {
                        "path": d.path,
                        "status": d.status,
                        "old_path": d.old_path,
                        "within": d.within,
                        "source": _source(d),
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
                "branches": self.branches,
                "mlflow": self.mlflow,
                "notes": self.notes,
                "problems": self.problems,
            }
        )
        return document

    @classmethod
    def from_dict(cls, document: Any, source: str = "the report") -> Report:
        """The Report of a JSON document written by `to_dict`; UsageError naming `source` and
        the field when it is not one. Plots are not in the document: the result has none."""
        return _Reader(source).report(document)

    def validation_results(self) -> list[Result]:
        """The validation results carried by the report (rows of unreadable files have none)."""
        return [Reader("the report").result(row, "") for row in self.validation if "kind" in row]


def _source(change: DataChange) -> str | None:
    """The .dvc file or `dvc.lock:stage` a data row comes from: which pipeline it is part of."""
    version = change.head or change.base
    return version.source if version else None


def load(path: Path) -> Report:
    """The report saved in `path` by `mlci report --format json` (exit 2 naming it otherwise)."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise UsageError(f"{path}: larger than {MAX_JSON_BYTES} bytes, not an mlci report")
        # strict JSON since mlci writes NaN as "NaN"; older reports wrote a bare NaN
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the report {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not a JSON document: {exc}") from None
    return Report.from_dict(document, str(path))


class _Reader(Reader):
    """The report's own rows: its revisions, its stages, the document itself."""

    def revision(self, value: Any, where: str) -> Revision | None:
        row = self.object(value, where)
        if row is None:
            return None
        sha = self.optional_text(row.get("sha"), f"{where}.sha")
        if sha is not None and not _SHA.fullmatch(sha):
            raise self.fail(f"{where}.sha", "must be a commit id (40 or 64 hex digits) or null")
        return Revision(rev=self.text(row.get("rev"), f"{where}.rev"), sha=sha)

    def stage(self, row: dict[str, Any], where: str) -> StageRow:
        changed = self.object(row.get("changed"), f"{where}.changed") or {}
        return StageRow(
            change=StageChange(
                name=self.text(row.get("name"), f"{where}.name"),
                status=self.choice(row.get("status"), f"{where}.status", get_args(Status)),
                cmd=self.flag(changed.get("cmd", False), f"{where}.changed.cmd") is True,
                deps=self.texts(changed.get("deps", []), f"{where}.changed.deps"),
                params=self.texts(changed.get("params", []), f"{where}.changed.params"),
                outs=self.texts(changed.get("outs", []), f"{where}.changed.outs"),
            ),
            run=None if row.get("run") is None else self.choice(row["run"], f"{where}.run", RUNS),
            seconds=self.number(row.get("seconds"), f"{where}.seconds"),
        )

    def report(self, document: Any) -> Report:
        if not isinstance(document, dict) or "format" not in document:
            raise self.fail("is", "not an mlci report (no `format`)")
        if document["format"] != JSON_FORMAT:
            raise UsageError(
                f"{self.source}: report format {document['format']!r}; this mlci reads format {JSON_FORMAT}",
                hint="render it with the mlci version that wrote it",
            )
        head = self.revision(document.get("head"), "head")
        if head is None:
            raise self.fail("head", "is missing")
        stages = [self.stage(row, where) for row, where in self.rows(document, "stages")]
        params = [self.param(row, where) for row, where in self.rows(document, "params")]
        return Report(
            id=self.text(document.get("id"), "id"),
            base=self.revision(document.get("base"), "base"),
            head=head,
            metrics=[self.metric(row, where) for row, where in self.rows(document, "metrics")],
            params=params,
            data=[self.data(row, where) for row, where in self.rows(document, "data")],
            stages=stages,
            validation=[
                self.validation(row, where) for row, where in self.rows(document, "validation")
            ],
            runner=self.runner(document.get("runner")),
            branches=branches.from_document(document.get("branches"), self.fail),
            mlflow=self.mlflow(document.get("mlflow")),
            # the document keeps each stage's run, not the run's summary: the headline counts
            # the stages' runs when there are any
            run={} if any(s.run for s in stages) else None,
            notes=self.texts(document.get("notes", []), "notes"),
            problems=self.texts(document.get("problems", []), "problems"),
            # with no metric row, a note says why (declared but unreadable); none: undeclared
            metrics_declared=bool(document.get("metrics") or document.get("notes")),
            # unchanged params are listed only with --all
            all_params=any(not p.changed for p in params),
        )
