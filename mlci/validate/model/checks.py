"""The model checks of [tool.mlci.model]: size against its budget, that the loader loads it,
one prediction per sample row (output_shape), and prediction latency (p50/p95) against limits.
numpy is imported when needed."""

from __future__ import annotations

import csv
import importlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import UsageError
from mlci.validate.model.declared import PYPROJECT, line_of
from mlci.validate.model.loading import importable, model_path, parse_loader, read_sample
from mlci.validate.results import Check, Verdict

if TYPE_CHECKING:
    import numpy as np

    from mlci.config import Config

__all__ = ["model_checks"]

_MB = 1024 * 1024


def _model_line(cfg: Config) -> int | None:
    return line_of(cfg, "model")


def _check(cfg: Config, name: str, verdict: Verdict, **kwargs: Any) -> Check:
    return Check(
        group="model", name=name, verdict=verdict, file=PYPROJECT, line=_model_line(cfg), **kwargs
    )


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


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def model_checks(root: Path, cfg: Config, extra: dict[str, Any]) -> list[Check]:
    model = cfg.model
    path, source = model_path(root, cfg)
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
    module_name, function_name = parse_loader(model.loader)
    with importable(root):
        subject = _Subject(path, target, declared=source)
        checks += _predict_checks(root, cfg, subject, (module_name, function_name), extra)
    return checks


def _size_check(cfg: Config, path: Path, target: str, extra: dict[str, Any]) -> Check:
    size = _size_bytes(path)
    extra["size_bytes"] = size
    budget = cfg.model.max_size_mb
    observed = f"{size / _MB:.3g} MB"
    details = {"bytes": size, "max_bytes": int(budget * _MB) if budget is not None else None}
    if budget is None:
        return _check(cfg, "size", "pass", target=target, observed=observed, details=details)
    ok = size <= budget * _MB
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


@dataclass(frozen=True)
class _Subject:
    """The model under check: its file or folder, that path as shown, where it was declared."""

    path: Path
    target: str
    declared: str


def _predict_checks(
    root: Path, cfg: Config, subject: _Subject, loader: tuple[str, str], extra: dict[str, Any]
) -> list[Check]:
    model = cfg.model
    path, target = subject.path, subject.target
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
            details={"model": subject.declared},
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
        rows, dropped = read_sample(root, cfg)
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
