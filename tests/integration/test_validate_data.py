"""`mlci validate data`: real Great Expectations on real files in temp git (+ DVC) repos.

Each corruption of the digits data must fail the expectation that guards against
it, and only that one. Files that cannot be read as the declared table (usage
errors, exit 2, naming the file) and the other shapes a dataset takes:
test_validate_data_inputs.py; the profile diff against a base revision:
test_validate_data_profiles.py. `digits_csv` is tests/integration/conftest.py's.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mlci import config
from mlci.validate import data
from mlci.validate.results import Check, Result
from tests.conftest import ROOT, commit_all, git

PYPROJECT = """\
[tool.mlci.data.digits]
path = "{path}"
suite = "{suite}"
engine = "{engine}"
format = "{format}"
delimiter = "{delimiter}"
"""
SUITE_FILE = "gx/expectations/digits.json"
PIXELS = [f"pixel_{i}" for i in range(64)]


def write_config(
    repo: Path,
    *,
    path: str = "data/digits.csv",
    suite: str = "digits",
    engine: str = "pandas",
    format: str = "csv",
    delimiter: str = ",",
) -> None:
    (repo / "pyproject.toml").write_text(
        PYPROJECT.format(path=path, suite=suite, engine=engine, format=format, delimiter=delimiter)
    )


@pytest.fixture(name="repo")
def repo(tmp_path: Path, digits_csv: str) -> Path:
    """A git repo with the reference project's gx/ folder, data/digits.csv and a [tool.mlci.data] table."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(ROOT / "gx", root / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    (root / "data").mkdir()
    (root / "data" / "digits.csv").write_text(digits_csv)
    (root / ".gitignore").write_text("/.mlci/\n")
    write_config(root)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "digits data and suite")
    return root


def run(repo: Path, **kwargs: object) -> Result:
    return data.validate(repo, config.load(repo), **kwargs)  # type: ignore[arg-type]


def failing(result: Result) -> set[tuple[str, str | None]]:
    return {(c.name, c.target) for c in result.checks if c.verdict == "fail"}


def only_failure(result: Result) -> Check:
    failed = [c for c in result.checks if c.verdict == "fail"]
    assert len(failed) == 1, [c.message for c in failed]
    return failed[0]


def edit_rows(repo: Path, change: Callable[[list[list[str]]], list[list[str]]]) -> None:
    """Rewrite data/digits.csv through `change`, which gets the header and rows as lists of cells."""
    path = repo / "data" / "digits.csv"
    lines = path.read_text().splitlines()
    table = change([line.split(",") for line in lines])
    path.write_text("".join(",".join(cells) + "\n" for cells in table))


def set_cell(row: int, column: str, value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(table: list[list[str]]) -> list[list[str]]:
        table[row][table[0].index(column)] = value
        return table

    return change


def tree_digest(folder: Path) -> str:
    """A hash of every file under `folder` but GX's git-ignored uncommitted/ folder."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] != "uncommitted":
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- clean data


def test_clean_data_passes_every_check_and_leaves_gx_untouched(repo: Path) -> None:
    before = tree_digest(repo / "gx")
    messages: list[str] = []
    result = run(repo, progress=messages.append)

    assert result.success, [c.message for c in result.checks if c.failed]
    assert len(result.checks) == 208  # 2 table + 64 x 3 pixel + 4 label + 10 class shares
    assert {c.verdict for c in result.checks} == {"pass"}
    assert {c.group for c in result.checks} == {"digits"}
    assert {c.file for c in result.checks} == {SUITE_FILE}
    suite_lines = (repo / SUITE_FILE).read_text().splitlines()
    for check in result.checks:  # each check points at its expectation in the suite file
        assert check.line is not None and '"id"' in suite_lines[check.line - 1]
    names = {(c.name, c.target) for c in result.checks}
    assert ("expect_column_values_to_be_between", "pixel_63") in names
    assert ("expect_column_values_to_be_in_type_list", "label") in names
    assert ("expect_table_row_count_to_be_between", None) in names
    rows = next(c for c in result.checks if c.name == "expect_table_row_count_to_be_between")
    assert rows.observed == 1797 and rows.expected == "rows in [1000, 5000]"
    assert result.extra["datasets"]["digits"] == {
        "files": ["data/digits.csv"],
        "rows": 1797,
        "suite": SUITE_FILE,
        "engine": "pandas",
    }
    assert messages[0] == "digits: 1797 rows from data/digits.csv"
    profile = result.extra["profiles"]["digits"]
    assert profile["base"] is None and profile["psi"] == {} and profile["rows"] == [None, 1797]
    label = profile["head"]["columns"]["label"]
    assert label["null_share"] == 0 and label["distinct"] == 10
    assert set(label["frequencies"]) == {str(k) for k in range(10)}
    assert abs(sum(label["frequencies"].values()) - 1) < 1e-4

    # idempotent: nothing new under gx/ (no data source, validation definition or result kept)
    run(repo)
    assert tree_digest(repo / "gx") == before
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_docs_are_built_under_the_state_dir(repo: Path) -> None:
    before = tree_digest(repo / "gx")
    result = run(repo, docs=True)
    assert result.extra["docs"] == ".mlci/gx-docs/index.html"
    index = repo / ".mlci" / "gx-docs" / "index.html"
    assert "digits" in index.read_text()
    assert list((repo / ".mlci" / "gx-docs" / "validations").rglob("*.html"))
    # a second build replaces the first: one validation page, not one per run
    run(repo, docs=True)
    assert len(list((repo / ".mlci" / "gx-docs" / "validations").rglob("*.html"))) == 1
    assert tree_digest(repo / "gx") == before


# ---------------------------------------------------------------- corruptions: failing checks


def test_out_of_range_pixel_fails_the_range_check(repo: Path) -> None:
    edit_rows(repo, set_cell(10, "pixel_5", "17"))
    check = only_failure(run(repo))
    assert (check.name, check.target) == ("expect_column_values_to_be_between", "pixel_5")
    assert check.expected == "all values in [0, 16]"
    assert check.details["unexpected_count"] == 1
    assert check.details["examples"] == [17]
    assert check.details["rows"] == ["data/digits.csv row 10"]
    assert "17" in check.message and "data/digits.csv row 10" in check.message
    assert check.observed == "1 of 1797 values unexpected"


def test_unknown_label_fails_the_label_set_check(repo: Path) -> None:
    edit_rows(repo, set_cell(3, "label", "12"))
    check = only_failure(run(repo))
    assert (check.name, check.target) == ("expect_column_values_to_be_in_set", "label")
    assert check.details["kwargs"]["value_set"] == list(range(10))
    assert check.details["examples"] == [12]


def test_empty_cell_fails_the_null_check(repo: Path) -> None:
    edit_rows(repo, set_cell(42, "pixel_20", ""))
    result = run(repo)
    # pandas reads an integer column with a gap as float: the type check fails with it
    assert failing(result) == {
        ("expect_column_values_to_not_be_null", "pixel_20"),
        ("expect_column_values_to_be_in_type_list", "pixel_20"),
    }
    nulls = next(c for c in result.checks if c.failed and c.name.endswith("not_be_null"))
    assert nulls.details["unexpected_count"] == 1
    assert nulls.details["rows"] == ["data/digits.csv row 42"]
    types = next(c for c in result.checks if c.failed and c.name.endswith("type_list"))
    assert types.observed == "float64"


def test_missing_class_fails_the_class_checks(repo: Path) -> None:
    edit_rows(repo, lambda table: [table[0], *(row for row in table[1:] if row[-1] != "3")])
    result = run(repo)
    failed = [c for c in result.checks if c.failed]
    assert {(c.name, c.target) for c in failed} == {
        ("expect_column_distinct_values_to_contain_set", "label"),
        ("expect_column_values_to_be_in_set", "label"),
    }
    present = next(c for c in failed if c.name == "expect_column_distinct_values_to_contain_set")
    assert present.observed == "missing {3}"
    share = next(c for c in failed if c.name == "expect_column_values_to_be_in_set")
    assert share.details["kwargs"] == {"column": "label", "value_set": [3], "mostly": 0.05}
    assert share.expected == "class 3 makes up at least 5% of the rows"
    assert share.observed.startswith("0% of ")


def test_rare_class_fails_only_its_share_check(repo: Path) -> None:
    def thin_out_class_7(table: list[list[str]]) -> list[list[str]]:
        sevens = [i for i, row in enumerate(table) if row[-1] == "7"]
        dropped = set(sevens[50:])  # 50 of 1797 rows left: 2.8%
        return [row for i, row in enumerate(table) if i not in dropped]

    edit_rows(repo, thin_out_class_7)
    check = only_failure(run(repo))
    assert (check.name, check.target) == ("expect_column_values_to_be_in_set", "label")
    assert check.details["kwargs"]["value_set"] == [7]
    assert "class 7 makes up at least 5% of the rows" in check.message


def test_truncated_file_fails_the_null_checks_of_the_cut_columns(repo: Path) -> None:
    """A file cut mid-row still parses: the last row lacks its trailing cells (nulls)."""
    path = repo / "data" / "digits.csv"
    text = path.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    kept = ",".join(last.split(",")[:30])  # the last row ends after pixel_29
    path.write_text(text[: len(text.rstrip("\n")) - len(last)] + kept)
    result = run(repo)
    cut = [*PIXELS[30:], "label"]
    assert failing(result) == {
        *(("expect_column_values_to_not_be_null", column) for column in cut),
        *(("expect_column_values_to_be_in_type_list", column) for column in cut),
    }
    label_nulls = next(
        c for c in result.checks if c.failed and c.target == "label" and "null" in c.name
    )
    assert label_nulls.details["rows"] == ["data/digits.csv row 1797"]


def test_missing_column_fails_the_column_checks(repo: Path) -> None:
    edit_rows(repo, lambda table: [row[:-1] for row in table])  # no label column
    result = run(repo)
    failed = [c for c in result.checks if c.failed]
    assert {c.target for c in failed} == {None, "label"}
    assert ("expect_table_columns_to_match_set", None) in failing(result)
    label = [c for c in failed if c.target == "label"]
    assert len(label) == 14 and all("cannot evaluate" in c.message for c in label)


# ---------------------------------------------------------------- spark


@pytest.mark.slow
def test_spark_engine_gives_the_same_verdicts_as_pandas(repo: Path) -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")

    def corrupt(table: list[list[str]]) -> list[list[str]]:
        table[5][table[0].index("pixel_3")] = "17"
        table[7][-1] = "12"
        return [table[0], *(row for row in table[1:] if row[-1] != "3")]

    edit_rows(repo, corrupt)
    pandas_checks = run(repo).checks
    write_config(repo, engine="spark")
    spark_result = run(repo)
    spark_checks = spark_result.checks
    assert spark_result.extra["datasets"]["digits"]["engine"] == "spark"
    verdicts = [(c.name, c.target, c.verdict) for c in pandas_checks]
    assert [(c.name, c.target, c.verdict) for c in spark_checks] == verdicts
    assert {(n, t) for n, t, v in verdicts if v == "fail"} == {
        ("expect_column_values_to_be_between", "pixel_3"),
        ("expect_column_values_to_be_in_set", "label"),
        ("expect_column_distinct_values_to_contain_set", "label"),
    }
    from pyspark.sql import SparkSession

    assert SparkSession.getActiveSession() is None  # stopped
