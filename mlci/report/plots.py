"""DVC plots in the report: Mermaid line charts, confusion tables and terminal sparklines.

GitHub renders Mermaid in comments, so a plot needs no image host: `xychart`
turns a DVC plot's rows (base and head) into a ```mermaid `xychart-beta` block.

How to read a chart (Mermaid's xychart has no legend):

- Lines are drawn head first, then base, each in the order of the plot's `y`
  fields: with `y: [train_accuracy, val_accuracy]` and both revisions, line 1 is
  head train_accuracy, line 2 head val_accuracy, line 3 base train_accuracy and
  line 4 base val_accuracy.
- Colours pair them: field k is drawn in a dark colour in head and the light
  tint of the same hue in base (matplotlib's tab20 pairs: dark blue / light
  blue, dark orange / light orange, ...), set through Mermaid's
  `plotColorPalette`. The title ends with "(dark = head, light = base)", or
  "(head)" / "(base)" when only one revision has the plot; with several fields
  the y-axis title names each field's colour ("train_accuracy: blue, ...").
- All lines share one x axis: the union of both revisions' x values. A series
  without a value at some x (a shorter run, a NaN) is held flat at its nearest
  value there, and the title then says "gaps held flat".
- More than `max_points` x values are thinned evenly (first and last kept). An
  integer x that is evenly spaced becomes a numeric axis (`1 --> 20`); any other
  x is a list of labels.

Strings written into the Mermaid source (title, axis names, x labels) are
sanitised by `_mermaid_text`: no `"`, backtick, `%%`, `;`, `<`, `>` or line
break survives, so nothing can end a string, start a directive or comment, or
close the code fence.

Only the standard library is imported: this module is on the CLI path.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from mlci.report import safe

__all__ = [
    "confusion_markdown",
    "confusion_table",
    "load_rows",
    "sparkline",
    "xychart",
]

Rows = Sequence[Mapping[str, object]]
Series = dict[float | str, float | None]  # one field of one revision: x -> value (None: a gap)

# matplotlib's tab20: each dark colour (head) and its light tint (base)
_DARK = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_LIGHT = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7")
_COLOUR = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey")
MAX_SERIES = len(_DARK)  # y fields drawn per chart; the rest are left out
_BARS = "▁▂▃▄▅▆▇█"
_OTHER = "\x00other"  # the folded row/column of a confusion table with many classes


# --- parsing ---------------------------------------------------------------------------------


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


def _number(value: object) -> float | None:
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


def _is_text(value: object) -> bool:
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


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _label(value: object) -> str:
    """A category's name: 1, 1.0 and "1" are the same class."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sorted_labels(labels: set[str]) -> list[str]:
    numbers = {label: _number(label) for label in labels}
    if all(n is not None for n in numbers.values()):
        return sorted(labels, key=lambda label: (numbers[label] or 0.0, label))
    return sorted(labels)


def _evenly(n: int, k: int) -> list[int]:
    """k indices spread evenly over range(n), first and last included (all of them if n <= k)."""
    if n <= k:
        return list(range(n))
    if k == 1:
        return [n - 1]
    return [round(i * (n - 1) / (k - 1)) for i in range(k)]


# --- Mermaid ---------------------------------------------------------------------------------


def _mermaid_text(text: str, limit: int) -> str:
    """`text` for a double-quoted Mermaid string: nothing that ends it, the line or the fence."""
    clean = " ".join(safe.one_line(text).split())
    clean = clean.replace('"', "'").replace("`", "'").replace(";", ",")  # `#name;` is an entity
    clean = clean.replace("<", "‹").replace(">", "›")
    while "%%" in clean:
        clean = clean.replace("%%", "%")
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


def _num(value: float) -> str:
    """A number as Mermaid reads it: plain decimal, no exponent, 6 significant digits."""
    if value == 0:
        return "0"
    return format(Decimal(f"{value:.6g}"), "f")


def _series(
    pairs: list[tuple[object, Mapping[str, object]]],
    key: Callable[[object], float | str],
    field: str,
) -> Series | None:
    """x -> value of one field in one revision; None when the field is not numeric there."""
    values = [(key(x), row.get(field)) for x, row in pairs]
    if not values or any(_is_text(v) for _, v in values):
        return None
    series = {x: _number(v) for x, v in values}
    return series if any(v is not None for v in series.values()) else None


def _x_label(value: float | str) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return _mermaid_text(value, 24) or "?"


def _held(values: list[float | None]) -> tuple[list[float], bool]:
    """Gaps filled with the nearest value before them (after, at the start); whether any was."""
    last = next(v for v in values if v is not None)
    out: list[float] = []
    for value in values:
        if value is not None:
            last = value
        out.append(last)
    return out, any(v is None for v in values)


def _integer_steps(grid: list[float]) -> bool:
    if len(grid) < 2 or not all(v.is_integer() and abs(v) < 2**53 for v in grid):
        return False
    step = grid[1] - grid[0]
    return step > 0 and all(b - a == step for a, b in itertools.pairwise(grid))


def _collect(
    revisions: list[tuple[str, Rows]], x: str | None, fields: list[str]
) -> tuple[bool, dict[tuple[str, str], Series]]:
    """Whether x is numeric, and each drawable (revision, field) series keyed by x."""
    pairs = {
        name: [
            (xv, row)
            for i, row in enumerate(rows)
            if _present(xv := (i if x is None else row.get(x)))
        ]
        for name, rows in revisions
    }
    numeric_x = all(_number(xv) is not None for p in pairs.values() for xv, _ in p)

    def key(value: object) -> float | str:
        number = _number(value)
        return number if numeric_x and number is not None else _label(value)

    drawn: dict[tuple[str, str], Series] = {}
    for name, _ in revisions:
        for field in fields:
            series = _series(pairs[name], key, field)
            if series is not None:
                drawn[(name, field)] = series
    return numeric_x, drawn


def _aligned(
    series: list[Series], numeric_x: bool, max_points: int
) -> tuple[list[float | str], list[list[float]], bool]:
    """The shared x grid (thinned), each series' values on it, and whether gaps were held."""
    seen: dict[float | str, None] = {}
    for values in series:
        seen.update((xv, None) for xv, v in values.items() if v is not None)
    grid = sorted(seen, key=float) if numeric_x else list(seen)
    keep = _evenly(len(grid), max_points)
    plotted: list[list[float]] = []
    gaps = False
    for values in series:
        full, filled = _held([values.get(xv) for xv in grid])
        gaps = gaps or filled
        plotted.append([full[i] for i in keep])
    return [grid[i] for i in keep], plotted, gaps


def _x_axis(title: str, grid: list[float | str], numeric_x: bool) -> str:
    numbers = [float(v) for v in grid] if numeric_x else []
    if numbers and _integer_steps(numbers):
        return f'x-axis "{title}" {int(numbers[0])} --> {int(numbers[-1])}'
    labels = ", ".join(f'"{_x_label(v)}"' for v in grid)
    return f'x-axis "{title}" [{labels}]'


def _y_axis(title: str, plotted: list[list[float]]) -> str:
    low = min(min(values) for values in plotted)
    high = max(max(values) for values in plotted)
    if low != high:
        return f'y-axis "{title}"'
    pad = abs(low) * 0.1 or 1.0  # a flat chart: give Mermaid a range to draw it in
    return f'y-axis "{title}" {_num(low - pad)} --> {_num(high + pad)}'


def xychart(
    title: str,
    x: str,
    ys: list[str],
    base: Rows | None,
    head: Rows | None,
    *,
    max_points: int = 50,
) -> str | None:
    """A ```mermaid xychart-beta block overlaying head's and base's `ys` against `x`.

    None when nothing numeric is there to draw. A y field with a non-numeric
    value in a revision is left out for that revision; empty cells and NaN are
    gaps. Without an `x` field in the rows, the row index (`step`) is used.
    See the module docstring for how lines, colours and the title are arranged.
    """
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    revisions = [(name, rows) for name, rows in (("head", head), ("base", base)) if rows]
    by_index = not x or not any(_present(r.get(x)) for _, rows in revisions for r in rows)
    fields = list(dict.fromkeys(f for f in ys if f))
    numeric_x, drawn = _collect(revisions, None if by_index else x, fields)
    fields = [f for f in fields if any((name, f) in drawn for name, _ in revisions)][:MAX_SERIES]
    lines = [
        (name, k, f) for name, _ in revisions for k, f in enumerate(fields) if (name, f) in drawn
    ]
    if not lines:
        return None
    grid, plotted, gaps = _aligned([drawn[(n, f)] for n, _, f in lines], numeric_x, max_points)

    names = {name for name, _, _ in lines}
    both = len(names) == 2
    palette = [(_LIGHT if both and name == "base" else _DARK)[k] for name, k, _ in lines]
    heading = _mermaid_text(title, 80) or _mermaid_text(", ".join(fields), 80) or "plot"
    heading += " (dark = head, light = base)" if both else f" ({names.pop()})"
    if gaps:
        heading += " · gaps held flat"
    if len(fields) == 1:
        y_title = _mermaid_text(fields[0], 60) or "value"
    else:
        y_title = ", ".join(
            f"{_mermaid_text(f, 30) or '?'}: {_COLOUR[k]}" for k, f in enumerate(fields)
        )
    x_title = "step" if by_index else (_mermaid_text(x, 40) or "x")

    config = {"themeVariables": {"xyChart": {"plotColorPalette": ", ".join(palette)}}}
    source = [
        f"%%{{init: {json.dumps(config)}}}%%",
        "xychart-beta",
        f'    title "{heading}"',
        f"    {_x_axis(x_title, grid, numeric_x)}",
        f"    {_y_axis(y_title, plotted)}",
        *(f"    line [{', '.join(_num(v) for v in values)}]" for values in plotted),
    ]
    return safe.fenced("\n".join(source), "mermaid")


# --- confusion matrix ------------------------------------------------------------------------


def confusion_table(rows: Rows, actual: str, predicted: str) -> tuple[list[list[int]], list[str]]:
    """Counts for DVC's confusion template: matrix[i][j] = rows with actual labels[i], predicted labels[j].

    Labels are the union of both columns, numeric order when all are numbers;
    rows missing either field are skipped.
    """
    pairs = [
        (_label(row.get(actual)), _label(row.get(predicted)))
        for row in rows
        if _present(row.get(actual)) and _present(row.get(predicted))
    ]
    labels = _sorted_labels({a for a, _ in pairs} | {p for _, p in pairs})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for a, p in pairs:
        matrix[index[a]][index[p]] += 1
    return matrix, labels


def _counts(matrix: list[list[int]], labels: list[str]) -> dict[tuple[str, str], int]:
    return {
        (a, p): matrix[i][j]
        for i, a in enumerate(labels)
        for j, p in enumerate(labels)
        if matrix[i][j]
    }


def confusion_markdown(
    rows: Rows,
    actual: str,
    predicted: str,
    *,
    base: Rows | None = None,
    max_labels: int = 20,
) -> str:
    """A markdown table of the confusion matrix: actual classes down, predicted across.

    The diagonal (correct predictions) is bold. With `base`, a cell whose count
    changed shows the change: `97 (+2)`. More than `max_labels` classes: the
    classes with the most rows are kept and the rest fold into "(other)". Labels
    go through `safe.cell`.
    """
    if max_labels < 2:
        raise ValueError("max_labels must be at least 2")
    head = _counts(*confusion_table(rows, actual, predicted))
    old = _counts(*confusion_table(base, actual, predicted)) if base is not None else None
    labels = _sorted_labels({label for pair in [*head, *(old or {})] for label in pair})
    if not labels:
        return f"No rows with both {safe.code(actual)} and {safe.code(predicted)}."
    if len(labels) > max_labels:
        support = dict.fromkeys(labels, 0)
        for (a, p), n in head.items():
            support[a] += n
            support[p] += n
        kept = set(sorted(labels, key=lambda label: -support[label])[: max_labels - 1])

        def fold(counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
            out: dict[tuple[str, str], int] = {}
            for (a, p), n in counts.items():
                pair = (a if a in kept else _OTHER, p if p in kept else _OTHER)
                out[pair] = out.get(pair, 0) + n
            return out

        head = fold(head)
        old = fold(old) if old is not None else None
        labels = [label for label in labels if label in kept] + [_OTHER]

    def name(label: str) -> str:
        return "(other)" if label == _OTHER else (safe.cell(label, max_len=40) or "(empty)")

    def count(a: str, p: str) -> str:
        n = head.get((a, p), 0)
        text = f"**{n}**" if a == p and a != _OTHER else str(n)
        change = n - old.get((a, p), 0) if old is not None else 0
        return f"{text} ({change:+d})" if change else text

    corner = f"{safe.cell(actual, max_len=40)} ↓ · {safe.cell(predicted, max_len=40)} →"
    lines = [
        "| " + " | ".join([corner, *map(name, labels)]) + " |",
        "| :-- |" + " --: |" * len(labels),
        *("| " + " | ".join([name(a), *(count(a, p) for p in labels)]) + " |" for a in labels),
    ]
    return "\n".join(lines)


# --- terminal --------------------------------------------------------------------------------


def sparkline(values: Sequence[float], *, width: int | None = None) -> str:
    """`values` as one line of ▁▂▃▄▅▆▇█: the minimum ▁, the maximum █.

    One character per value (thinned evenly to `width`); NaN and infinities are
    blanks; a flat series is all ▄.
    """
    points = list(values)
    if width is not None:
        if width < 1:
            raise ValueError("width must be at least 1")
        points = [points[i] for i in _evenly(len(points), width)]
    finite = [v for v in points if math.isfinite(v)]
    if not finite:
        return " " * len(points)
    low, high = min(finite), max(finite)
    top = len(_BARS) - 1

    def bar(value: float) -> str:
        if not math.isfinite(value):
            return " "
        if high == low:
            return _BARS[top // 2]
        return _BARS[round((value - low) / (high - low) * top)]

    return "".join(map(bar, points))
