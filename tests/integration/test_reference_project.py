"""The digits reference project, end to end, in a fresh copy: what `make demo` does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlci import api, reproduce
from mlci.report import markdown
from tests.conftest import commit_all

SNAPSHOT = Path(__file__).parent / "snapshots" / "digits_report.md"


def normalized(text: str) -> str:
    """The report's shape: hashes and numbers vary with commits and floating point."""
    # which classes' F1 moved, and whether a change is significant, depend on the last bits
    # of floating point: the snapshot keeps the structure around them
    # (and the confusion counts, and the machine)
    text = "\n".join(
        line
        for line in text.splitlines()
        if "per\\_class" not in line and not re.match(r"\| \d|Runner: ", line)
    )
    text = re.sub(r"within noise|significant", "<verdict>", text)
    text = re.sub(r"\b[0-9a-f]{8,40}\b", "<hash>", text)
    return re.sub(r"[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?", "<n>", text) + "\n"


def stage_statuses(result: reproduce.RunResult) -> dict[str, str]:
    return {s.name: s.status for s in result.record.stages}


@pytest.mark.slow
def test_digits_end_to_end(digits_repo: Path) -> None:
    # a fresh clone has no data/: the export rebuilds exactly what data.dvc records
    subprocess.run([sys.executable, "-m", "pipelines.digits.data"], cwd=digits_repo, check=True)
    first = api.run(digits_repo)
    assert stage_statuses(first) == {
        "data": "unchanged",
        "prepare": "ran",
        "train": "ran",
        "evaluate": "ran",
    }
    metrics = json.loads((digits_repo / "metrics" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.9
    assert first.record.metrics["accuracy"] == metrics["accuracy"]
    assert first.record.metrics["per_class.f1.7"] == metrics["per_class"]["f1"]["7"]
    assert first.record.mlflow is not None
    assert (digits_repo / "models" / "digits" / "meta.json").is_file()

    second = api.run(digits_repo)
    assert set(stage_statuses(second).values()) == {"unchanged"}
    assert second.mlflow_reused
    commit_all(digits_repo, "baseline run")

    params = yaml.safe_load((digits_repo / "params.yaml").read_text())
    params["train"]["epochs"] = int(params["train"]["epochs"]) - 5
    (digits_repo / "params.yaml").write_text(yaml.safe_dump(params))
    third = api.run(digits_repo)
    assert stage_statuses(third) == {
        "data": "unchanged",
        "prepare": "unchanged",
        "train": "ran",
        "evaluate": "ran",
    }
    run_json = json.loads((digits_repo / ".mlci" / "run.json").read_text())
    assert run_json["mlflow"]["run_id"] != first.record.mlflow["run_id"]

    # the PR view: the committed baseline against the workspace with fewer epochs
    report = api.report(digits_repo, base="HEAD")
    rows = {m.name: m for m in report.metrics}
    assert rows["accuracy"].base == metrics["accuracy"]
    assert rows["accuracy"].significant is not None  # recomputed from metrics/predictions.csv
    assert [p.name for p in report.params] == ["train.epochs"]
    stages = {s.change.name: s for s in report.stages}
    assert stages["train"].change.params == ["train.epochs"] and stages["train"].run == "ran"
    text = markdown.render(report)
    if os.environ.get("MLCI_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(normalized(text))
    assert normalized(text) == SNAPSHOT.read_text()
