"""Helpers the digits stages share: params, the CSV layout, atomic writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

PARAMS_FILE = Path("params.yaml")
N_FEATURES = 64
CLASSES = list(range(10))
FEATURES = [f"pixel_{i}" for i in range(N_FEATURES)]
LABEL = "label"
HEADER = [*FEATURES, LABEL]


def load_params(section: str, path: Path = PARAMS_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    value = data.get(section, {})
    if not isinstance(value, dict):
        raise ValueError(f"{path}: '{section}' must be a mapping")
    return value


def read_xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a digits CSV (pixel_0..pixel_63,label) into int64 features and labels."""
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split(",")
    if header != HEADER:
        raise ValueError(f"{path}: expected columns pixel_0..pixel_63,label")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    return table[:, :N_FEATURES], table[:, N_FEATURES]


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6f}"
    return str(value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    lines = [",".join(header)]
    lines.extend(",".join(_cell(v) for v in row) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_atomic(path: Path, content: bytes) -> bool:
    """Write via a temp file + rename; return False (and leave the file alone) if unchanged."""
    if path.is_file() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a data file should read like any other
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_xy(path: Path, x: np.ndarray, y: np.ndarray) -> bool:
    table = np.column_stack([x, y]).astype(np.int64)
    return write_atomic(path, csv_bytes(HEADER, table.tolist()))
