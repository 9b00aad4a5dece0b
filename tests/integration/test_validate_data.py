"""`mlci validate data`: real Great Expectations on real files in temp git (+ DVC) repos.

Each corruption of the digits data must fail the expectation that guards against
it, and only that one; files that cannot be read as the declared table are usage
errors (exit 2) naming the file.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlci import config
from mlci.errors import ServiceError, UsageError
from mlci.validate import data
from mlci.validate.results import Check, Result
from tests.conftest import BIN, ROOT, commit_all, git, sh

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


def _source_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (ROOT / "data" / "digits.csv").is_file():
        return ROOT / "data" / "digits.csv"
    out = tmp_path_factory.mktemp("digits-data")
    subprocess.run(
        [sys.executable, "-m", "pipelines.digits.data", "--out", str(out)], cwd=ROOT, check=True
    )
    return out / "digits.csv"


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _source_csv(tmp_path_factory).read_text()


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


@pytest.fixture
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
