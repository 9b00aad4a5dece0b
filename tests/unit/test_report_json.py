"""A saved report (`mlci report --format json`) read back: round trip, type checks, escaping."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlci.cli import cli
from mlci.diff import DataChange, MetricChange, ParamChange, StageChange
from mlci.errors import UsageError
from mlci.report import markdown, safe
from mlci.report.model import Report, Revision, StageRow, load
from mlci.snapshot import DataVersion
from mlci.validate.results import Check, Result
from tests.unit.test_report_markdown import check_safe

HOSTILE = "<img src=x onerror=alert(1)> @octocat #12 | `x` \n[a](javascript:alert(1)) <!-- -->"


def full_report() -> Report:
    model = Result(
        kind="model",
        checks=[
            Check("gates", "accuracy", "fail", target="accuracy", observed=0.42, expected=">= 0.9"),
            Check("model", "size", "pass", observed=[1, 2], details={"bytes": 10}, line=3),
            Check("gates", "f1", "warn", severity="warning", file="pyproject.toml"),
        ],
        extra={"latency_ms": {"p95": 3.5}},
    )
    return Report(
        id="pr",
        base=Revision("main", "a" * 40),
        head=Revision("workspace", None),
        metrics=[
            MetricChange(
                "metrics.json", "accuracy", 0.9, 0.95, 0.05, significant=True, interval=(0.01, 0.09)
            ),
            MetricChange("metrics.json", "note", "old", "new", None),
            MetricChange("metrics.json", "same", 1, 1, 0.0),
            MetricChange("eval/metrics.json", "dice", None, 0.87, None, unread="base"),
        ],
        params=[
            ParamChange("params.yaml", "train.epochs", 20, 12),
            ParamChange("params.yaml", "train.layers", [64, 32], [64]),
            ParamChange("eval/params.yaml", "lr", 0.01, None, unread="head"),
        ],
        data=[
            DataChange(
                "data",
                "modified",
                DataVersion("data", "c" * 32 + ".dir", 100, 2, "data.dvc"),
                DataVersion("data", "d" * 32 + ".dir", 120, 3, "data.dvc"),
            ),
            DataChange(
                "models/new", "added", None, DataVersion("models/new", "e" * 32, 5, None, "x")
            ),
        ],
        stages=[
            StageRow(StageChange("train", "modified", params=["train.epochs"]), "ran", 2.5),
            StageRow(StageChange("prepare", "unchanged"), "unchanged", None),
        ],
        validation=[
            {"file": "model.json", **model.to_dict()},
            {"file": "data.json", "success": False, "error": "unreadable: bad JSON"},
        ],
        runner={"os": "Linux", "cpu_count": 2, "gpus": [{"name": "H100", "memory_mb": 1}]},
        mlflow={"run_id": "abc", "url": "https://mlflow.example/#/runs/abc", "tracking_uri": "x"},
        run={"status": "ok"},
        notes=["plots/x.csv at main: not in the local DVC cache"],
    )


def saved(tmp_path: Path, document: Any, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def test_json_round_trip_is_identical(tmp_path: Path) -> None:
    document = full_report().to_dict()
    loaded = load(saved(tmp_path, document))
    assert loaded.to_dict() == document
    assert json.dumps(loaded.to_dict(), indent=2) == json.dumps(document, indent=2)


def test_a_nan_metric_survives_the_round_trip(tmp_path: Path) -> None:
    report = full_report()
    report.metrics[0].head = float("nan")
    report.metrics[0].change = None
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report.to_dict(), indent=2))
    loaded = load(path)
    assert json.dumps(loaded.to_dict(), indent=2) == path.read_text()
    assert markdown.render(loaded) == markdown.render(report)


def test_markdown_of_the_saved_report_is_the_markdown_of_the_report() -> None:
    report = full_report()
    loaded = Report.from_dict(json.loads(json.dumps(report.to_dict())))
    assert markdown.render(loaded) == markdown.render(report)
    assert markdown.headline(loaded) == markdown.headline(report)
    assert markdown.status_line(loaded) == markdown.status_line(report)


def test_validation_verdicts_come_from_the_checks_not_the_document() -> None:
    document = full_report().to_dict()
    document["validation"][0]["success"] = True  # a report claiming its failed gate passed
    document["validation"][0]["summary"] = "all good"
    loaded = Report.from_dict(document)
    assert loaded.validation[0]["success"] is False
    assert loaded.validation[0]["summary"] == (
        "3 checks (2 gates, 1 model check): 1 passed, 1 failed, 1 warning"
    )
    [result] = loaded.validation_results()
    assert result.kind == "model" and not result.success
    assert [asdict(c) for c in result.checks] == document["validation"][0]["checks"]
    assert "**2 validation failed**" in markdown.render(loaded)  # with the unreadable one


def test_untrusted_strings_in_a_saved_report_are_escaped() -> None:
    document = full_report().to_dict()
    document["id"] = HOSTILE
    for row in document["metrics"]:
        row |= {"file": HOSTILE, "name": HOSTILE}
    document["metrics"][1] |= {"base": HOSTILE, "head": {"x": HOSTILE}}
    document["params"][0] |= {"name": HOSTILE, "base": HOSTILE, "head": [HOSTILE]}
    document["data"][0]["path"] = HOSTILE
    document["stages"][0]["name"] = HOSTILE
    document["stages"][0]["changed"]["deps"] = [HOSTILE]
    check = document["validation"][0]["checks"][0]
    check |= {"group": HOSTILE, "name": HOSTILE, "observed": HOSTILE, "message": HOSTILE}
    document["validation"][1] |= {"file": HOSTILE, "error": HOSTILE}
    document["runner"] = {"os": HOSTILE, "cpu_count": 2, "gpus": [{"name": HOSTILE}]}
    document["mlflow"] = {"run_id": "abc", "url": "javascript:alert(1)"}
    document["notes"] = [HOSTILE]
    text = markdown.render(Report.from_dict(document))
    check_safe(text)
    assert "](javascript" not in text  # the MLflow URL is no link

    # a revision's name, a data hash and the MLflow run id are shown in code spans
    # (safe.code, property-tested in test_report_safe)
    document["base"] = {"rev": HOSTILE, "sha": "f" * 40}
    document["data"][0]["head_hash"] = HOSTILE
    document["mlflow"]["run_id"] = HOSTILE
    loaded = Report.from_dict(document)
    assert loaded.base is not None
    text = markdown.render(loaded)
    assert f"{safe.code(loaded.base.label)} · " in text
    assert f"| {safe.code(HOSTILE[:8])} 120 B, 3 files |" in text
    assert f"MLflow run {safe.code(HOSTILE)}\n" in text


@pytest.mark.parametrize("sha", ["<b>", "F" * 40, "f" * 39, 12])
def test_a_revision_sha_must_be_a_commit_id(sha: object) -> None:
    document = full_report().to_dict()
    document["base"]["sha"] = sha
    with pytest.raises(UsageError, match=r"base\.sha"):
        Report.from_dict(document)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("head"), "head"),
        (lambda d: d.__setitem__("id", 7), "id must be a string"),
        (lambda d: d["metrics"][0].__setitem__("name", None), "metrics[0].name must be a string"),
        (lambda d: d["metrics"][0].__setitem__("change", "1"), "metrics[0].change"),
        (lambda d: d["metrics"][0].__setitem__("interval", [1]), "metrics[0].interval"),
        (lambda d: d["metrics"][3].__setitem__("unread", "both"), "metrics[3].unread is 'both'"),
        (lambda d: d["params"][2].__setitem__("unread", True), "params[2].unread is True"),
        (lambda d: d.__setitem__("params", {"a": 1}), "params must be a list of objects"),
        (lambda d: d["data"][0].__setitem__("status", "gone"), "data[0].status is 'gone'"),
        (lambda d: d["data"][0].__setitem__("head_size", "big"), "data[0].head_size"),
        (lambda d: d["stages"][1].__setitem__("run", "maybe"), "stages[1].run"),
        (lambda d: d["stages"][0]["changed"].__setitem__("deps", "x"), "stages[0].changed.deps"),
        (
            lambda d: d["validation"][0]["checks"][0].__setitem__("verdict", "ok"),
            "validation[0].checks[0].verdict",
        ),
        (lambda d: d["validation"][0].__setitem__("kind", "code"), "validation[0].kind"),
        (lambda d: d["runner"].__setitem__("cpu_count", "<b>2</b>"), "runner.cpu_count"),
        (lambda d: d["runner"]["gpus"].append("H100"), "runner.gpus must be a list of objects"),
        (lambda d: d["mlflow"].__setitem__("url", ["x"]), "mlflow.url"),
        (lambda d: d.__setitem__("notes", [1]), "notes must be a list of strings"),
    ],
)
def test_a_malformed_report_names_the_file_and_the_field(
    tmp_path: Path, change: Any, field: str
) -> None:
    document = copy.deepcopy(full_report().to_dict())
    change(document)
    path = saved(tmp_path, document)
    with pytest.raises(UsageError) as raised:
        load(path)
    assert raised.value.exit_code == 2
    assert raised.value.message.startswith(f"{path}: ") and field in raised.value.message


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not a JSON document"),
        ('{"format": 1, "id": NaN, "head": {"rev": "w", "sha": null}}', "id must be a string"),
        (b"\xff\xfe", "not a JSON document"),
        ("[1, 2]", "not an mlci report"),
        ('{"id": "pr"}', "not an mlci report"),
        ('{"format": 2, "id": "pr"}', "report format 2; this mlci reads format 1"),
    ],
)
def test_a_file_that_is_no_report_exits_2_naming_it(
    tmp_path: Path, content: str | bytes, why: str
) -> None:
    path = tmp_path / "report.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(UsageError, match=why) as raised:
        load(path)
    assert str(path) in raised.value.message


def test_cli_from_renders_a_saved_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no project here: --from reads nothing but the file
    path = saved(tmp_path, full_report().to_dict())
    runner = CliRunner()
    done = runner.invoke(cli, ["report", "--from", str(path), "--format", "markdown"])
    assert done.exit_code == 0, done.output
    assert done.output == markdown.render(full_report())

    done = runner.invoke(cli, ["report", "--from", str(path), "--format", "json", "--id", "ml"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == full_report().to_dict() | {"id": "ml"}

    # the gate failed in the saved report: --check says so
    done = runner.invoke(cli, ["report", "--from", str(path), "--format", "json", "--check"])
    assert done.exit_code == 1 and "a validation failed" in done.output


def test_cli_from_exits_2_for_a_missing_file_and_for_options_that_compute(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = tmp_path / "nowhere" / "report.json"
    done = runner.invoke(cli, ["report", "--from", str(missing)])
    assert done.exit_code == 2 and f"cannot read the report {missing}" in done.output
    path = saved(tmp_path, full_report().to_dict())
    for option in (["--base", "main"], ["--head", "HEAD"], ["--all"], ["--pull"]):
        done = runner.invoke(cli, ["report", "--from", str(path), *option])
        assert done.exit_code == 2, done.output
        assert f"--from renders a saved report: {option[0]} only apply" in done.output
