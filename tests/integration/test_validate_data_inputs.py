"""`mlci validate data` on what it reads: a file that cannot be read as the declared table, or a
suite that cannot be used, is a usage error (exit 2) naming it; a glob over several files is
one table; two datasets may share a suite; Parquet and other delimiters; Spark needs pyspark.

The repository and helpers: test_validate_data.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlci.errors import ServiceError, UsageError
from tests.integration.test_validate_data import SUITE_FILE, only_failure, run, write_config
from tests.integration.test_validate_data import repo as repo_fixture  # noqa: F401

# ---------------------------------------------------------------- usage errors (exit 2)


def test_wrong_delimiter_is_a_usage_error_naming_the_file(repo: Path) -> None:
    path = repo / "data" / "digits.csv"
    path.write_text(path.read_text().replace(",", ";"))
    with pytest.raises(UsageError) as caught:
        run(repo)
    assert caught.value.exit_code == 2
    assert "data/digits.csv" in caught.value.message
    assert "';'" in caught.value.message
    assert caught.value.hint is not None and 'delimiter = ";"' in caught.value.hint


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "cannot parse as CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("pixel_0,label\n\xe9t\xe9,1\n".encode("latin-1"), "not a UTF-8"),
        (b'pixel_0,label\n"1,2\n', "cannot parse as CSV"),
    ],
    ids=["empty", "binary", "latin-1", "open-quote"],
)
def test_unparsable_file_is_a_usage_error_naming_it(repo: Path, content: bytes, said: str) -> None:
    (repo / "data" / "digits.csv").write_bytes(content)
    with pytest.raises(UsageError, match=rf"data/digits\.csv: .*{said}"):
        run(repo)


def test_missing_suite_names_the_path(repo: Path) -> None:
    write_config(repo, suite="nope")
    with pytest.raises(
        UsageError, match=r"gx/expectations/nope\.json: expectation suite not found"
    ):
        run(repo)


def test_corrupt_suite_names_the_path(repo: Path) -> None:
    (repo / SUITE_FILE).write_text('{"name": "digits", "expectations": [')
    with pytest.raises(UsageError, match=r"gx/expectations/digits\.json: not valid JSON"):
        run(repo)


def test_suite_with_an_unknown_expectation_names_the_path(repo: Path) -> None:
    (repo / SUITE_FILE).write_text(
        '{"name": "digits", "expectations": [{"type": "expect_the_impossible", "kwargs": {}}]}'
    )
    with pytest.raises(
        UsageError, match=r"gx/expectations/digits\.json: not a valid expectation suite"
    ):
        run(repo)


def test_unknown_dataset_name(repo: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown dataset 'iris' \(known: digits\)"):
        run(repo, names=["iris"])


def test_glob_matching_nothing(repo: Path) -> None:
    write_config(repo, path="data/*.parquet")
    with pytest.raises(
        UsageError, match=r"dataset 'digits': no file matches data/\*\.parquet"
    ) as caught:
        run(repo)
    assert caught.value.hint == "[tool.mlci.data.digits] path, declared at pyproject.toml:1"


def test_glob_over_several_files_is_one_table(repo: Path) -> None:
    lines = (repo / "data" / "digits.csv").read_text().splitlines(keepends=True)
    (repo / "data" / "digits.csv").unlink()
    (repo / "data" / "part-1.csv").write_text("".join(lines[:1001]))
    (repo / "data" / "part-2.csv").write_text("".join([lines[0], *lines[1001:]]))
    write_config(repo, path="data/part-*.csv")
    edit = repo / "data" / "part-2.csv"
    edit.write_text(edit.read_text().replace("\n0,0,", "\n0,99,", 1))  # row 1 of part 2: pixel_1
    result = run(repo)
    check = only_failure(result)
    assert (check.name, check.target) == ("expect_column_values_to_be_between", "pixel_1")
    assert check.details["rows"] == ["data/part-2.csv row 1"]
    assert result.extra["datasets"]["digits"]["files"] == ["data/part-1.csv", "data/part-2.csv"]
    assert result.extra["datasets"]["digits"]["rows"] == 1797


def test_two_datasets_sharing_a_suite_and_selection_by_name(repo: Path) -> None:
    copy = repo / "data" / "copy.csv"
    copy.write_text((repo / "data" / "digits.csv").read_text().replace("\n0,0,", "\n0,17,", 1))
    with (repo / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.mlci.data.copy]\npath = "data/copy.csv"\nsuite = "digits"\n')
    both = run(repo)
    assert len(both.checks) == 2 * 208
    assert {(c.group, c.name, c.target) for c in both.checks if c.failed} == {
        ("copy", "expect_column_values_to_be_between", "pixel_1")
    }
    assert set(both.extra["profiles"]) == {"copy", "digits"}
    only = run(repo, names=["digits"])
    assert only.success and {c.group for c in only.checks} == {"digits"}


def test_parquet_and_other_delimiters(repo: Path) -> None:
    import pandas as pd  # type: ignore[import-untyped]

    frame = pd.read_csv(repo / "data" / "digits.csv")
    frame.to_parquet(repo / "data" / "digits.parquet")
    write_config(repo, path="data/digits.parquet", format="parquet")
    assert run(repo).success
    (repo / "data" / "digits.parquet").write_bytes(b"PAR1 but cut short")
    with pytest.raises(UsageError, match=r"data/digits\.parquet: cannot read as Parquet"):
        run(repo)

    frame.to_csv(repo / "data" / "digits.tsv", sep="\t", index=False)
    write_config(repo, path="data/digits.tsv", delimiter="\\t")
    assert run(repo).success


def test_spark_without_pyspark_is_a_service_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(repo, engine="spark")
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ServiceError, match=r"pip install 'mlci\[spark\]'") as caught:
        run(repo)
    assert caught.value.exit_code == 3
