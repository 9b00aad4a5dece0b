"""The paired bootstrap: a metric change's percentile interval over the same resamples of both."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mlci.stats.metrics import Metric, check_samples, metric_named
from mlci.stats.predictions import Predictions, pair
from mlci.stats.sampling import multinomial

__all__ = ["MIN_RESAMPLES", "Interval", "changes", "compare", "paired_bootstrap"]

MIN_RESAMPLES = 100

_Samples = tuple[Sequence[str], Sequence[str], Sequence[str]]


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
    check_samples(labels, base_pred, head_pred)
    if resamples < MIN_RESAMPLES:
        raise ValueError(f"resamples must be at least {MIN_RESAMPLES}, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    rng = random.Random(seed)  # noqa: S311 - a statistical resample, not a secret
    drawn = sorted(changes(metric, labels, base_pred, head_pred, resamples, rng))
    tail = (1.0 - confidence) / 2
    low, high = _quantile(drawn, tail), _quantile(drawn, 1.0 - tail)
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


def changes(
    metric: Callable[[Sequence[str], Sequence[str]], float],
    labels: Sequence[str],
    base_pred: Sequence[str],
    head_pred: Sequence[str],
    resamples: int,
    rng: random.Random,
) -> list[float]:
    """metric(head) - metric(base) on each of `resamples` resamples, the same for both: a
    ``Metric`` through its confusion counts (fast), any other callable recomputed (slow)."""
    samples = (labels, base_pred, head_pred)
    if isinstance(metric, Metric):
        change = _by_counts(metric, samples, rng)
    else:
        change = _by_indices(metric, samples, rng)
    return [change() for _ in range(resamples)]


def _by_counts(metric: Metric[Any], samples: _Samples, rng: random.Random) -> Callable[[], float]:
    """One resample's change from how often each kind of sample was drawn."""
    labels, base_pred, head_pred = samples
    kinds = Counter(
        zip(map(metric.key, labels, base_pred), map(metric.key, labels, head_pred), strict=True)
    )
    ordered = sorted(kinds.items(), key=lambda item: -item[1])
    base_score = metric.scorer([base for (base, _), _ in ordered])
    head_score = metric.scorer([head for (_, head), _ in ordered])
    draw = multinomial([size for _, size in ordered], rng)

    def change() -> float:
        counts = draw()
        return head_score(counts) - base_score(counts)

    return change


def _by_indices(
    metric: Callable[[Sequence[str], Sequence[str]], float],
    samples: _Samples,
    rng: random.Random,
) -> Callable[[], float]:
    """One resample's change, the metric recomputed on the drawn samples."""
    labels, base_pred, head_pred = samples
    population = range(len(labels))

    def change() -> float:
        drawn = rng.choices(population, k=len(labels))
        sample = [labels[i] for i in drawn]
        return metric(sample, [head_pred[i] for i in drawn]) - metric(
            sample, [base_pred[i] for i in drawn]
        )

    return change


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default percentile)."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction
