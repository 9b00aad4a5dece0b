"""The drift profile: per dataset, rows and per column the null share, mean/std and value
frequencies; given a base revision, the same profile then and a PSI drift score per column.
Drift is information for the report; it never fails. pandas and numpy are imported inside."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlci.config import Config
from mlci.validate.data import baseline
from mlci.validate.data.suites import Dataset

__all__ = ["PSI_BINS", "profile", "profile_entry", "psi"]

_LOW_CARDINALITY = 20  # at most this many distinct values: frequencies, categorical PSI
PSI_BINS = 10
_PSI_EPSILON = 1e-4


def _is_numeric(pd: Any, series: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not bool(
        pd.api.types.is_bool_dtype(series)
    )


def _key(value: Any) -> str:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else round(number, 6)


def profile(frame: Any) -> dict[str, Any]:
    """Rows; per column the dtype, null share, distinct count, mean/std and frequencies."""
    import pandas as pd  # type: ignore[import-untyped]

    rows = len(frame)
    columns: dict[str, Any] = {}
    for column in frame.columns:
        series = frame[column]
        present = series.dropna()
        # one hashing pass gives both the distinct count and, for few values, the frequencies;
        # only those few keys are normalised in Python, never every value
        counts = present.value_counts(sort=False)
        entry: dict[str, Any] = {
            "dtype": str(series.dtype),
            "null_share": round(float(series.isna().mean()), 6) if rows else 0.0,
            "distinct": len(counts),
        }
        if _is_numeric(pd, series) and len(present):
            entry["mean"] = _number(present.mean())
            entry["std"] = _number(present.std()) if len(present) > 1 else None
        if entry["distinct"] <= _LOW_CARDINALITY and len(present):
            merged: dict[str, int] = {}
            for value, count in counts.items():
                key = str(_key(value))
                merged[key] = merged.get(key, 0) + int(count)
            entry["frequencies"] = {
                k: round(v / len(present), 6) for k, v in sorted(merged.items())
            }
        columns[str(column)] = entry
    return {"rows": rows, "columns": columns}


def psi(base: Any, head: Any) -> float | None:
    """Population stability index of a column: quantile bins of the base (numeric) or categories.

    Nulls are a bin of their own; shares are epsilon-smoothed so an empty bin on one
    side gives a large but finite score. None when either side has no rows.
    """
    import numpy as np
    import pandas as pd

    if len(base) == 0 or len(head) == 0:
        return None
    base_present, head_present = base.dropna(), head.dropna()
    together = pd.concat([base_present, head_present], ignore_index=True)
    categorical = (
        not _is_numeric(pd, base)
        or not _is_numeric(pd, head)
        or together.map(_key).nunique() <= _LOW_CARDINALITY
        or len(base_present) == 0
    )
    if categorical:
        base_keys, head_keys = base_present.map(_key), head_present.map(_key)
        categories = sorted(set(base_keys) | set(head_keys))
        base_counts = base_keys.value_counts().reindex(categories, fill_value=0).to_numpy()
        head_counts = head_keys.value_counts().reindex(categories, fill_value=0).to_numpy()
    else:
        quantiles = np.quantile(base_present.to_numpy(dtype=float), np.linspace(0, 1, PSI_BINS + 1))
        edges = np.unique(quantiles)[1:-1]
        bins = len(edges) + 1
        base_counts = np.bincount(
            np.searchsorted(edges, base_present.to_numpy(dtype=float), side="right"), minlength=bins
        )
        head_counts = np.bincount(
            np.searchsorted(edges, head_present.to_numpy(dtype=float), side="right"), minlength=bins
        )
    base_shares = np.append(base_counts, len(base) - len(base_present)) / len(base)
    head_shares = np.append(head_counts, len(head) - len(head_present)) / len(head)
    base_shares = np.maximum(base_shares, _PSI_EPSILON)
    head_shares = np.maximum(head_shares, _PSI_EPSILON)
    base_shares /= base_shares.sum()
    head_shares /= head_shares.sum()
    value = float(np.sum((head_shares - base_shares) * np.log(head_shares / base_shares)))
    return round(max(value, 0.0), 6)


def _deltas(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    deltas: dict[str, Any] = {}
    for column, now in head["columns"].items():
        before = base["columns"].get(column)
        if before is None:
            continue
        change = {}
        for key in ("null_share", "mean", "std"):
            if isinstance(now.get(key), int | float) and isinstance(before.get(key), int | float):
                change[key] = round(now[key] - before[key], 6)
        deltas[column] = change
    return deltas


def profile_entry(
    root: Path, cfg: Config, item: Dataset, base_sha: str | None, say: Callable[[str], None]
) -> dict[str, Any]:
    head_frame = item.table.frame
    head = profile(head_frame)
    entry: dict[str, Any] = {
        "head": head,
        "base": None,
        "base_sha": base_sha,
        "psi": {},
        "rows": [None, head["rows"]],
    }
    if base_sha is None:
        return entry
    base_frame, note = baseline.base_frame(root, cfg, item.config, base_sha)
    if base_frame is None:
        entry["note"] = note
        say(f"{item.name}: no profile diff: {note}")
        return entry
    base = profile(base_frame)
    entry["base"] = base
    entry["rows"] = [base["rows"], head["rows"]]
    entry["psi"] = {
        str(column): psi(base_frame[column], head_frame[column])
        for column in head_frame.columns
        if column in base_frame.columns
    }
    entry["delta"] = _deltas(base, head)
    entry["columns_added"] = [c for c in head["columns"] if c not in base["columns"]]
    entry["columns_removed"] = [c for c in base["columns"] if c not in head["columns"]]
    drifted = {c: v for c, v in entry["psi"].items() if v is not None and v >= 0.1}
    say(
        f"{item.name}: profile vs {base_sha[:8]}: rows {base['rows']} -> {head['rows']}, "
        f"{len(drifted)} columns with PSI >= 0.1"
    )
    return entry
