"""The digits reference project, end to end, in a fresh copy: what `make demo` does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlci import api, reproduce


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
