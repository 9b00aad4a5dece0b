"""Draws for the bootstrap: multinomial counts by conditional binomials, as CPython 3.12 draws."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence

__all__ = ["binomial", "multinomial"]


# Kinds with fewer samples than this are drawn one draw at a time (about 0.2 µs a draw) rather
# than by a binomial (about 1 µs whatever its size).
_BINOMIAL_MIN = 8


def multinomial(sizes: Sequence[int], rng: random.Random) -> Callable[[], list[int]]:
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
            drawn = binomial(uniform, left, size / pool)
            counts[k] = drawn
            left -= drawn
            pool -= size
        if left:
            for k, drawn in Counter(rng.choices(slots, k=left)).items():
                counts[k] = drawn
        return counts

    return draw


def binomial(uniform: Callable[[], float], n: int, p: float) -> int:
    """A Binomial(n, p) variate by CPython 3.12's ``random.binomialvariate`` algorithm (not
    in 3.11), so the same draws for the same generator state."""
    if p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n == 1:
        return int(uniform() < p)
    if p > 0.5:
        return n - binomial(uniform, n, 1.0 - p)
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
