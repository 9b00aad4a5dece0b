"""Stratified train/test split of data/digits.csv into work/prepared/."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipelines.digits.common import load_params, read_xy, write_xy

DATA = Path("data/digits.csv")
OUT_DIR = Path("work/prepared")


def split(
    x: np.ndarray, y: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    return x_train, x_test, y_train, y_test


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.digits.prepare", description=__doc__)
    parser.parse_args(argv)

    params = load_params("prepare")
    test_size = float(params.get("test_size", 0.25))
    seed = int(params.get("seed", 42))
    x, y = read_xy(DATA)
    x_train, x_test, y_train, y_test = split(x, y, test_size, seed)
    write_xy(OUT_DIR / "train.csv", x_train, y_train)
    write_xy(OUT_DIR / "test.csv", x_test, y_test)
    print(f"split {len(y)} rows -> train {len(y_train)}, test {len(y_test)} (seed {seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
