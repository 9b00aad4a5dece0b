"""The tracking-server path: a real `mlflow server` on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlci import api, tracking
from tests.conftest import BIN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (state / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{state / 'mlflow.db'}",
            "--default-artifact-root",
            str(state / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "MLFLOW_ENABLE_TELEMETRY": "false"},
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server did not start:\n{(state / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


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
