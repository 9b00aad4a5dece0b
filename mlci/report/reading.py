"""The field checks of a saved report: each value's type, each error naming the document and the field.

A saved report may come from a pull request's run, even a fork's: every field is checked,
values stay JSON values for the escaping renderers, and validation verdicts are recomputed
from the checks. `mlci.report.model` reads the report's own rows with these.
"""

from __future__ import annotations

import math
from typing import Any, get_args

from mlci.data_diff import DataStatus
from mlci.diff import DataChange, MetricChange, ParamChange, Side
from mlci.errors import UsageError
from mlci.snapshot import DataVersion, from_json_value
from mlci.validate.results import Check, Result, Severity, Verdict

__all__ = ["Reader"]


class Reader:
    """Type checks for one document; each error names the document and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, what: str) -> UsageError:
        return UsageError(
            f"{self.source}: {where} {what}",
            hint="it must be a report written by `mlci report --format json`",
        )

    def objects(self, value: Any, where: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(where, "must be a list of objects")
        return value

    def object(self, value: Any, where: str) -> dict[str, Any] | None:
        if value is None or isinstance(value, dict):
            return value
        raise self.fail(where, "must be an object or null")

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "must be a string")
        return value

    def optional_text(self, value: Any, where: str) -> str | None:
        return None if value is None else self.text(value, where)

    def texts(self, value: Any, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, "must be a list of strings")
        return value

    def integer(self, value: Any, where: str) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise self.fail(where, "must be an integer or null")

    def number(self, value: Any, where: str) -> float | None:
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(where, "must be a number or null")
        return float(value)

    def flag(self, value: Any, where: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(where, "must be true, false or null")

    def choice(self, value: Any, where: str, allowed: tuple[str, ...]) -> Any:
        if value not in allowed:
            raise self.fail(where, f"is {value!r}, not one of {', '.join(allowed)}")
        return value

    def metric(self, row: dict[str, Any], where: str) -> MetricChange:
        interval = row.get("interval")
        if interval is not None and not (isinstance(interval, list) and len(interval) == 2):
            raise self.fail(f"{where}.interval", "must be [low, high] or null")
        low, high = (self.number(v, f"{where}.interval") for v in interval or (None, None))
        return MetricChange(
            **self._change(row, where),
            change=self.number(row.get("change"), f"{where}.change"),
            significant=self.flag(row.get("significant"), f"{where}.significant"),
            interval=(low, high) if low is not None and high is not None else None,
        )

    def param(self, row: dict[str, Any], where: str) -> ParamChange:
        return ParamChange(**self._change(row, where))

    def _change(self, row: dict[str, Any], where: str) -> dict[str, Any]:
        """The fields a metric row and a param row share."""
        return {
            "file": self.text(row.get("file"), f"{where}.file"),
            "name": self.text(row.get("name"), f"{where}.name"),
            "base": from_json_value(row.get("base")),
            "head": from_json_value(row.get("head")),
            "pipeline": self.optional_text(row.get("pipeline"), f"{where}.pipeline"),
            "unread": None
            if row.get("unread") is None
            else self.choice(row["unread"], f"{where}.unread", get_args(Side)),
        }

    def data(self, row: dict[str, Any], where: str) -> DataChange:
        path = self.text(row.get("path"), f"{where}.path")

        def version(side: str) -> DataVersion | None:
            digest = self.optional_text(row.get(f"{side}_hash"), f"{where}.{side}_hash")
            size = self.integer(row.get(f"{side}_size"), f"{where}.{side}_size")
            files = self.integer(row.get(f"{side}_files"), f"{where}.{side}_files")
            if digest is None and size is None and files is None:
                return None
            source = self.optional_text(row.get("source"), f"{where}.source") or "report"
            return DataVersion(path=path, hash=digest, size=size, files=files, source=source)

        return DataChange(
            path=path,
            status=self.choice(row.get("status"), f"{where}.status", get_args(DataStatus)),
            base=version("base"),
            head=version("head"),
            old_path=self.optional_text(row.get("old_path"), f"{where}.old_path"),
            within=self.optional_text(row.get("within"), f"{where}.within"),
        )

    def check(self, row: dict[str, Any], where: str) -> Check:
        details = self.object(row.get("details", {}), f"{where}.details")
        return Check(
            group=self.text(row.get("group"), f"{where}.group"),
            name=self.text(row.get("name"), f"{where}.name"),
            verdict=self.choice(row.get("verdict"), f"{where}.verdict", get_args(Verdict)),
            severity=self.choice(
                row.get("severity", "error"), f"{where}.severity", get_args(Severity)
            ),
            target=self.optional_text(row.get("target"), f"{where}.target"),
            observed=row.get("observed"),
            expected=self.optional_text(row.get("expected"), f"{where}.expected"),
            message=self.text(row.get("message", ""), f"{where}.message"),
            details=details or {},
            file=self.optional_text(row.get("file"), f"{where}.file"),
            line=self.integer(row.get("line"), f"{where}.line"),
        )

    def result(self, row: dict[str, Any], where: str) -> Result:
        checks = self.objects(row.get("checks", []), f"{where}.checks")
        return Result(
            kind=self.choice(row.get("kind"), f"{where}.kind", ("data", "model")),
            checks=[self.check(c, f"{where}.checks[{i}]") for i, c in enumerate(checks)],
            extra=self.object(row.get("extra", {}), f"{where}.extra") or {},
            sha=self.optional_text(row.get("sha"), f"{where}.sha"),
            dirty=row.get("dirty") is True,
        )

    def validation(self, row: dict[str, Any], where: str) -> dict[str, Any]:
        if "kind" not in row:  # a validation file the run could not read
            return {
                "file": self.text(row.get("file"), f"{where}.file"),
                "success": False,
                "error": self.text(row.get("error", "unreadable"), f"{where}.error"),
            }
        # success and summary are recomputed from the checks, never taken from the document
        result = self.result(row, where)
        return {"file": f"{result.kind}.json", **result.to_dict()}

    def runner(self, value: Any) -> dict[str, Any] | None:
        runner = self.object(value, "runner")
        if runner is None:
            return None
        self.optional_text(runner.get("os"), "runner.os")
        self.integer(runner.get("cpu_count"), "runner.cpu_count")
        for i, gpu in enumerate(self.objects(runner.get("gpus", []), "runner.gpus")):
            self.optional_text(gpu.get("name"), f"runner.gpus[{i}].name")
        return runner

    def mlflow(self, value: Any) -> dict[str, Any] | None:
        mlflow = self.object(value, "mlflow")
        if mlflow is not None:
            self.optional_text(mlflow.get("run_id"), "mlflow.run_id")
            self.optional_text(mlflow.get("url"), "mlflow.url")
        return mlflow

    def rows(self, document: dict[str, Any], key: str) -> list[tuple[dict[str, Any], str]]:
        return [
            (row, f"{key}[{i}]") for i, row in enumerate(self.objects(document.get(key, []), key))
        ]
