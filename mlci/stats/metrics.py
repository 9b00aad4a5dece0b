"""Metrics of the confusion counts (accuracy, macro F1, one class's F1), scored from counts."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "METRICS",
    "Metric",
    "Scorer",
    "accuracy",
    "check_samples",
    "f1_for",
    "f1_macro",
    "metric_named",
]

Cell = TypeVar("Cell", bound=Hashable)
Scorer = Callable[[Sequence[int]], float]


@dataclass(frozen=True)
class Metric(Generic[Cell]):
    """A metric of the confusion counts, callable as ``metric(labels, predictions)``.

    ``key`` maps (label, prediction) to the sample's cell. ``scorer`` takes a list of cells
    (repeats allowed) and returns a function that scores counts aligned with that list.
    """

    name: str
    key: Callable[[str, str], Cell]
    scorer: Callable[[Sequence[Cell]], Scorer]

    def __call__(self, labels: Sequence[str], preds: Sequence[str]) -> float:
        check_samples(labels, preds)
        cells = Counter(map(self.key, labels, preds))
        return self.scorer(list(cells))(list(cells.values()))


def _summer(positions: list[int]) -> Callable[[Sequence[int]], int]:
    """Sum of ``counts`` at ``positions`` (repeats count twice), gathered in C."""
    if not positions:
        return lambda counts: 0
    if len(positions) == 1:
        (position,) = positions
        return lambda counts: counts[position]
    get = operator.itemgetter(*positions)
    return lambda counts: sum(get(counts))


def _accuracy_scorer(cells: Sequence[bool]) -> Scorer:
    correct = _summer([k for k, cell in enumerate(cells) if cell])
    return lambda counts: correct(counts) / sum(counts)


def _class_f1(tp: Callable[[Sequence[int]], int], den: Callable[[Sequence[int]], int]) -> Scorer:
    """F1 = 2·tp / (2·tp + fp + fn) with den = support + predicted = 2·tp + fp + fn; 0 if 0."""

    def score(counts: Sequence[int]) -> float:
        d = den(counts)
        return 2 * tp(counts) / d if d else 0.0

    return score


def _class_sums(
    cells: Sequence[tuple[str, str]], cls: str
) -> tuple[Callable[[Sequence[int]], int], Callable[[Sequence[int]], int]]:
    tp = [k for k, (y, p) in enumerate(cells) if y == p == cls]
    support = [k for k, (y, _) in enumerate(cells) if y == cls]
    predicted = [k for k, (_, p) in enumerate(cells) if p == cls]
    return _summer(tp), _summer(support + predicted)


def _f1_macro_scorer(cells: Sequence[tuple[str, str]]) -> Scorer:
    classes = sorted({c for cell in cells for c in cell})
    sums = [_class_sums(cells, cls) for cls in classes]

    # sklearn's macro F1 averages over the classes present in labels or predictions; in a
    # resample a class may be absent (den == 0) and is then left out, not counted as 0.
    def score(counts: Sequence[int]) -> float:
        total, present = 0.0, 0
        for tp, den in sums:
            d = den(counts)
            if d:
                total += 2 * tp(counts) / d
                present += 1
        return total / present

    return score


def _pair_cell(label: str, pred: str) -> tuple[str, str]:
    return label, pred


accuracy: Metric[bool] = Metric("accuracy", operator.eq, _accuracy_scorer)
f1_macro: Metric[tuple[str, str]] = Metric("f1_macro", _pair_cell, _f1_macro_scorer)


def f1_for(cls: str) -> Metric[tuple[bool, bool]]:
    """F1 of one class (0 where it has no true positives, as in scikit-learn)."""

    def key(label: str, pred: str) -> tuple[bool, bool]:
        return label == cls, pred == cls

    def scorer(cells: Sequence[tuple[bool, bool]]) -> Scorer:
        tp = _summer([k for k, (y, p) in enumerate(cells) if y and p])
        support = [k for k, (y, _) in enumerate(cells) if y]
        predicted = [k for k, (_, p) in enumerate(cells) if p]
        return _class_f1(tp, _summer(support + predicted))

    return Metric(f"f1.{cls}", key, scorer)


METRICS: Mapping[str, Metric[Any]] = {"accuracy": accuracy, "f1_macro": f1_macro}


def metric_named(name: str) -> Metric[Any]:
    """A metric in METRICS, or ``f1.<class>`` for one class's F1."""
    if name in METRICS:
        return METRICS[name]
    if name.startswith("f1.") and len(name) > 3:
        return f1_for(name[3:])
    raise ValueError(f"unknown metric '{name}' (known: {', '.join(METRICS)}, f1.<class>)")


def check_samples(labels: Sequence[str], *predictions: Sequence[str]) -> None:
    for preds in predictions:
        if len(preds) != len(labels):
            raise ValueError(f"{len(labels)} labels but {len(preds)} predictions")
    if not labels:
        raise ValueError("no samples: cannot compute a metric over an empty test set")
