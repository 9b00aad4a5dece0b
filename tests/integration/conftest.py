"""What integration test files share and is worth computing once a session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _source_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (ROOT / "data" / "digits.csv").is_file():
        return ROOT / "data" / "digits.csv"
    out = tmp_path_factory.mktemp("digits-data")
    subprocess.run(
        [sys.executable, "-m", "pipelines.digits.data", "--out", str(out)], cwd=ROOT, check=True
    )
    return out / "digits.csv"


@pytest.fixture(scope="session")
def digits_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    """data/digits.csv as text (exported when missing): test_validate_data*.py's.

    test_retrain.py has its own `digits_csv` (bytes), which wins there and where it is imported.
    """
    return _source_csv(tmp_path_factory).read_text()
