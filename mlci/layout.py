"""Tables and labelled lines that fit the terminal's width.

rich shrinks a table that is too wide by squeezing its widest columns, and cuts
long words to `…`: the key text (a metric or check name) goes first. Here the
widths are decided before rich draws: empty columns are dropped, the columns
that can spare it (messages, details) give up their width first, down to their
longest word; then a key column wider than half the table folds down to half;
then the others split words, key columns last; every cell wraps, folding a word
longer than its column, so no text is ever cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

__all__ = ["Col", "fits", "labelled", "table", "water_fill"]

GAP = 3  # between two columns: a space, the divider, a space
FLOOR = 8  # a column that gives up width keeps at least this much
WORD = 20  # longer words (paths, URLs) may be split across lines


@dataclass(frozen=True)
class Col:
    header: str
    key: bool = False  # text a reader looks for: shrinks last
    justify: str = "left"


def _text(cell: str | Text) -> Text:
    from rich.text import Text

    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _longest(text: Text) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.plain.splitlines()), default=0)


def water_fill(natural: Sequence[int], floors: Sequence[int], budget: int) -> list[int]:
    """Widths ≤ natural summing to ≤ budget where it can: the widest shrink first, none below its floor."""
    widths = list(natural)
    excess = sum(widths) - budget
    while excess > 0:
        movable = [i for i, w in enumerate(widths) if w > floors[i]]
        if not movable:
            break
        top = max(widths[i] for i in movable)
        at_top = [i for i in movable if widths[i] == top]
        below = [widths[i] for i in movable if widths[i] < top]
        # lower the widest columns together to the next width down (or their floor)
        step = top - max([*below, *(floors[i] for i in at_top)])
        step = max(1, min(step, -(-excess // len(at_top))))
        for i in at_top:
            cut = min(step, widths[i] - floors[i], excess)
            widths[i] -= cut
            excess -= cut
    return widths


@dataclass
class _Plan:
    columns: list[Col]
    cells: list[list[Text]]
    widths: list[int]
    whole_words: bool  # no word is longer than its column (up to WORD)


def _plan(columns: Sequence[Col], rows: Sequence[Sequence[str | Text]], width: int) -> _Plan:
    from rich.cells import cell_len

    texts = [[_text(cell) for cell in row] for row in rows]
    shown = [i for i in range(len(columns)) if any(row[i].plain.strip() for row in texts)]
    if not shown:
        shown = list(range(len(columns)))
    cols = [columns[i] for i in shown]
    cells = [[row[i] for i in shown] for row in texts]
    natural = [
        max([cell_len(col.header), *(_longest(row[j]) for row in cells)])
        for j, col in enumerate(cols)
    ]
    words = [
        min(WORD, max([0, *(cell_len(w) for row in cells for w in row[j].plain.split())]))
        for j in range(len(cols))
    ]
    headers = [max((cell_len(w) for w in col.header.split()), default=0) for col in cols]
    budget = max(len(cols), width - GAP * (len(cols) - 1))
    # the columns that can spare it give up width first, down to their longest word, then to
    # FLOOR; the key columns last
    widths = water_fill(
        natural,
        [
            n if col.key else min(n, max(w, h))
            for n, w, h, col in zip(natural, words, headers, cols, strict=True)
        ],
        budget,
    )
    whole = sum(widths) <= budget
    # a key column far wider than the others (long stage names, deep paths) folds, down to
    # half the width, before another column splits its words ("dele|ted")
    widths = water_fill(
        widths,
        [
            min(n, max(budget // 2, h)) if col.key else n
            for n, h, col in zip(widths, headers, cols, strict=True)
        ],
        budget,
    )
    widths = water_fill(
        widths,
        [
            n if col.key else min(n, max(FLOOR, h))
            for n, h, col in zip(natural, headers, cols, strict=True)
        ],
        budget,
    )
    widths = water_fill(
        widths, [n if col.key else min(n, 4) for n, col in zip(widths, cols, strict=True)], budget
    )
    widths = water_fill(widths, [min(n, 4) for n in widths], budget)
    whole = whole or all(w >= word for w, word in zip(widths, words, strict=True))
    return _Plan(cols, cells, widths, whole)


def fits(columns: Sequence[Col], rows: Sequence[Sequence[str | Text]], *, width: int) -> bool:
    """Whether the table fits `width` with no word split (words up to WORD long)."""
    return _plan(columns, rows, width).whole_words


def table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[str | Text]],
    *,
    width: int,
    title: str | None = None,
    row_styles: Sequence[str] | None = None,
) -> Table:
    """A rich table of at most `width` cells; columns without content are left out."""
    from rich.table import Table

    plan = _plan(columns, rows, width)
    result = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        show_edge=False,
        pad_edge=False,
        expand=False,
    )
    for col, w in zip(plan.columns, plan.widths, strict=True):
        result.add_column(col.header, width=w, overflow="fold", justify=col.justify)  # type: ignore[arg-type]
    for index, row in enumerate(plan.cells):
        style = row_styles[index] if row_styles else None
        result.add_row(*row, style=style or None)
    return result


def labelled(
    console: Console, rows: Sequence[tuple[str, str]], *, label_width: int | None = None
) -> None:
    """`label  text` lines (rich markup), the text wrapping under itself, not under the label.

    Where the width is not known (a log or pipe without COLUMNS: the console soft-wraps),
    each line stays whole, so that paths and links can be searched for.
    """
    from rich.table import Table

    label = label_width or max((_longest(_text(name)) for name, _ in rows), default=0)
    if console.soft_wrap:
        for name, text in rows:
            console.print(f"{name}{' ' * (label - _longest(_text(name)))}  {text}")
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(width=label, no_wrap=True)
    grid.add_column(max_width=max(8, console.width - label - 2), overflow="fold")
    for name, text in rows:
        grid.add_row(name, text)
    console.print(grid)
