"""The datasets of `mlci init --data`: each file located in the project, its format and
delimiter detected, and read as `mlci validate data` reads it (pandas, imported lazily)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlci import config
from mlci.errors import ServiceError, UsageError


@dataclass
class Dataset:
    name: str
    shown: str  # relative to the project, '/'-separated
    format: Literal["csv", "parquet"]
    delimiter: str
    frame: Any  # pandas.DataFrame


def read_dataset(start: Path, project: Path, file: Path) -> Dataset:
    """`--data FILE` (relative to `start`): its name, place, format and rows."""
    full = (file if file.is_absolute() else start / file).resolve()
    if not full.is_file():
        raise UsageError(f"--data {file}: no such file")
    if not full.is_relative_to(project):
        raise UsageError(f"--data {file}: outside the project {project}")
    shown = full.relative_to(project).as_posix()
    suffix = full.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        fmt: Literal["csv", "parquet"] = "parquet"
    elif suffix in {".csv", ".tsv", ".txt"}:
        fmt = "csv"
    else:
        raise UsageError(f"--data {file}: expected a .csv or .parquet file")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", full.stem).strip("_") or "data"
    raw = full.read_bytes()
    delimiter = "," if fmt == "parquet" else _sniff_delimiter(raw)
    dataset = config.DatasetConfig(
        path=shown, suite=name, format=fmt, engine="pandas", delimiter=delimiter
    )
    # the same parser as `mlci validate data`: the suite describes what it will read
    from mlci.validate.data import read_table

    try:
        frame = read_table(raw, shown, dataset)
    except ImportError:
        raise ServiceError("reading --data needs pandas: pip install 'mlci[gx]'") from None
    if len(frame) == 0:
        raise UsageError(f"--data {file}: no rows to infer expectations from")
    return Dataset(name, shown, fmt, delimiter, frame)


def _sniff_delimiter(raw: bytes) -> str:
    header = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    from mlci.validate.data import DELIMITERS

    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
