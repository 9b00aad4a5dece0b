"""`mlci validate data`: the profile of the data diffed against the base revision's, whose
data comes from the DVC cache or remote (or is missing: a note), and the PSI drift score.

The repository and helpers: test_validate_data.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlci.validate import data
from tests.conftest import BIN, commit_all, git, sh
from tests.integration.test_validate_data import PIXELS, edit_rows, run
from tests.integration.test_validate_data import repo as repo_fixture  # noqa: F401

# ---------------------------------------------------------------- profile diff against a base revision


def dvc(repo: Path, *args: str) -> None:
    sh(str(BIN / "dvc"), *args, cwd=repo)


def track_with_dvc(repo: Path, remote: Path | None = None) -> str:
    """Put data/ under DVC: the base commit has the clean data, the next one a drifted copy.

    Returns the base commit.
    """
    git(repo, "rm", "-r", "-q", "--cached", "data")
    dvc(repo, "init", "-q")
    if remote is not None:
        dvc(repo, "remote", "add", "-q", "-d", "store", str(remote))
    dvc(repo, "add", "-q", "data")
    base = commit_all(repo, "data under DVC")

    def shift_pixel_10(table: list[list[str]]) -> list[list[str]]:
        column = table[0].index("pixel_10")
        for row in table[1 : len(table) // 2]:
            row[column] = str(min(16, int(row[column]) + 6))
        return table

    edit_rows(repo, shift_pixel_10)
    dvc(repo, "add", "-q", "data")
    commit_all(repo, "brighter pixel_10")
    return base


@pytest.fixture
def versioned(repo: Path) -> tuple[Path, str]:
    return repo, track_with_dvc(repo)


def test_profile_diff_against_the_base_revision_from_the_dvc_cache(
    versioned: tuple[Path, str],
) -> None:
    repo, base = versioned
    result = run(repo, base_sha=base)
    assert result.success  # drift is information, not a failure
    profile = result.extra["profiles"]["digits"]
    assert profile["rows"] == [1797, 1797]
    assert (
        profile["base"]["columns"]["pixel_10"]["mean"]
        < profile["head"]["columns"]["pixel_10"]["mean"]
    )
    psi = profile["psi"]
    assert set(psi) == {*PIXELS, "label"}
    assert psi["pixel_10"] > 0.1
    assert all(abs(value) < 1e-9 for column, value in psi.items() if column != "pixel_10")
    assert profile["delta"]["pixel_10"]["mean"] > 0
    assert profile["delta"]["label"] == {"null_share": 0, "mean": 0, "std": 0}


def test_profile_base_is_fetched_from_the_remote_when_not_cached(
    repo: Path, tmp_path: Path
) -> None:
    base = track_with_dvc(repo, remote=tmp_path / "remote")
    dvc(repo, "push", "-q", "--all-commits")
    shutil.rmtree(repo / ".dvc" / "cache")
    result = run(repo, base_sha=base)
    profile = result.extra["profiles"]["digits"]
    assert profile["base"] is not None, profile.get("note")
    assert profile["psi"]["pixel_10"] > 0.1


def test_profile_base_missing_everywhere_is_a_note(versioned: tuple[Path, str]) -> None:
    repo, base = versioned
    shutil.rmtree(repo / ".dvc" / "cache")  # no remote configured, the embedded one is empty
    result = run(repo, base_sha=base)
    assert result.success
    profile = result.extra["profiles"]["digits"]
    assert profile["base"] is None and profile["psi"] == {}
    assert "not in the local DVC cache" in profile["note"]


def test_psi_of_a_continuous_column_uses_base_quantiles() -> None:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    rng = np.random.default_rng(0)
    base = pd.Series(rng.normal(0, 1, 5000))
    assert data.psi(base, pd.Series(rng.normal(0, 1, 5000))) < 0.01
    assert data.psi(base, pd.Series(rng.normal(1, 1, 5000))) > 0.5
    with_nulls = pd.Series([*rng.normal(0, 1, 4000), *[None] * 1000], dtype=float)
    assert data.psi(base, with_nulls) > 0.5  # a fifth of the rows became null
