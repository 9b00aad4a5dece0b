"""The serving benchmark's three servers, each one worker on 127.0.0.1, stopped on the way out.

- ``bentoml serve`` of the bento mlci builds;
- ``mlflow models serve --env-manager local`` of the model logged into a sqlite store;
- a bare FastAPI app (uvicorn) calling the model directly.

The measurement that uses them is benchmarks/serving.py.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchError, Shell

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 90.0
SERVICE = "pipelines.digits.service:Digits"

LOG_MLFLOW_MODEL = """\
import json
import sys

import joblib
import mlflow
import numpy as np
import skops.io
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

model_dir, example = sys.argv[1], np.asarray(json.loads(sys.argv[2]), dtype=np.int64)
# MinMaxScaler fitted on 0 and 16 multiplies by 1/16: the same numbers as model.py's x / 16
scale = MinMaxScaler().fit(np.array([[0.0] * 64, [16.0] * 64]))
pipeline = Pipeline([("scale", scale), ("model", joblib.load(f"{model_dir}/model.pkl"))])
mlflow.set_experiment("serving-benchmark")
# skops (MLflow's default format) refuses types it does not know, such as the MLP's optimizer
trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
with mlflow.start_run():
    mlflow.sklearn.log_model(
        pipeline,
        name="model",
        input_example=example,
        registered_model_name="digits",
        skops_trusted_types=trusted,
    )
"""

FASTAPI_APP = """\
import os

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

from pipelines.digits.model import load

app = FastAPI()
predictor = load(os.environ["MODEL_DIR"])


class Rows(BaseModel):
    rows: list[list[float]]


@app.post("/predict")
async def predict(body: Rows) -> list[int]:
    return predictor.predict(np.asarray(body.rows)).tolist()


@app.get("/ping")
async def ping() -> str:
    return "ok"
"""


@dataclass(frozen=True)
class Server:
    label: str
    url: str
    path: str  # the predict route
    wrap: Callable[[list[list[int]]], dict[str, Any]]  # rows -> JSON body
    unwrap: Callable[[Any], list[int]]  # JSON answer -> predictions
    cold_start: float
    pid: int  # the server's first process


def _free_port() -> int:
    from mlci.release.bento import free_port

    return free_port()


def _get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (127.0.0.1)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def launched(
    argv: list[str], env: dict[str, str], ready_url: str, log: Path, cwd: Path
) -> Iterator[tuple[float, int]]:
    """Start a server in a session of its own; yield (launch → ready seconds, its pid);
    stop it, workers and all, on the way out."""
    from mlci.release.processes import stop_group

    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = started + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                raise _failed(argv, cwd, process.returncode, f"exited early:\n{_tail(log)}")
            with contextlib.suppress(OSError):
                if _get_status(ready_url) == 200:
                    break
            if time.perf_counter() > deadline:
                why = f"{ready_url} not ready after {READY_TIMEOUT:g} s:\n{_tail(log)}"
                raise _failed(argv, cwd, -1, why)
            time.sleep(0.05)
        yield time.perf_counter() - started, process.pid
    finally:
        stop_group(process)


def _failed(argv: list[str], cwd: Path, code: int, why: str) -> BenchError:
    return BenchError(argv, cwd, subprocess.CompletedProcess(argv, code, "", why))


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------- the three servers


@contextlib.contextmanager
def bento_server(shell: Shell, tmp: Path, model_dir: Path) -> Iterator[Server]:
    from mlci.errors import MlciError
    from mlci.release import bento

    home = tmp / "bentoml"
    try:
        tag = bento.save_model(model_dir, "digits", labels={}, metadata={}, home=home)
        bento_tag = bento.build(SERVICE, tag, root=REPO, home=home)
    except MlciError as exc:
        raise _failed(["bentoml", "build", SERVICE], REPO, 1, exc.message) from None
    port = _free_port()
    env = {
        **shell.env,
        "BENTOML_HOME": str(home),
        "BENTOML_DO_NOT_TRACK": "true",
        "MLCI_FEEDBACK_STORE": str(tmp / "feedback"),
    }
    argv = ["bentoml", "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with launched(argv, env, f"{url}/readyz", tmp / "bentoml.log", tmp) as (cold, pid):
        yield Server("bentoml serve", url, "/predict", lambda rows: {"rows": rows}, list, cold, pid)


@contextlib.contextmanager
def mlflow_server(
    shell: Shell, tmp: Path, model_dir: Path, example: list[list[int]]
) -> Iterator[Server]:
    workdir = tmp / "mlflow"
    workdir.mkdir()
    env = {
        **shell.env,
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    Shell(env).run(["python", "-c", LOG_MLFLOW_MODEL, str(model_dir), json.dumps(example)], workdir)
    port = _free_port()
    argv = ["mlflow", "models", "serve", "-m", "models:/digits/1", "--env-manager", "local"]
    argv += ["-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    with launched(argv, env, f"{url}/ping", tmp / "mlflow.log", workdir) as (cold, pid):
        yield Server(
            "mlflow models serve",
            url,
            "/invocations",
            lambda rows: {"inputs": rows},
            lambda answer: list(answer["predictions"]),
            cold,
            pid,
        )


@contextlib.contextmanager
def fastapi_server(shell: Shell, tmp: Path, model_dir: Path) -> Iterator[Server]:
    app_dir = tmp / "fastapi"
    app_dir.mkdir()
    (app_dir / "bare_app.py").write_text(FASTAPI_APP, encoding="utf-8")
    env = {**shell.env, "MODEL_DIR": str(model_dir), "PYTHONPATH": str(REPO)}
    port = _free_port()
    argv = ["uvicorn", "bare_app:app", "--app-dir", str(app_dir), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    url = f"http://127.0.0.1:{port}"
    with launched(argv, env, f"{url}/ping", tmp / "fastapi.log", app_dir) as (cold, pid):
        yield Server("bare FastAPI", url, "/predict", lambda rows: {"rows": rows}, list, cold, pid)
