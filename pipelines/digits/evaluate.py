"""Evaluate models/digits on the held-out test split: metrics, predictions, confusion rows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.digits.common import csv_bytes, read_xy, write_atomic
from pipelines.digits.model import MODEL_DIR, load

TEST_CSV = Path("work/prepared/test.csv")
METRICS_JSON = Path("metrics/metrics.json")
PREDICTIONS_CSV = Path("metrics/predictions.csv")
CONFUSION_CSV = Path("plots/confusion.csv")


def compute_metrics(
    actual: np.ndarray, predicted: np.ndarray, classes: list[int]
) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    per_class = f1_score(actual, predicted, labels=classes, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(actual, predicted)),
        "f1_macro": float(
            f1_score(actual, predicted, labels=classes, average="macro", zero_division=0)
        ),
        "per_class": {"f1": {str(c): float(v) for c, v in zip(classes, per_class, strict=True)}},
        "n_test": len(actual),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.digits.evaluate", description=__doc__
    )
    parser.parse_args(argv)

    predictor = load(MODEL_DIR)
    x, y = read_xy(TEST_CSV)
    predicted = predictor.predict(x)
    classes = [int(c) for c in predictor.meta["classes"]]
    metrics = compute_metrics(y, predicted, classes)

    text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    write_atomic(METRICS_JSON, text.encode("utf-8"))
    rows = [
        (i, int(a), int(p), int(a == p)) for i, (a, p) in enumerate(zip(y, predicted, strict=True))
    ]
    write_atomic(PREDICTIONS_CSV, csv_bytes(["index", "label", "predicted", "correct"], rows))
    write_atomic(CONFUSION_CSV, csv_bytes(["actual", "predicted"], [r[1:3] for r in rows]))
    print(
        f"{predictor.meta['backend']} model: accuracy {metrics['accuracy']:.4f}, "
        f"f1_macro {metrics['f1_macro']:.4f} on {metrics['n_test']} test rows"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
