"""Export scikit-learn's bundled digits (no download) to data/digits.csv, byte-identically."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from pipelines.digits.common import HEADER, csv_bytes, write_atomic

FILENAME = "digits.csv"


def export_bytes() -> tuple[bytes, int]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.asarray(bunch.data)
    if not np.array_equal(pixels, np.rint(pixels)):
        raise ValueError("load_digits returned non-integer pixels")
    table = np.column_stack([pixels.astype(np.int64), np.asarray(bunch.target, dtype=np.int64)])
    return csv_bytes(HEADER, table.tolist()), len(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.digits.data", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data"), help="output directory")
    args = parser.parse_args(argv)

    path = args.out / FILENAME
    content, n_rows = export_bytes()
    md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
    if write_atomic(path, content):
        print(f"wrote {path}: {n_rows} rows, md5 {md5}")
    else:
        print(f"{path} already up to date ({n_rows} rows, md5 {md5}); left untouched")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
