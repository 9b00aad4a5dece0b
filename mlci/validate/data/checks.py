"""The result model: one GX expectation result becomes one Check (observed value, expectation in
words, message, the rows of unexpected values, the line of the expectation in its suite)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlci.validate.data import phrases
from mlci.validate.data.readers import first_line
from mlci.validate.data.suites import Dataset
from mlci.validate.results import Check, Severity

__all__ = ["RESULT_FORMAT", "check"]

_EXAMPLES = 5  # unexpected values kept per check
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": _EXAMPLES}


def _plain(value: Any) -> Any:
    """JSON-able (numpy scalars, sets and such as plain values)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _exception(info: Any) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception", True):
            message = entry.get("exception_message")
            if message:
                return first_line(Exception(message)).removeprefix("Error: ")
    return None


def _target(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    for key in ("column_list", "column_A"):
        if key in kwargs:
            columns = (
                kwargs[key]
                if key == "column_list"
                else [kwargs["column_A"], kwargs.get("column_B")]
            )
            return ",".join(str(c) for c in columns)
    return None


def _severity(config: Any) -> Severity:
    value = getattr(config, "severity", None)
    value = getattr(value, "value", value)
    return "warning" if str(value).lower() in {"warning", "info"} else "error"


@dataclass
class _Reading:
    """What one expectation result says, before it becomes a Check."""

    kind: str
    kwargs: dict[str, Any]
    found: dict[str, Any]  # GX's `result`
    subject: str  # the column, or "table"
    expected: str
    passed: bool


def _map_result(item: Dataset, reading: _Reading, details: dict[str, Any]) -> tuple[Any, str]:
    """Observed value and message of a column map expectation (unexpected values, counted)."""
    found, subject, expected = reading.found, reading.subject, reading.expected
    count = int(found.get("unexpected_count") or 0)
    total = int(found.get("element_count") or 0)
    percent = float(found.get("unexpected_percent") or 0.0)
    examples = list(found.get("partial_unexpected_list") or [])[:_EXAMPLES]
    indexes = (found.get("partial_unexpected_index_list") or [])[:_EXAMPLES]
    rows = [where for where in (item.table.where(i) for i in indexes) if where]
    details.update(
        unexpected_count=count,
        element_count=total,
        unexpected_percent=round(percent, 4),
        missing_count=found.get("missing_count"),
        examples=examples,
    )
    if rows:
        details["rows"] = rows
    mostly = reading.kwargs.get("mostly")
    if isinstance(mostly, int | float) and mostly < 1:
        observed = f"{phrases.percentage(100 - percent)} of {total} values"
        if reading.passed:
            return observed, f"{subject}: {expected}"
        return observed, f"{subject}: {expected}, but only {observed} qualify"
    observed = f"{count} of {total} values unexpected"
    if reading.passed:
        return observed, f"{subject}: {expected}"
    if reading.kind == "expect_column_values_to_not_be_null":
        where = f", e.g. {', '.join(rows[:3])}" if rows else ""
        return (
            observed,
            f"{subject}: {count} of {total} values ({phrases.percentage(percent)}) are null{where}",
        )
    where = f" at {rows[0]}" if rows else ""
    sample = f", e.g. {phrases.listing(examples, _EXAMPLES)}{where}" if examples else ""
    return (
        observed,
        f"{subject}: {count} of {total} values ({phrases.percentage(percent)}) fail '{expected}'{sample}",
    )


def _aggregate_result(reading: _Reading, details: dict[str, Any]) -> tuple[Any, str]:
    """Observed value and message of a table or column aggregate expectation."""
    found = reading.found
    observed: Any = found.get("observed_value")
    if isinstance(observed, list) and len(observed) > 10:
        details["observed_value"] = observed
        observed = phrases.listing(observed)
    for key in ("details", "partial_missing_list", "missing_count"):
        if key in found:
            details[key] = found[key]
    if observed is None and found.get("partial_missing_list"):
        observed = f"missing {{{phrases.listing(found['partial_missing_list'])}}}"
    if isinstance(observed, list):
        shown = phrases.listing(observed, 5)
    else:
        shown = observed if isinstance(observed, str) else phrases.literal(observed)
    message = f"{reading.subject}: {reading.expected}"
    return observed, message if reading.passed else f"{message}; observed {shown}"


def check(item: Dataset, outcome: Any) -> Check:
    raw = _plain(outcome.to_json_dict())
    config = raw.get("expectation_config") or {}
    kind = str(config.get("type", "expectation"))
    kwargs = {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"}
    target = _target(kwargs)
    error = _exception(raw.get("exception_info"))
    reading = _Reading(
        kind=kind,
        kwargs=kwargs,
        found=raw.get("result") or {},
        subject=target or "table",
        expected=config.get("description") or phrases.describe(kind, kwargs),
        passed=bool(raw.get("success")) and error is None,
    )
    details: dict[str, Any] = {"kwargs": kwargs}
    if "unexpected_count" in reading.found:
        observed, message = _map_result(item, reading, details)
    else:
        observed, message = _aggregate_result(reading, details)
    if error is not None:
        details["exception"] = error
        message = f"{reading.subject}: cannot evaluate '{reading.expected}': {error}"
    return Check(
        group=item.name,
        name=kind,
        verdict="pass" if reading.passed else "fail",
        severity=_severity(outcome.expectation_config),
        target=target,
        observed=observed,
        expected=reading.expected,
        message=message,
        details=details,
        file=item.suite_file,
        line=item.lines.get(str(config.get("id"))),
    )
