"""The merge rule of `mlci retrain`, its pull-request body, and how git gets the token."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mlci import git
from mlci.config import DatasetConfig
from mlci.errors import UsageError
from mlci.retrain import RetrainResult, SourceFile, pull_body
from mlci.retrain.merge import cell_key, merge_rows
from tests.conftest import git as run_git
from tests.conftest import loaded_after

DATASET = DatasetConfig(path="data/x.csv", suite="x")


def merge(old: bytes, *files: tuple[str, bytes]) -> tuple[bytes, RetrainResult]:
    result = RetrainResult(status="nothing-new", dataset="x", path="data/x.csv", source="new/")
    merged, _added = merge_rows(result, DATASET, "label", old, list(files))
    return merged, result


def test_numbers_compare_by_value() -> None:
    assert cell_key("1") == cell_key("1.0") == cell_key(" 1 ") == cell_key("+1")
    assert cell_key("0.5") == cell_key(".5")
    assert cell_key("abc") != cell_key("ABC")
    assert cell_key("nan") == cell_key("nan")


def test_rows_are_appended_and_duplicates_dropped() -> None:
    old = b"a,b,label\r\n1,2,0\r\n3,4,1"  # CRLF, no newline at the end: kept byte for byte
    first = ("new/f1.csv", b"label,b,a,predicted\n0,2,1.0,0\n1,6,5,1\n1,6,5,1\n")
    second = ("new/f2.csv", b"a,b,label,predicted\n5,6,1,0\n7,8,2,2\n")
    merged, result = merge(old, first, second)
    assert merged == old + b"\r\n5,6,1\r\n7,8,2\r\n"
    assert (result.rows_before, result.rows_added, result.rows_after) == (2, 2, 4)
    assert (result.duplicates_existing, result.duplicates_new) == (1, 2)
    assert result.dropped_columns == ["predicted"]
    assert result.labels_before == {"0": 1, "1": 1}
    assert result.labels_added == {"1": 1, "2": 1}
    assert [(f.name, f.rows, f.added, f.duplicates) for f in result.files] == [
        ("new/f1.csv", 3, 1, 2),
        ("new/f2.csv", 2, 1, 1),
    ]


def test_nothing_new_leaves_the_bytes() -> None:
    old = b"a,label\n1,0\n"
    merged, result = merge(old, ("new/f.csv", b"a,label\n1,0\n"), ("new/empty.csv", b""))
    assert merged == old
    assert result.rows_added == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a,predicted\n1,0\n", "new/bad.csv: its columns do not match data/x.csv: missing label"),
        (b"a,label\n1,0,9\n", "new/bad.csv: line 2 has 3 fields, the header 2"),
        (b"\x00\x01binary", "new/bad.csv: not a CSV file"),
        (b"a,label\n\xff,0\n", "new/bad.csv: not a UTF-8 CSV file"),
    ],
)
def test_bad_files_are_refused_by_name(content: bytes, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        merge(b"a,label\n1,0\n", ("new/good.csv", b"a,label\n2,0\n"), ("new/bad.csv", content))
    assert caught.value.message.startswith(message)


def test_the_pull_request_body_escapes_the_data() -> None:
    result = RetrainResult(
        status="opened",
        dataset="x",
        path="data/x.csv",
        source="s3://bucket/<b>feedback</b>",
        rows_before=2,
        rows_added=1,
        label="label",
        labels_before={"@octocat": 1},
        labels_added={"<img src=x>": 1},
        files=[SourceFile(name="feedback-#12|x.csv", rows=1, added=1)],
    )
    body = pull_body(result)
    assert "<img" not in body
    assert "`s3://bucket/<b>feedback</b>`" in body  # a code span shows it as text
    assert "@octocat" not in body
    assert "&lt;img src=x&gt;" in body
    assert "feedback-#&#8203;12\\|x.csv" in body
    assert "| before | 2 |" in body and "| after | 3 |" in body


def test_git_gets_the_token_through_the_environment(tmp_path: Path) -> None:
    run_git(tmp_path, "init", "-q")
    assert git.token_auth(tmp_path, None) == {}
    env = git.token_auth(tmp_path, "ghs_secret", "https://github.example/")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.example/.extraheader"
    header = env["GIT_CONFIG_VALUE_0"].removeprefix("AUTHORIZATION: basic ")
    assert base64.b64decode(header) == b"x-access-token:ghs_secret"
    # a checkout with persisted credentials has its own header: GitHub refuses two
    run_git(tmp_path, "config", "http.https://github.example/.extraheader", "AUTHORIZATION: x")
    assert git.token_auth(tmp_path, "ghs_secret", "https://github.example") == {}


def test_retrain_is_not_imported_with_heavy_libraries() -> None:
    heavy = {"dvc", "pandas", "great_expectations", "github", "fsspec"}
    assert loaded_after("mlci.cli, mlci.retrain", heavy) == []
