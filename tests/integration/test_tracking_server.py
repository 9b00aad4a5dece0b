"""The tracking-server path: a real `mlflow server` on 127.0.0.1, started and stopped here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlci import api, tracking
from tests.conftest import mlflow_server as start_mlflow_server


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start_mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as uri:
        yield uri


@pytest.mark.slow
def test_run_records_on_the_server(
    tiny: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    tracking.check_server(mlflow_server)  # does not raise: the server answers
    result = api.run(tiny)
    assert result.record.mlflow is not None
    run_id = result.record.mlflow["run_id"]
    assert result.record.mlflow["url"] == (
        f"{mlflow_server}/#/experiments/{result.record.mlflow['experiment_id']}/runs/{run_id}"
    )
    run = mlflow.MlflowClient(tracking_uri=mlflow_server).get_run(run_id)
    assert run.data.metrics["total"] == 18.0
    assert run.data.params["double.factor"] == "2"
    assert run.info.status == "FINISHED"
    artifacts = {
        a.path for a in mlflow.MlflowClient(tracking_uri=mlflow_server).list_artifacts(run_id)
    }
    assert {"dvc.lock", "metrics", "plots"} <= artifacts
    # the experiment is named after the repository folder when [tool.mlci] names none
    experiment = mlflow.MlflowClient(tracking_uri=mlflow_server).get_experiment(
        run.info.experiment_id
    )
    assert experiment.name == "tiny"
