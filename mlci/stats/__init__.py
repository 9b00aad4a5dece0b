"""Paired-bootstrap intervals for metric changes between two models' per-sample predictions.

Standard library only: this package is on the CLI path of ``mlci report``.
`predictions` reads and pairs the predictions CSVs, `metrics` scores confusion counts,
`bootstrap` resamples both models alike, `sampling` draws the counts.

A bootstrap resample of n samples only matters through how many times each kind of sample
was drawn. For a metric of the confusion counts, the kind of a sample is its pair of cells
(base, head), e.g. (label, base prediction, head prediction) for F1; there are usually far
fewer kinds than samples. So each resample draws the kinds' counts from the multinomial
distribution the index resampling induces, and scores them with precomputed sums: the same
distribution as resampling indices, at a cost that grows with the kinds, not with n.
"""

from mlci.stats.bootstrap import Interval, compare, paired_bootstrap
from mlci.stats.metrics import METRICS, Metric, accuracy, f1_for, f1_macro, metric_named
from mlci.stats.predictions import Predictions, pair, read_predictions

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
