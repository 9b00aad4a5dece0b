"""DVC plots in the report: Mermaid line charts and terminal sparklines.

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

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from mlci.report import safe
from mlci.report.plot_rows import Rows, category, evenly, finite_number, is_text, present

__all__ = ["MAX_SERIES", "sparkline", "xychart"]

Series = dict[float | str, float | None]  # one field of one revision: x -> value (None: a gap)

# matplotlib's tab20: each dark colour (head) and its light tint (base)
_DARK = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_LIGHT = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7")
_COLOUR = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey")
MAX_SERIES = len(_DARK)  # y fields drawn per chart; the rest are left out
_BARS = "▁▂▃▄▅▆▇█"


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
    if not values or any(is_text(v) for _, v in values):
        return None
    series = {x: finite_number(v) for x, v in values}
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
            if present(xv := (i if x is None else row.get(x)))
        ]
        for name, rows in revisions
    }
    numeric_x = all(finite_number(xv) is not None for p in pairs.values() for xv, _ in p)

    def key(value: object) -> float | str:
        number = finite_number(value)
        return number if numeric_x and number is not None else category(value)

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
    keep = evenly(len(grid), max_points)
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
    by_index = not x or not any(present(r.get(x)) for _, rows in revisions for r in rows)
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
        points = [points[i] for i in evenly(len(points), width)]
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
