"""The dataset readers: the files a dataset's path names, parsed (pandas) into one table.

A CSV or Parquet file that does not parse is a UsageError naming it (exit 2), found
before Great Expectations is imported. pandas is imported inside the functions.
"""

from __future__ import annotations

import glob
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.config import Config, DatasetConfig, line_of
from mlci.errors import UsageError

__all__ = [
    "DELIMITERS",
    "Table",
    "combine",
    "first_line",
    "is_glob",
    "load",
    "read_table",
    "shown_path",
]

DELIMITERS = (",", ";", "\t", "|")  # what a CSV header is checked (and sniffed) for


@dataclass
class Table:
    """A dataset as loaded: the frame and where its rows came from."""

    frame: Any  # pandas.DataFrame
    files: list[str]  # paths relative to the root
    offsets: list[int] = field(default_factory=list)  # first row of each file in the frame

    def where(self, index: Any) -> str | None:
        """'data/x.csv row 7' (1-based data row, header not counted) for a frame index."""
        if not isinstance(index, int) or isinstance(index, bool):
            return None
        position = 0
        for i, start in enumerate(self.offsets):
            if index >= start:
                position = i
        return f"{self.files[position]} row {index - self.offsets[position] + 1}"


def is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _resolve(root: Path, cfg: Config, name: str, dataset: DatasetConfig) -> list[Path]:
    pattern = dataset.path
    if is_glob(pattern):
        full = pattern if Path(pattern).is_absolute() else str(root / pattern)
        files = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
    else:
        path = Path(pattern) if Path(pattern).is_absolute() else root / pattern
        files = [path] if path.is_file() else []
    if not files:
        line = line_of(cfg, "data", name)
        where = f"pyproject.toml:{line}" if line else "pyproject.toml"
        raise UsageError(
            f"dataset '{name}': no file matches {pattern}",
            hint=f"[tool.mlci.data.{name}] path, declared at {where}",
        )
    return files


def shown_path(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def load(root: Path, cfg: Config, name: str, dataset: DatasetConfig) -> Table:
    import pandas as pd  # type: ignore[import-untyped]

    files = _resolve(root, cfg, name, dataset)
    shown = [shown_path(root, path) for path in files]
    frames = [
        read_table(path.read_bytes(), label, dataset)
        for path, label in zip(files, shown, strict=True)
    ]
    return combine(pd, frames, shown)


def combine(pd: Any, frames: list[Any], shown: list[str]) -> Table:
    offsets, start = [], 0
    for frame in frames:
        offsets.append(start)
        start += len(frame)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return Table(frame=frame, files=shown, offsets=offsets)


def read_table(raw: bytes, shown: str, dataset: DatasetConfig) -> Any:
    """A pandas frame; a file that is not a table of this format is a UsageError naming it."""
    import pandas as pd

    if dataset.format == "parquet":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pd.read_parquet(io.BytesIO(raw))
        except (ValueError, OSError) as exc:
            raise UsageError(f"{shown}: cannot read as Parquet: {first_line(exc)}") from None

    if b"\x00" in raw[:8192]:
        raise UsageError(f"{shown}: not a CSV file (binary content)")
    delimiter = dataset.delimiter
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DtypeWarning and such: the suite judges the types
            frame = pd.read_csv(io.BytesIO(raw), sep=delimiter, encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{shown}: not a UTF-8 CSV file") from None
    except (ValueError, OSError) as exc:  # pandas' ParserError and EmptyDataError included
        raise UsageError(
            f"{shown}: cannot parse as CSV (delimiter {delimiter!r}): {first_line(exc)}"
        ) from None
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        other = next((d for d in DELIMITERS if d != delimiter and d in header), None)
        if other is not None:
            raise UsageError(
                f"{shown}: parsed as a single column with delimiter {delimiter!r}; "
                f"the header looks {other!r}-separated",
                hint=f"set delimiter = {json.dumps(other)} for this dataset in [tool.mlci.data]",
            )
    return frame


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
