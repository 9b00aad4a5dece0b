"""The gates of [tool.mlci.gates]: each a metric of the report held to limits, absolute (min, max)
or against the base (max_drop, max_rise, require_significant).

Gates read the metrics of the report (base and head values, and the paired-bootstrap
significance where predictions allow one); they never recompute a metric. The report
builder is imported when needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import UsageError
from mlci.validate.model.declared import PYPROJECT, line_of
from mlci.validate.results import Check, Verdict

if TYPE_CHECKING:
    from mlci.config import Config, GateConfig
    from mlci.diff import MetricChange
    from mlci.report.model import Report

__all__ = ["gates"]


def gates(
    root: Path, cfg: Config, *, base: str | None, head: str, extra: dict[str, Any]
) -> list[Check]:
    from mlci.report.build import build

    report = build(root, cfg, base=base, head=head)
    extra["base"] = report.base.label if report.base else None
    extra["head"] = report.head.label
    if report.notes:
        extra["notes"] = list(report.notes)
    return [_gate(cfg, report, key, gate) for key, gate in cfg.gates.items()]


def _where(cfg: Config, key: str) -> str:
    line = line_of(cfg, "gates", key)
    file = PYPROJECT if cfg.file is None else cfg.file.name
    return f"{file}:{line}" if line else file


def _match(cfg: Config, report: Report, key: str) -> MetricChange:
    """The metric a gate key names at head: 'file:name' exactly, else 'name' in one file."""
    at_head = [m for m in report.metrics if m.head is not None]
    exact = [m for m in at_head if f"{m.file}:{m.name}" == key]
    if exact:
        return exact[0]
    named = [m for m in at_head if m.name == key]
    if len(named) == 1:
        return named[0]
    where = _where(cfg, key)
    if named:
        files = ", ".join(sorted(m.file for m in named))
        raise UsageError(
            f"{where}: gate '{key}' is ambiguous: the metric is in {files}",
            hint=f'name one: [tool.mlci.gates."{named[0].file}:{key}"]',
        )
    known = sorted(dict.fromkeys(m.name for m in at_head))
    shown = ", ".join(known[:12]) + (", …" if len(known) > 12 else "") if known else "none"
    missing = [n for n in report.notes if f" at {report.head.rev}: " in n]
    unavailable = f" ({'; '.join(missing)})" if missing else ""
    raise UsageError(
        f"{where}: gate '{key}': no such metric at {report.head.label}{unavailable}; "
        f"metrics there: {shown}",
        hint="a gate key is a metric name, or 'file:name' (as `mlci report` shows them)",
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: float, precision: int) -> str:
    return f"{value:.{max(precision, 1)}g}"


def _tolerance(spec: float | str, base: float) -> tuple[float, str]:
    """(allowed change, its words) of a max_drop/max_rise: absolute, or a percentage of |base|."""
    if isinstance(spec, str):
        percent = float(spec.strip().removesuffix("%"))
        return percent / 100 * abs(base), spec.strip()
    return float(spec), ""


@dataclass
class _Verdicts:
    expected: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    no_baseline: bool = False


def _significance_unknown(cfg: Config, report: Report, row: MetricChange) -> str:
    if not cfg.report.predictions:
        return "significance cannot be computed: no per-sample predictions ([tool.mlci.report] predictions)"
    if row.name not in cfg.report.significance:
        return (
            f"significance cannot be computed: no statistic for '{row.name}' "
            "in [tool.mlci.report] significance"
        )
    why = [n.removeprefix("significance: ") for n in report.notes if n.startswith("significance")]
    return "significance cannot be computed" + (f": {'; '.join(why)}" if why else "")


def _exceeds(moved: float, allowed: float) -> bool:
    # a change exactly at the limit passes, whatever the last bits of the subtraction
    return moved > allowed and not math.isclose(moved, allowed, rel_tol=1e-9, abs_tol=1e-12)


def _relative(
    cfg: Config, report: Report, gate: GateConfig, row: MetricChange, value: float, out: _Verdicts
) -> None:
    """max_drop, max_rise, require_significant: against the base value."""
    p = cfg.report.precision
    base_value = _number(row.base)
    if base_value is None or not math.isfinite(base_value):
        for spec, word in ((gate.max_drop, "drop"), (gate.max_rise, "rise")):
            if spec is not None:
                out.expected.append(f"{word} ≤ {spec}")
        if gate.require_significant:
            out.expected.append("a gain is significant")
        out.no_baseline = True
        return
    change = value - base_value
    for spec, word, moved in (
        (gate.max_drop, "drop", base_value - value),
        (gate.max_rise, "rise", value - base_value),
    ):
        if spec is None:
            continue
        allowed, percent = _tolerance(spec, base_value)
        limit = f"{percent} of base {_fmt(base_value, p)}" if percent else _fmt(allowed, p)
        out.expected.append(f"{word} ≤ {limit}")
        if _exceeds(moved, allowed):
            relative = f" ({moved / abs(base_value):.2%})" if base_value else ""
            out.failures.append(
                f"{word} of {_fmt(moved, p)}{relative} from base {_fmt(base_value, p)} "
                f"exceeds {limit}" + (f" = {_fmt(allowed, p)}" if percent else "")
            )
    if gate.require_significant:
        out.expected.append("a gain is significant")
        if change > 0:
            if row.significant is False:
                interval = (
                    f" (95% interval of the change [{_fmt(row.interval[0], p)}, "
                    f"{_fmt(row.interval[1], p)}] includes 0)"
                    if row.interval
                    else ""
                )
                out.failures.append(f"gain within noise: +{_fmt(change, p)}{interval}")
            elif row.significant is None:
                out.warnings.append(_significance_unknown(cfg, report, row))


def _absolute(gate: GateConfig, value: float, precision: int, out: _Verdicts) -> None:
    """min and max: on the head value alone."""
    if gate.min is not None:
        out.expected.append(f"≥ {_fmt(gate.min, precision)}")
    if gate.max is not None:
        out.expected.append(f"≤ {_fmt(gate.max, precision)}")
    if not math.isfinite(value):
        out.failures.append(f"the value is {value}")
    elif gate.min is not None and value < gate.min:
        out.failures.append(
            f"{_fmt(value, precision)} is below the minimum {_fmt(gate.min, precision)}"
        )
    elif gate.max is not None and value > gate.max:
        out.failures.append(
            f"{_fmt(value, precision)} is above the maximum {_fmt(gate.max, precision)}"
        )


def _verdict(cfg: Config, report: Report, row: MetricChange, out: _Verdicts) -> tuple[Verdict, str]:
    baseline = ""
    if out.no_baseline:
        baseline = (
            "no baseline: no base revision to compare with"
            if report.base is None
            else f"no baseline: {row.file}:{row.name} has no numeric value at {report.base.label}"
        )
        if cfg.strict:
            out.failures.append(f"{baseline} (strict = true)")
    if out.failures:
        return "fail", "; ".join(out.failures)
    if out.warnings:
        return "warn", "; ".join(out.warnings)
    if out.no_baseline:
        return "no-baseline", f"{baseline}: relative limits not applied"
    return "pass", ""


def _gate(cfg: Config, report: Report, key: str, gate: GateConfig) -> Check:
    row = _match(cfg, report, key)
    value = _number(row.head)
    if value is None:
        raise UsageError(
            f"{_where(cfg, key)}: gate '{key}': {row.file}:{row.name} is not a number "
            f"(got {row.head!r})"
        )
    out = _Verdicts()
    _absolute(gate, value, cfg.report.precision, out)
    if gate.max_drop is not None or gate.max_rise is not None or gate.require_significant:
        _relative(cfg, report, gate, row, value, out)
    verdict, message = _verdict(cfg, report, row, out)
    return Check(
        group="gates",
        name=key,
        verdict=verdict,
        severity=gate.severity,
        target=f"{row.file}:{row.name}",
        observed=row.head,
        expected=", ".join(out.expected) or "(no limit)",
        message=message,
        details={
            "base": row.base,
            "head": row.head,
            "change": row.change,
            "significant": row.significant,
            "interval": list(row.interval) if row.interval else None,
        },
        file=PYPROJECT,
        line=line_of(cfg, "gates", key),
    )
