"""Confusion matrices of DVC's confusion template: counts, and a markdown table with changes."""

from __future__ import annotations

from mlci.report import safe
from mlci.report.plot_rows import Rows, category, present, sorted_labels

__all__ = ["confusion_markdown", "confusion_table"]

_OTHER = "\x00other"  # the folded row/column of a confusion table with many classes


def confusion_table(rows: Rows, actual: str, predicted: str) -> tuple[list[list[int]], list[str]]:
    """Counts for DVC's confusion template: matrix[i][j] = rows with actual labels[i], predicted labels[j].

    Labels are the union of both columns, numeric order when all are numbers;
    rows missing either field are skipped.
    """
    pairs = [
        (category(row.get(actual)), category(row.get(predicted)))
        for row in rows
        if present(row.get(actual)) and present(row.get(predicted))
    ]
    labels = sorted_labels({a for a, _ in pairs} | {p for _, p in pairs})
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
    labels = sorted_labels({label for pair in [*head, *(old or {})] for label in pair})
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
