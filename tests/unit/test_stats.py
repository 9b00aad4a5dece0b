from __future__ import annotations

import random
import re
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sklearn.metrics import accuracy_score, f1_score

from mlci import stats
from mlci.stats import Predictions, bootstrap, sampling


def generator(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - test data, not secrets


def random_predictions(
    n: int, classes: int, *, correct: float, seed: int
) -> tuple[list[str], list[str]]:
    """Labels over `classes` classes and predictions right with probability `correct`."""
    rng = generator(seed)
    names = [f"c{k}" for k in range(classes)]
    labels = [rng.choice(names) for _ in range(n)]
    preds = [y if rng.random() < correct else rng.choice(names) for y in labels]
    return labels, preds


def with_accuracy(labels: Sequence[str], right: int, *, seed: int) -> list[str]:
    """Predictions right on exactly `right` of the samples, chosen at random."""
    rng = generator(seed)
    wrong = set(rng.sample(range(len(labels)), len(labels) - right))
    names = sorted(set(labels))
    return [
        names[(names.index(y) + 1) % len(names)] if i in wrong else y for i, y in enumerate(labels)
    ]


def predictions(labels: Sequence[str], preds: Sequence[str]) -> Predictions:
    return Predictions(tuple(map(str, range(len(labels)))), tuple(labels), tuple(preds))


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_by_hand() -> None:
    labels = ["a", "b", "c", "a"]
    preds = ["a", "b", "a", "c"]
    assert stats.accuracy(labels, preds) == 0.5
    # a: tp 1, fp 1, fn 1 -> 0.5; b: 1.0; c: tp 0 -> 0.0
    assert stats.f1_macro(labels, preds) == pytest.approx(0.5)
    assert stats.f1_for("a")(labels, preds) == 0.5
    assert stats.f1_for("b")(labels, preds) == 1.0
    assert stats.f1_for("c")(labels, preds) == 0.0
    assert stats.f1_for("absent")(labels, preds) == 0.0


def test_f1_macro_counts_classes_only_predicted() -> None:
    # a: 2·1 / (2·1 + 0 + 1) = 2/3; b appears only as a prediction: 0
    assert stats.f1_macro(["a", "a"], ["a", "b"]) == pytest.approx(1 / 3)


@pytest.mark.parametrize("classes", [2, 3, 5, 10, 30])
@pytest.mark.parametrize("n", [1, 2, 7, 60, 500])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(classes: int, n: int, seed: int) -> None:
    labels, preds = random_predictions(n, classes, correct=0.6, seed=seed)
    assert stats.accuracy(labels, preds) == pytest.approx(accuracy_score(labels, preds))
    expected = f1_score(labels, preds, average="macro", zero_division=0.0)
    assert stats.f1_macro(labels, preds) == pytest.approx(expected)
    for cls in ("c0", "c1", "nowhere"):
        one = f1_score(labels, preds, labels=[cls], average="macro", zero_division=0.0)
        assert stats.f1_for(cls)(labels, preds) == pytest.approx(one)


def test_metric_named() -> None:
    assert stats.metric_named("accuracy") is stats.accuracy
    assert stats.metric_named("f1_macro") is stats.f1_macro
    assert stats.metric_named("f1.cat").name == "f1.cat"
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        stats.metric_named("auc")


def test_metric_without_samples() -> None:
    with pytest.raises(ValueError, match="no samples"):
        stats.accuracy([], [])
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        stats.f1_macro(["a", "b"], ["a"])


# --- paired bootstrap ------------------------------------------------------------------------


@pytest.mark.parametrize("metric", [stats.accuracy, stats.f1_macro])
def test_large_improvement_is_significant(metric: stats.Metric[Any]) -> None:
    labels, _ = random_predictions(2000, 5, correct=1.0, seed=3)
    base = with_accuracy(labels, 1600, seed=4)
    head = with_accuracy(labels, 1900, seed=5)
    interval = stats.paired_bootstrap(labels, base, head, metric, name=metric.name)
    assert interval.significant
    assert 0 < interval.low < interval.change < interval.high
    assert interval.resamples == 1000
    assert interval.n == 2000
    if metric is stats.accuracy:
        assert (interval.base, interval.head) == (0.8, 0.95)
        assert interval.change == pytest.approx(0.15)


@pytest.mark.parametrize("metric", [stats.accuracy, stats.f1_macro])
def test_a_handful_of_flips_is_within_noise(metric: stats.Metric[Any]) -> None:
    labels, _ = random_predictions(2000, 5, correct=1.0, seed=3)
    base = with_accuracy(labels, 1600, seed=4)
    head = list(base)
    fixed = [i for i, (y, p) in enumerate(zip(labels, base, strict=True)) if y != p][:3]
    for i in fixed:
        head[i] = labels[i]
    interval = stats.paired_bootstrap(labels, base, head, metric, name=metric.name)
    assert interval.change > 0
    assert not interval.significant
    assert interval.low <= 0 <= interval.high


def test_a_worse_head_has_a_negative_interval() -> None:
    labels, _ = random_predictions(2000, 3, correct=1.0, seed=8)
    base = with_accuracy(labels, 1900, seed=9)
    head = with_accuracy(labels, 1700, seed=10)
    interval = stats.paired_bootstrap(labels, base, head, stats.accuracy, name="accuracy")
    assert interval.significant
    assert interval.low < interval.change < interval.high < 0


def test_deterministic_for_a_seed() -> None:
    labels, base = random_predictions(800, 4, correct=0.7, seed=11)
    _, head = random_predictions(800, 4, correct=0.75, seed=12)

    def run(seed: int) -> stats.Interval:
        return stats.paired_bootstrap(labels, base, head, stats.f1_macro, name="f1", seed=seed)

    first = run(7)
    assert run(7) == first
    assert (run(8).low, run(8).high) != (first.low, first.high)


@pytest.mark.parametrize(
    "metric", [stats.accuracy, stats.f1_macro, stats.f1_for("c1"), stats.accuracy.__call__]
)
def test_identical_predictions(metric: Callable[[Sequence[str], Sequence[str]], float]) -> None:
    labels, preds = random_predictions(300, 3, correct=0.7, seed=13)
    interval = stats.paired_bootstrap(labels, preds, list(preds), metric, name="m")
    assert (interval.change, interval.low, interval.high) == (0.0, 0.0, 0.0)
    assert not interval.significant


def test_counts_and_recomputing_agree() -> None:
    """Drawing how often each kind of sample is drawn and plain index resampling give the
    same distribution of changes, up to Monte Carlo error."""
    labels, base = random_predictions(400, 6, correct=0.7, seed=14)
    _, head = random_predictions(400, 6, correct=0.75, seed=15)
    for metric in (stats.accuracy, stats.f1_macro):
        fast = bootstrap.changes(metric, labels, base, head, 3000, generator(1))
        slow = bootstrap.changes(metric.__call__, labels, base, head, 3000, generator(2))
        sd = statistics.stdev(slow)
        assert statistics.fmean(fast) == pytest.approx(
            statistics.fmean(slow), abs=4 * sd / 3000**0.5
        )
        assert statistics.stdev(fast) == pytest.approx(sd, rel=0.08)
        fast.sort()
        slow.sort()
        for q in (0.025, 0.5, 0.975):
            assert fast[int(q * 3000)] == pytest.approx(slow[int(q * 3000)], abs=0.3 * sd)


def test_confidence_widens_the_interval() -> None:
    labels, base = random_predictions(500, 3, correct=0.7, seed=16)
    _, head = random_predictions(500, 3, correct=0.72, seed=17)
    narrow = stats.paired_bootstrap(labels, base, head, stats.accuracy, name="a", confidence=0.5)
    wide = stats.paired_bootstrap(labels, base, head, stats.accuracy, name="a", confidence=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_bootstrap_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="no samples"):
        stats.paired_bootstrap([], [], [], stats.accuracy, name="accuracy")
    with pytest.raises(ValueError, match="at least 100"):
        stats.paired_bootstrap(["a"], ["a"], ["a"], stats.accuracy, name="a", resamples=99)
    with pytest.raises(ValueError, match="confidence"):
        stats.paired_bootstrap(["a"], ["a"], ["a"], stats.accuracy, name="a", confidence=1.0)
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        stats.paired_bootstrap(["a", "b"], ["a", "b"], ["a"], stats.accuracy, name="a")


def test_binomial_moments() -> None:
    rng = generator(0)
    for n, p in [(1, 0.3), (20, 0.2), (200, 0.01), (5000, 0.003), (5000, 0.5), (9000, 0.93)]:
        draws = [sampling.binomial(rng.random, n, p) for _ in range(20000)]
        assert all(0 <= x <= n for x in draws)
        sd = (n * p * (1 - p)) ** 0.5
        assert statistics.fmean(draws) == pytest.approx(n * p, abs=5 * sd / 20000**0.5)
        assert statistics.pstdev(draws) == pytest.approx(sd, rel=0.05)
    assert sampling.binomial(rng.random, 10, 0.0) == 0
    assert sampling.binomial(rng.random, 10, 1.0) == 10


def test_multinomial_draws_n_in_proportion() -> None:
    sizes = [500, 200, 60, 9, 8, 7, 5, 3, 1, 1]
    total = sum(sizes)
    draw = sampling.multinomial(sizes, generator(1))
    draws = [draw() for _ in range(4000)]
    assert all(sum(counts) == total for counts in draws)
    for k, size in enumerate(sizes):
        mean = statistics.fmean(counts[k] for counts in draws)
        sd = (total * size / total * (1 - size / total)) ** 0.5
        assert mean == pytest.approx(size, abs=5 * sd / 4000**0.5)


# --- reading and pairing ---------------------------------------------------------------------


def test_read_predictions() -> None:
    text = "\ufeffindex,label,predicted,proba\r\n0,cat,cat,0.9\r\n\r\n1,dog,cat,0.6\r\n"
    assert stats.read_predictions(text) == Predictions(("0", "1"), ("cat", "dog"), ("cat", "cat"))


def test_read_predictions_other_column_names() -> None:
    text = 'id,y,"y_hat"\n7,"a,b",a\n'
    got = stats.read_predictions(text, index="id", label="y", predicted="y_hat")
    assert got == Predictions(("7",), ("a,b",), ("a",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("index,label\n0,a\n", "no column 'predicted' (columns: index, label)"),
        ("", "empty"),
        ("index,label,predicted\n0,a\n", "line 2: 2 fields, the header has 3"),
        ("index,label,predicted\n0,a,\n", "line 2: empty value in column 'predicted'"),
        ("index,label,predicted\n0,a,a\n0,b,b\n", "line 3: '0' in column 'index' repeats line 2"),
        ('index,label,predicted\n0,"a,a\n', "malformed"),
        ("index,label,label,predicted\n", "column 'label' 2 times"),
    ],
)
def test_read_predictions_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        stats.read_predictions(text)


def test_missing_custom_column_is_named() -> None:
    with pytest.raises(ValueError, match="no column 'target'"):
        stats.read_predictions("index,label,predicted\n", label="target")


def test_predictions_are_checked() -> None:
    with pytest.raises(ValueError, match="repeat the index '1'"):
        Predictions(("1", "1"), ("a", "b"), ("a", "b"))
    with pytest.raises(ValueError, match="one of each per sample"):
        Predictions(("1", "2"), ("a",), ("a", "b"))


def test_pair_aligns_by_index() -> None:
    base = Predictions(("1", "2", "3"), ("a", "b", "c"), ("a", "a", "c"))
    head = Predictions(("3", "4", "1"), ("c", "d", "a"), ("b", "d", "a"))
    assert stats.pair(base, head) == (["a", "c"], ["a", "c"], ["a", "b"])


def test_pair_rejects_different_test_sets() -> None:
    base = Predictions(("1", "2"), ("a", "b"), ("a", "b"))
    head = Predictions(("1", "2"), ("a", "c"), ("a", "b"))
    with pytest.raises(ValueError, match=r"test sets differ: 1 of 2 .* index '2' is 'b' in base"):
        stats.pair(base, head)


def test_compare() -> None:
    labels, _ = random_predictions(1000, 3, correct=1.0, seed=18)
    base = predictions(labels, with_accuracy(labels, 700, seed=19))
    head = predictions(labels, with_accuracy(labels, 900, seed=20))
    intervals = stats.compare(base, head)
    assert [i.metric for i in intervals] == ["accuracy", "f1_macro"]
    assert all(i.significant and i.low > 0 for i in intervals)
    (one,) = stats.compare(base, head, "f1.c0", resamples=200, seed=3)
    assert (one.metric, one.resamples) == ("f1.c0", 200)
    with pytest.raises(ValueError, match="unknown metric"):
        stats.compare(base, head, ["accuracy", "auc"])
    elsewhere = Predictions(("x",), ("c0",), ("c0",))
    with pytest.raises(ValueError, match=r"share no index \(1000 and 1 samples\)"):
        stats.compare(base, elsewhere)
