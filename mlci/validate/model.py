"""`mlci validate model`: the gates of [tool.mlci.gates] and the model checks of [tool.mlci.model].

Gates read the metrics of the report (base and head values, and the paired-bootstrap
significance where predictions allow one); they never recompute a metric. Model checks
load the model in the working tree with the configured loader and time it on sample rows.

Only the standard library and light mlci modules are imported here: numpy and the report
builder are imported when needed, so importing this module costs a few milliseconds.
"""

from __future__ import annotations

import csv
import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import UsageError
from mlci.validate.results import Check, Result, Verdict

if TYPE_CHECKING:
    import numpy as np

    from mlci.config import Config, GateConfig
    from mlci.diff import MetricChange
    from mlci.report.model import Report

__all__ = ["validate"]

PYPROJECT = "pyproject.toml"
MB = 1024 * 1024


def line_of(cfg: Config, *keys: str) -> int | None:
    # mlci.config (pydantic) is loaded whenever a Config exists; imported late all the same
    from mlci.config import line_of as config_line_of

    return config_line_of(cfg, *keys)


def validate(
    root: Path,
    cfg: Config,
    *,
    base: str | None = None,
    head: str = "workspace",
    checks: bool = True,
) -> Result:
    """Evaluate every gate on the metrics of `head` against `base` (None: the report's
    default base), then, with `checks`, the model checks on the model in the working tree.

    Raises UsageError (exit 2) for a gate naming no metric or an ambiguous one, a model
    path or sample that does not exist, and a malformed loader.
    """
    result = Result(kind="model")
    if cfg.gates:
        result.checks.extend(_gates(root, cfg, base=base, head=head, extra=result.extra))
    if checks:
        result.checks.extend(_model_checks(root, cfg, result.extra))
    return result


# --- gates -------------------------------------------------------------------------------------


def _gates(
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


# --- model checks ------------------------------------------------------------------------------


def _model_line(cfg: Config) -> int | None:
    return line_of(cfg, "model")


def _check(cfg: Config, name: str, verdict: Verdict, **kwargs: Any) -> Check:
    return Check(
        group="model", name=name, verdict=verdict, file=PYPROJECT, line=_model_line(cfg), **kwargs
    )


def _model_path(root: Path, cfg: Config) -> tuple[Path | None, str]:
    """The model file or folder, and where it was declared; (None, why) when none is."""
    if cfg.model.path:
        path = root / cfg.model.path
        if not path.exists():
            raise UsageError(
                f"[tool.mlci.model] path: {cfg.model.path} does not exist",
                hint="run the pipeline (mlci run) or fix the path",
            )
        return path, "[tool.mlci.model] path"
    if not (root / "dvc.yaml").is_file():
        return None, "no [tool.mlci.model] path and no dvc.yaml"
    from mlci import dvc

    models = {
        name: art
        for name, art in dvc.load_project(root).artifacts.items()
        if art.get("type") == "model" and art.get("path")
    }
    if not models:
        return None, "no [tool.mlci.model] path and no artifact of type model in dvc.yaml"
    if len(models) > 1:
        raise UsageError(
            f"dvc.yaml declares {len(models)} model artifacts ({', '.join(sorted(models))})",
            hint="choose one: [tool.mlci.model] path = '<its path>'",
        )
    name, artifact = next(iter(models.items()))
    declared = str(artifact["path"])
    if "://" in declared:
        raise UsageError(
            f"dvc.yaml: artifact '{name}' is at {declared}, not in the repository",
            hint="set [tool.mlci.model] path to a local copy",
        )
    path = root / declared
    if not path.exists():
        raise UsageError(
            f"dvc.yaml: model artifact '{name}': {declared} does not exist",
            hint="run the pipeline (mlci run) or fetch it (dvc pull)",
        )
    return path, f"dvc.yaml artifact '{name}'"


def _size_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if file.is_file():
                total += file.stat().st_size
    return total


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@contextmanager
def _importable(root: Path) -> Iterator[None]:
    """The repository root on sys.path while the loader imports and the model predicts."""
    entry = str(root)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _loader(spec: str) -> tuple[str, str]:
    module, sep, function = spec.partition(":")
    if not sep or not module.strip() or not function.strip():
        raise UsageError(
            f"[tool.mlci.model] loader: expected 'module:function', got {spec!r}",
            hint="for example loader = 'pipelines.digits.model:load'",
        )
    return module.strip(), function.strip()


def _read_sample(root: Path, cfg: Config) -> tuple[np.ndarray, bool]:
    """The first `latency_rows` rows of the sample as floats, the label column dropped;
    and whether there was a label column to drop."""
    import numpy as np

    path = root / cfg.model.sample
    rows: list[list[str]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        keep = [i for i, name in enumerate(header) if name != cfg.model.label]
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"line {reader.line_num}: {len(row)} fields, the header has {len(header)}"
                )
            rows.append([row[i] for i in keep])
            if len(rows) >= cfg.model.latency_rows:
                break
    if not rows:
        raise ValueError("no rows")
    return np.asarray(rows, dtype=np.float64), len(keep) < len(header)


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _model_checks(root: Path, cfg: Config, extra: dict[str, Any]) -> list[Check]:
    model = cfg.model
    path, source = _model_path(root, cfg)
    if path is None:
        return [_check(cfg, "model", "skipped", message=f"no model to check: {source}")]
    if model.sample and not (root / model.sample).is_file():
        raise UsageError(f"[tool.mlci.model] sample: {model.sample} does not exist")
    target = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    checks = [_size_check(cfg, path, target, extra)]
    if not model.loader:
        reason = "no [tool.mlci.model] loader"
        checks += [
            _check(cfg, name, "skipped", target=target, message=reason)
            for name in ("loads", "output_shape", "latency")
        ]
        return checks
    module_name, function_name = _loader(model.loader)
    with _importable(root):
        checks += _predict_checks(
            root, cfg, path, target, (module_name, function_name), extra, declared=source
        )
    return checks


def _size_check(cfg: Config, path: Path, target: str, extra: dict[str, Any]) -> Check:
    size = _size_bytes(path)
    extra["size_bytes"] = size
    budget = cfg.model.max_size_mb
    observed = f"{size / MB:.3g} MB"
    details = {"bytes": size, "max_bytes": int(budget * MB) if budget is not None else None}
    if budget is None:
        return _check(cfg, "size", "pass", target=target, observed=observed, details=details)
    ok = size <= budget * MB
    return _check(
        cfg,
        "size",
        "pass" if ok else "fail",
        target=target,
        observed=observed,
        expected=f"≤ {budget:g} MB",
        message="" if ok else f"{observed} exceeds the budget of {budget:g} MB",
        details=details,
    )


def _predict_checks(
    root: Path,
    cfg: Config,
    path: Path,
    target: str,
    loader: tuple[str, str],
    extra: dict[str, Any],
    *,
    declared: str,
) -> list[Check]:
    model = cfg.model
    module_name, function_name = loader
    skipped = ("output_shape", "latency")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        predictor = function(path)
        if not callable(getattr(predictor, "predict", None)):
            raise TypeError(f"{model.loader} returned {type(predictor).__name__}, without .predict")
    except (Exception, SystemExit) as exc:
        message = f"{model.loader}({target}) failed: {_one_line(exc)}"
        return [
            _check(cfg, "loads", "fail", target=target, expected=model.loader, message=message),
            *(
                _check(cfg, name, "skipped", target=target, message="the model did not load")
                for name in skipped
            ),
        ]
    checks = [
        _check(
            cfg,
            "loads",
            "pass",
            target=target,
            observed=type(predictor).__name__,
            expected=model.loader,
            details={"model": declared},
        )
    ]
    if not model.sample:
        reason = "no [tool.mlci.model] sample to predict on"
        return checks + [
            _check(cfg, name, "skipped", target=target, message=reason) for name in skipped
        ]
    predict: Callable[[Any], Any] = predictor.predict
    shape_check, rows = _shape_check(root, cfg, predict, target)
    checks.append(shape_check)
    if rows is None:
        checks.append(
            _check(cfg, "latency", "skipped", target=target, message="no successful prediction")
        )
        return checks
    checks.append(_latency_check(cfg, predict, rows, target, extra))
    return checks


def _shape_check(
    root: Path, cfg: Config, predict: Callable[[Any], Any], target: str
) -> tuple[Check, np.ndarray | None]:
    import numpy as np

    model = cfg.model
    try:
        rows, dropped = _read_sample(root, cfg)
    except (OSError, ValueError, csv.Error) as exc:
        message = f"cannot read {model.sample}: {_one_line(exc)}"
        return _check(cfg, "output_shape", "fail", target=target, message=message), None
    n = len(rows)
    expected = f"one prediction per row: ({n},) or ({n}, k)"
    try:
        output = np.asarray(predict(rows))
    except (Exception, SystemExit) as exc:
        message = f"predict on {n} rows of {model.sample} failed: {_one_line(exc)}"
        return _check(
            cfg, "output_shape", "fail", target=target, expected=expected, message=message
        ), None
    shape = tuple(int(d) for d in output.shape)
    ok = output.ndim in (1, 2) and shape[0] == n
    check = _check(
        cfg,
        "output_shape",
        "pass" if ok else "fail",
        target=target,
        observed=str(shape),
        expected=expected,
        message="" if ok else f"{n} rows in, output of shape {shape} out",
        details={
            "rows": n,
            "shape": list(shape),
            "input_shape": list(rows.shape),
            "label_dropped": model.label if dropped else None,
        },
    )
    return check, rows if ok else None


def _latency_check(
    cfg: Config,
    predict: Callable[[Any], Any],
    rows: np.ndarray,
    target: str,
    extra: dict[str, Any],
) -> Check:
    model = cfg.model
    try:
        predict(rows)  # warm-up: lazy initialisation, caches
        times: list[float] = []
        for _ in range(model.latency_repeats):
            start = time.perf_counter()
            predict(rows)
            times.append((time.perf_counter() - start) * 1000)
    except (Exception, SystemExit) as exc:
        return _check(
            cfg, "latency", "fail", target=target, message=f"predict failed: {_one_line(exc)}"
        )
    ordered = sorted(times)
    p50, p95 = _quantile(ordered, 0.5), _quantile(ordered, 0.95)
    extra["latency_ms"] = {"p50": p50, "p95": p95, "rows": len(rows), "repeats": len(times)}
    limits = [
        (label, value, limit)
        for label, value, limit in (
            ("p50", p50, model.max_latency_ms_p50),
            ("p95", p95, model.max_latency_ms_p95),
        )
        if limit is not None
    ]
    over = [
        f"{label} {value:.3g} ms exceeds {limit:g} ms"
        for label, value, limit in limits
        if value > limit
    ]
    return _check(
        cfg,
        "latency",
        "fail" if over else "pass",
        target=target,
        observed=f"p50 {p50:.3g} ms, p95 {p95:.3g} ms",
        expected=", ".join(f"{label} ≤ {limit:g} ms" for label, _v, limit in limits) or None,
        message="; ".join(over) + (f" ({len(rows)} rows per call)" if over else ""),
        details={
            "p50_ms": p50,
            "p95_ms": p95,
            "min_ms": ordered[0],
            "max_ms": ordered[-1],
            "mean_ms": sum(times) / len(times),
            "rows": len(rows),
            "repeats": len(times),
        },
    )
