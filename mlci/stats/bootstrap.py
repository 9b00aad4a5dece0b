"""Paired-bootstrap intervals for metric changes between two models' per-sample predictions.

Standard library only: this module is on the CLI path of ``mlci report``.

A bootstrap resample of n samples only matters through how many times each kind of sample
was drawn. For a metric of the confusion counts, the kind of a sample is its pair of cells
(base, head), e.g. (label, base prediction, head prediction) for F1; there are usually far
fewer kinds than samples. So each resample draws the kinds' counts from the multinomial
distribution the index resampling induces, and scores them with precomputed sums: the same
distribution as resampling indices, at a cost that grows with the kinds, not with n.
"""

from __future__ import annotations

import csv
import io
import math
import operator
import random
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "METRICS",
    "Interval",
    "Metric",
    "Predictions",
    "accuracy",
    "compare",
    "f1_for",
    "f1_macro",
    "metric_named",
    "pair",
    "paired_bootstrap",
    "read_predictions",
]

MIN_RESAMPLES = 100

Cell = TypeVar("Cell", bound=Hashable)
Scorer = Callable[[Sequence[int]], float]


# --- predictions -----------------------------------------------------------------------------


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


def pair(base: Predictions, head: Predictions) -> tuple[list[str], list[str], list[str]]:
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


# --- metrics ---------------------------------------------------------------------------------


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
        _check_samples(labels, preds)
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


def _check_samples(labels: Sequence[str], *predictions: Sequence[str]) -> None:
    for preds in predictions:
        if len(preds) != len(labels):
            raise ValueError(f"{len(labels)} labels but {len(preds)} predictions")
    if not labels:
        raise ValueError("no samples: cannot compute a metric over an empty test set")


# --- paired bootstrap ------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A metric's change from base to head with its paired-bootstrap percentile interval."""

    metric: str
    base: float
    head: float
    change: float
    low: float
    high: float
    significant: bool
    resamples: int
    n: int


def paired_bootstrap(
    labels: Sequence[str],
    base_pred: Sequence[str],
    head_pred: Sequence[str],
    metric: Callable[[Sequence[str], Sequence[str]], float],
    *,
    name: str,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Change metric(head) - metric(base) with a percentile interval over resamples of the
    samples drawn with replacement, the same draw for both models. Deterministic per seed.

    A ``Metric`` is resampled through its confusion counts (fast); any other callable is
    recomputed on each resample (slow: n·resamples list items).
    """
    _check_samples(labels, base_pred, head_pred)
    if resamples < MIN_RESAMPLES:
        raise ValueError(f"resamples must be at least {MIN_RESAMPLES}, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    rng = random.Random(seed)  # noqa: S311 - a statistical resample, not a secret
    if isinstance(metric, Metric):
        changes = _resampled_changes(metric, labels, base_pred, head_pred, resamples, rng)
    else:
        changes = _recomputed_changes(metric, labels, base_pred, head_pred, resamples, rng)
    changes.sort()
    tail = (1.0 - confidence) / 2
    low, high = _quantile(changes, tail), _quantile(changes, 1.0 - tail)
    base, head = metric(labels, base_pred), metric(labels, head_pred)
    return Interval(
        metric=name,
        base=base,
        head=head,
        change=head - base,
        low=low,
        high=high,
        significant=not (low <= 0.0 <= high),
        resamples=resamples,
        n=len(labels),
    )


def compare(
    base: Predictions,
    head: Predictions,
    metrics: Iterable[str] = ("accuracy", "f1_macro"),
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[Interval]:
    """Paired-bootstrap intervals for each named metric over the samples both models saw."""
    chosen = [(name, metric_named(name)) for name in _names(metrics)]
    labels, base_pred, head_pred = pair(base, head)
    if not labels:
        raise ValueError(
            f"no samples to compare: base and head share no index "
            f"({len(base.index)} and {len(head.index)} samples)"
        )
    return [
        paired_bootstrap(
            labels,
            base_pred,
            head_pred,
            metric,
            name=name,
            resamples=resamples,
            confidence=confidence,
            seed=seed,
        )
        for name, metric in chosen
    ]


def _names(metrics: Iterable[str]) -> list[str]:
    return [metrics] if isinstance(metrics, str) else list(metrics)


def _resampled_changes(
    metric: Metric[Any],
    labels: Sequence[str],
    base_pred: Sequence[str],
    head_pred: Sequence[str],
    resamples: int,
    rng: random.Random,
) -> list[float]:
    kinds = Counter(
        zip(map(metric.key, labels, base_pred), map(metric.key, labels, head_pred), strict=True)
    )
    ordered = sorted(kinds.items(), key=lambda item: -item[1])
    base_score = metric.scorer([base for (base, _), _ in ordered])
    head_score = metric.scorer([head for (_, head), _ in ordered])
    draw = _multinomial([size for _, size in ordered], rng)
    changes = []
    for _ in range(resamples):
        counts = draw()
        changes.append(head_score(counts) - base_score(counts))
    return changes


def _recomputed_changes(
    metric: Callable[[Sequence[str], Sequence[str]], float],
    labels: Sequence[str],
    base_pred: Sequence[str],
    head_pred: Sequence[str],
    resamples: int,
    rng: random.Random,
) -> list[float]:
    population = range(len(labels))
    changes = []
    for _ in range(resamples):
        drawn = rng.choices(population, k=len(labels))
        sample = [labels[i] for i in drawn]
        changes.append(
            metric(sample, [head_pred[i] for i in drawn])
            - metric(sample, [base_pred[i] for i in drawn])
        )
    return changes


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default percentile)."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction


# --- sampling --------------------------------------------------------------------------------

# Kinds with fewer samples than this are drawn one draw at a time (about 0.2 µs a draw) rather
# than by a binomial (about 1 µs whatever its size).
_BINOMIAL_MIN = 8


def _multinomial(sizes: Sequence[int], rng: random.Random) -> Callable[[], list[int]]:
    """Sampler of how often each kind is drawn in n = sum(sizes) draws with replacement,
    kind k having ``sizes[k]`` samples; ``sizes`` sorted from largest to smallest.

    Large kinds take conditional binomials; the draws left over fall uniformly on the small
    kinds' samples (``slots``: kind k's position repeated sizes[k] times).
    """
    kinds = len(sizes)
    total = sum(sizes)
    split = sum(1 for size in sizes if size >= _BINOMIAL_MIN)
    slots = [k for k in range(split, kinds) for _ in range(sizes[k])]
    uniform = rng.random

    def draw() -> list[int]:
        counts = [0] * kinds
        left, pool = total, total
        for k in range(split):
            if not left:
                return counts
            size = sizes[k]
            drawn = _binomial(uniform, left, size / pool)
            counts[k] = drawn
            left -= drawn
            pool -= size
        if left:
            for k, drawn in Counter(rng.choices(slots, k=left)).items():
                counts[k] = drawn
        return counts

    return draw


def _binomial(uniform: Callable[[], float], n: int, p: float) -> int:
    """A Binomial(n, p) variate by CPython 3.12's ``random.binomialvariate`` algorithm (not
    in 3.11), so the same draws for the same generator state."""
    if p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n == 1:
        return int(uniform() < p)
    if p > 0.5:
        return n - _binomial(uniform, n, 1.0 - p)
    return _geometric(uniform, n, p) if n * p < 10.0 else _btrs(uniform, n, p)


def _geometric(uniform: Callable[[], float], n: int, p: float) -> int:
    """Devroye's geometric method, O(n·p): jump from one success to the next."""
    successes = position = 0
    c = math.log2(1.0 - p)
    if not c:
        return 0
    while True:
        position += math.floor(math.log2(uniform()) / c) + 1
        if position > n:
            return successes
        successes += 1


def _btrs(uniform: Callable[[], float], n: int, p: float) -> int:
    """Hörmann's transformed rejection with squeeze, for n·p >= 10 and p <= 0.5."""
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    while True:
        u = uniform() - 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        v = uniform()
        if us >= 0.07 and v <= vr:
            return k
        if _btrs_accepts(n, p, k, v * ((2.83 + 5.1 / b) * spq / (a / (us * us) + b))):
            return k


def _btrs_accepts(n: int, p: float, k: int, v: float) -> bool:
    """BTRS's exact test of k against the log of the rescaled binomial probability."""
    mode = math.floor((n + 1) * p)
    h = math.lgamma(mode + 1) + math.lgamma(n - mode + 1)
    lpq = math.log(p / (1.0 - p))
    return math.log(v) <= h - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (k - mode) * lpq
