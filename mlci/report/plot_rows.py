"""A DVC plot file's rows, and the values in them: numbers, categories and gaps.

Only the standard library is imported: this module is on the CLI path.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "INDEX",
    "Rows",
    "category",
    "evenly",
    "finite_number",
    "is_text",
    "load_rows",
    "present",
    "sorted_labels",
    "with_index",
    "y_fields",
]

Rows = Sequence[Mapping[str, object]]

INDEX = "step"  # DVC's x when a plot declares none: each row's position


def y_fields(declared: Sequence[str], rows: Rows) -> tuple[str, ...]:
    """The fields DVC draws: those declared, else the last field of the first row."""
    if declared:
        return tuple(declared)
    return (list(rows[0])[-1],) if rows and rows[0] else ()


def with_index(rows: Rows) -> list[dict[str, object]]:
    """The rows with DVC's x for a plot that declares none: `step`, the row's position
    (replacing a `step` field the file has, as DVC does)."""
    return [{**row, INDEX: position} for position, row in enumerate(rows)]


def load_rows(
    text: str, filename: str, *, yaml_loader: Callable[[str], object] | None = None
) -> list[dict[str, object]]:
    """The rows of a DVC plot file, by its extension: .csv, .tsv, .json (.yaml with a loader).

    CSV and TSV values stay strings. JSON may be a list of objects or an object
    holding the list (its first list value), as DVC accepts. YAML is parsed only
    through `yaml_loader` (e.g. `yaml.safe_load`), since this module imports no
    third-party code. Raises ValueError when the file cannot be read as rows.
    """
    name = filename.lower()
    text = text.removeprefix("\ufeff")
    if name.endswith((".csv", ".tsv")):
        try:
            reader = csv.DictReader(
                io.StringIO(text, newline=""), delimiter="\t" if name.endswith(".tsv") else ","
            )
            return [{str(k): v for k, v in row.items() if k is not None} for row in reader]
        except csv.Error as exc:
            raise ValueError(f"{filename}: {exc}") from exc
    if name.endswith(".json"):
        try:
            data = json.loads(text) if text.strip() else []
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{filename}: not valid JSON ({exc})") from None
        return _rows(data, filename)
    if name.endswith((".yaml", ".yml")):
        if yaml_loader is None:
            raise ValueError(f"{filename}: YAML plots need a yaml_loader")
        return _rows(yaml_loader(text) if text.strip() else [], filename)
    raise ValueError(f"{filename}: not a plot format DVC reads (csv, tsv, json, yaml)")


def _rows(data: object, filename: str) -> list[dict[str, object]]:
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ValueError(f"{filename}: expected a list of objects, or an object holding one")
    return [{str(k): v for k, v in row.items()} for row in data]


def finite_number(value: object) -> float | None:
    """A finite float, or None: missing, empty, NaN or infinite, or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def is_text(value: object) -> bool:
    """A value that is there but is no number at all: a category, not a gap."""
    if value is None:
        return False
    if isinstance(value, str):
        if not value.strip():
            return False
        try:
            float(value.strip())
        except ValueError:
            return True
        return False
    return isinstance(value, bool) or not isinstance(value, int | float)


def present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def category(value: object) -> str:
    """A category's name: 1, 1.0 and "1" are the same class."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def sorted_labels(labels: set[str]) -> list[str]:
    numbers = {label: finite_number(label) for label in labels}
    if all(n is not None for n in numbers.values()):
        return sorted(labels, key=lambda label: (numbers[label] or 0.0, label))
    return sorted(labels)


def evenly(n: int, k: int) -> list[int]:
    """k indices spread evenly over range(n), first and last included (all of them if n <= k)."""
    if n <= k:
        return list(range(n))
    if k == 1:
        return [n - 1]
    return [round(i * (n - 1) / (k - 1)) for i in range(k)]
