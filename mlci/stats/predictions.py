"""Predictions CSVs: one model's per-sample predictions, read and paired with another's."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

__all__ = ["Paired", "Predictions", "pair", "read_predictions"]

# (labels, base predictions, head predictions) over the samples both models saw
Paired = tuple[list[str], list[str], list[str]]


@dataclass(frozen=True)
class Predictions:
    """One model's predictions on a test set, one entry per sample, aligned by position."""

    index: tuple[str, ...]
    label: tuple[str, ...]
    predicted: tuple[str, ...]

    def __post_init__(self) -> None:
        if not len(self.index) == len(self.label) == len(self.predicted):
            raise ValueError(
                f"predictions have {len(self.index)} indices, {len(self.label)} labels "
                f"and {len(self.predicted)} predictions; expected one of each per sample"
            )
        if len(set(self.index)) != len(self.index):
            duplicate = next(i for i, count in Counter(self.index).items() if count > 1)
            raise ValueError(f"predictions repeat the index '{duplicate}'")


def read_predictions(
    text: str, *, index: str = "index", label: str = "label", predicted: str = "predicted"
) -> Predictions:
    """Parse a predictions CSV: a header row, then one row per test sample.

    Other columns are ignored; values are kept as strings (labels are compared as strings).
    """
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    columns = (index, label, predicted)
    values: tuple[list[str], list[str], list[str]] = ([], [], [])
    try:
        header = [name.strip() for name in next(rows, [])]
        if not any(header):
            raise ValueError(
                f"predictions CSV is empty: expected a header with the columns "
                f"'{index}', '{label}' and '{predicted}'"
            )
        positions = [_column_position(header, name) for name in columns]
        lines: dict[str, int] = {}
        for row in rows:
            if not any(field.strip() for field in row):
                continue
            where = f"predictions CSV line {rows.line_num}"
            if len(row) != len(header):
                raise ValueError(f"{where}: {len(row)} fields, the header has {len(header)}")
            for column, position, out in zip(columns, positions, values, strict=True):
                if not row[position]:
                    raise ValueError(f"{where}: empty value in column '{column}'")
                out.append(row[position])
            key = row[positions[0]]
            first = lines.setdefault(key, rows.line_num)
            if first != rows.line_num:
                raise ValueError(f"{where}: '{key}' in column '{index}' repeats line {first}")
    except csv.Error as exc:
        raise ValueError(f"predictions CSV is malformed (line {rows.line_num}): {exc}") from exc
    return Predictions(tuple(values[0]), tuple(values[1]), tuple(values[2]))


def _column_position(header: list[str], name: str) -> int:
    count = header.count(name)
    if count == 0:
        raise ValueError(f"predictions CSV has no column '{name}' (columns: {', '.join(header)})")
    if count > 1:
        raise ValueError(f"predictions CSV has the column '{name}' {count} times")
    return header.index(name)


def pair(base: Predictions, head: Predictions) -> Paired:
    """(labels, base predictions, head predictions) over the indices present in both, in
    base's order. Raises ValueError when a shared index has different labels."""
    head_rows = dict(zip(head.index, zip(head.label, head.predicted, strict=True), strict=True))
    labels: list[str] = []
    base_pred: list[str] = []
    head_pred: list[str] = []
    differing: list[tuple[str, str, str]] = []
    for i, label, predicted in zip(base.index, base.label, base.predicted, strict=True):
        row = head_rows.get(i)
        if row is None:
            continue
        if row[0] != label:
            differing.append((i, label, row[0]))
        labels.append(label)
        base_pred.append(predicted)
        head_pred.append(row[1])
    if differing:
        i, label, other = differing[0]
        raise ValueError(
            f"test sets differ: {len(differing)} of {len(labels)} shared indices have "
            f"different labels (first: index '{i}' is '{label}' in base, '{other}' in head); "
            "a paired comparison needs the same test set"
        )
    return labels, base_pred, head_pred
