"""The merge rule of `mlci retrain` (docs/retrain.md):

- a new file must have every column of the dataset (any order), else exit 2 naming
  it; columns the dataset lacks (the feedback store's `predicted`) are dropped;
- rows are compared cell by cell after parsing numbers (`1` equals `1.0`); a row
  equal to one of the dataset, or to an earlier new row, is dropped;
- the dataset's bytes stay as they are and the new rows are appended, in the order
  of their files (sorted by name: by time, for feedback files), then of their lines.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections import Counter
from typing import Any

from mlci.config import DatasetConfig
from mlci.errors import UsageError
from mlci.retrain.result import RetrainResult, SourceFile


def cell_key(cell: str) -> str:
    """A cell as compared: numbers by value (`1`, `1.0` and ` 1` are equal), text as is."""
    text = cell.strip()
    try:
        return str(int(text))
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number.is_integer():
        return str(int(number))
    return repr(number)


def _rows(raw: bytes, shown: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    if b"\x00" in raw[:8192]:
        raise UsageError(f"{shown}: not a CSV file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{shown}: not a UTF-8 CSV file") from None
    try:
        table = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error as exc:
        raise UsageError(f"{shown}: cannot parse as CSV: {exc}") from None
    if not table:
        return [], []
    header = [column.strip() for column in table[0]]
    for number, row in enumerate(table[1:], 2):
        if len(row) != len(header):
            raise UsageError(
                f"{shown}: line {number} has {len(row)} fields, the header {len(header)}"
            )
    return header, table[1:]


def merge_rows(
    result: RetrainResult,
    dataset: DatasetConfig,
    label: str,
    old: bytes,
    files: list[tuple[str, bytes]],
) -> tuple[bytes, int]:
    """The dataset's bytes with the new rows appended; fills the counts of `result`."""
    columns, existing = _rows(old, dataset.path, dataset.delimiter)
    if not columns:
        raise UsageError(f"{dataset.path}: the dataset has no header row")
    seen = {tuple(cell_key(c) for c in row) for row in existing}
    label_at = columns.index(label) if label in columns else None
    result.rows_before = len(existing)
    if label_at is not None:
        result.label = label
        result.labels_before = _count(row[label_at] for row in existing)
    # every file is checked before anything is merged: one bad file refuses the batch
    parsed: list[tuple[str, list[list[str]], list[int]]] = []
    for shown, raw in files:
        header, rows = _rows(raw, shown, dataset.delimiter)
        if not header and not rows:
            parsed.append((shown, [], []))
            continue
        missing = [c for c in columns if c not in header]
        if missing:
            raise UsageError(
                f"{shown}: its columns do not match {dataset.path}: missing "
                + ", ".join(missing[:10])
                + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""),
                hint=f"a new file needs every column of the dataset: {', '.join(columns[:5])}, …",
            )
        extra = [c for c in header if c not in columns]
        result.dropped_columns += [c for c in extra if c not in result.dropped_columns]
        order = [header.index(c) for c in columns]
        parsed.append((shown, rows, order))

    new: list[list[str]] = []
    batch: set[tuple[str, ...]] = set()
    for shown, rows, order in parsed:
        entry = SourceFile(name=shown, rows=len(rows))
        for row in rows:
            values = [row[i].strip() for i in order]
            key = tuple(cell_key(v) for v in values)
            if key in seen:
                result.duplicates_existing += 1
            elif key in batch:
                result.duplicates_new += 1
            else:
                batch.add(key)
                new.append(values)
                entry.added += 1
                continue
            entry.duplicates += 1
        result.files.append(entry)
    return _append(old, new, dataset.delimiter, result, label_at), len(new)


def _append(
    old: bytes, new: list[list[str]], delimiter: str, result: RetrainResult, label_at: int | None
) -> bytes:
    result.rows_added = len(new)
    if label_at is not None:
        result.labels_added = _count(row[label_at] for row in new)
    if not new:
        return old
    eol = "\r\n" if b"\r\n" in old.split(b"\n", 1)[0] + b"\n" else "\n"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    writer.writerows(new)
    head = old if old.endswith(b"\n") else old + eol.encode()
    return head + out.getvalue().encode("utf-8")


def _count(values: Any) -> dict[str, int]:
    counts = Counter(cell_key(v) for v in values)

    def order(key: str) -> tuple[int, float, str]:
        try:
            return (0, float(key), key)
        except ValueError:
            return (1, 0.0, key)

    return {key: counts[key] for key in sorted(counts, key=order)}


def md5(content: bytes) -> str:
    return hashlib.md5(content, usedforsecurity=False).hexdigest()
