"""MLflow: every tracking call goes through here. Nothing else imports mlflow."""

from __future__ import annotations

import contextlib
import math
import os
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlci.errors import ServiceError

__all__ = [
    "ModelVersion",
    "TrackedRun",
    "check_server",
    "delete_alias",
    "find_run",
    "find_version",
    "get_alias",
    "is_server",
    "record_run",
    "register_model",
    "set_alias",
    "ui_hint",
]

# MLflow's own defaults retry for minutes against a dead server
_CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    # mlci prints the run link in its own summary; stdout stays ours
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


@dataclass(frozen=True)
class TrackedRun:
    tracking_uri: str
    experiment_id: str
    run_id: str
    url: str | None  # a browsable link when the tracking server serves a UI

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_server(uri: str, *, timeout: float = 3.0, attempts: int = 2) -> None:
    """Raise ServiceError (exit 3) when a tracking server does not answer its health check."""
    if not is_server(uri):
        return
    url = uri.rstrip("/") + "/health"
    reason = ""
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http(s) only, checked above)
                if response.status == 200:
                    return
                reason = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            reason = str(getattr(exc, "reason", exc))
    raise ServiceError(
        f"MLflow tracking server {uri} is unreachable: {reason}",
        hint="start it, fix MLFLOW_TRACKING_URI, or pass --no-tracking",
    )


def ui_hint(uri: str, run: TrackedRun | None = None) -> str:
    """How a person opens the run: its link, or the `mlflow ui` command for a sqlite store."""
    if run and run.url:
        return run.url
    command = f"mlflow ui --backend-store-uri {uri}"
    if run:
        return f"{command}  then http://127.0.0.1:5000/#/experiments/{run.experiment_id}/runs/{run.run_id}"
    return command


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def record_run(
    uri: str,
    experiment: str,
    *,
    artifact_root: Path,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    tags: Mapping[str, str],
    artifacts: list[tuple[Path, str]],
) -> TrackedRun:
    """Log one run; `artifacts` are (file, folder inside the run's artifacts)."""
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException

    try:
        client = _client(uri)
        experiment_id = _experiment_id(client, uri, experiment, artifact_root)
        run = client.create_run(experiment_id, run_name=run_name, tags=dict(tags))
        run_id = run.info.run_id
        now = int(run.info.start_time)
        logged_params = [Param(k, str(v)[:6000]) for k, v in sorted(params.items())]
        logged_metrics = [
            Metric(k, number, now, 0)
            for k, v in sorted(metrics.items())
            if (number := _numeric(v)) is not None
        ]
        for start in range(0, max(len(logged_params), len(logged_metrics)), 100):
            client.log_batch(
                run_id,
                metrics=logged_metrics[start : start + 100],
                params=logged_params[start : start + 100],
            )
        for path, folder in artifacts:
            if path.is_file():
                client.log_artifact(run_id, str(path), artifact_path=folder or None)
        client.set_terminated(run_id, "FINISHED")
    except MlflowException as exc:
        raise ServiceError(f"MLflow ({uri}) refused the run: {exc.message}") from None
    except OSError as exc:
        raise ServiceError(f"MLflow ({uri}) failed: {exc}") from None
    return _tracked(uri, str(experiment_id), run_id)


def _tracked(uri: str, experiment_id: str, run_id: str) -> TrackedRun:
    url = (
        f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}" if is_server(uri) else None
    )
    return TrackedRun(tracking_uri=uri, experiment_id=experiment_id, run_id=run_id, url=url)


def find_run(uri: str, experiment: str, tags: Mapping[str, str]) -> TrackedRun | None:
    """The newest finished run of `experiment` that carries every one of `tags`, if any.

    Asked of the store itself, so a run recorded by another runner counts; a run that
    never finished (its recorder died, or its server went away) does not.
    """
    from mlflow.exceptions import MlflowException

    if any("'" in value for value in tags.values()):
        return None  # not a value mlci writes (shas and hex digests)
    where = " and ".join(
        [
            *(f"tags.`{key}` = '{value}'" for key, value in sorted(tags.items())),
            "attributes.status = 'FINISHED'",
        ]
    )
    try:
        client = _client(uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return None
        runs = client.search_runs(
            [found.experiment_id], where, max_results=1, order_by=["attributes.start_time DESC"]
        )
    except MlflowException as exc:
        raise ServiceError(f"MLflow ({uri}) refused a search for runs: {exc.message}") from None
    except OSError as exc:
        raise ServiceError(f"MLflow ({uri}) failed: {exc}") from None
    if not runs:
        return None
    return _tracked(uri, str(found.experiment_id), str(runs[0].info.run_id))


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str | None
    source: str
    reused: bool  # already registered for this git tag: never duplicated

    def to_dict(self) -> dict[str, Any]:
        """Where the version stands; not whether this release registered it."""
        return {key: value for key, value in asdict(self).items() if key != "reused"}


def _client(uri: str) -> Any:
    """An MLflow client with bounded retries, its store's folder made, its server checked."""
    for key, value in _CLIENT_ENV.items():
        os.environ.setdefault(key, value)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    check_server(uri)
    import logging

    import mlflow

    # "Creating initial MLflow database tables..." and friends are not news to a user
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return mlflow.MlflowClient(tracking_uri=uri)


def find_version(uri: str, name: str, git_tag: str) -> ModelVersion | None:
    """The registry version already made for this git tag, if any."""
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        found = client.search_model_versions(
            f"name = '{name}' and tags.`mlci.git_tag` = '{git_tag}'"
        )
    except MlflowException:
        return None
    if not found:
        return None
    latest = max(found, key=lambda v: int(v.version))
    return ModelVersion(name, str(latest.version), latest.run_id, str(latest.source), reused=True)


def register_model(
    uri: str,
    name: str,
    model_dir: Path,
    *,
    loader: str,
    code_dir: Path | None,
    experiment: str,
    artifact_root: Path,
    input_example: Any,
    output_example: Any = None,
    git_tag: str,
    tags: Mapping[str, str],
    metrics: Mapping[str, Any],
) -> ModelVersion:
    """Log the model folder as an MLflow pyfunc model and register a version named `name`.

    A version already registered for `git_tag` is returned as it is, never duplicated.
    """
    if existing := find_version(uri, name, git_tag):
        return existing
    import mlflow
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        experiment_id = _experiment_id(client, uri, experiment, artifact_root)
        # the run and the registration both go by MLflow's global URI only
        with _global_tracking_uri(uri):
            with (
                warnings.catch_warnings(),
                mlflow.start_run(experiment_id=experiment_id, run_name=f"release {git_tag}") as run,
            ):
                # MLflow's advice on type hints and requirements inference is not the user's
                warnings.simplefilter("ignore")
                # MLflow inspects the class's type hints when it is first defined
                from mlci.release.pyfunc import LoaderModel

                signature, example = _signature(input_example, output_example)
                mlflow.set_tags({**tags, "mlci.git_tag": git_tag})
                numeric = {k: float(v) for k, v in metrics.items() if _numeric(v) is not None}
                mlflow.log_metrics(numeric)
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=LoaderModel(loader),
                    artifacts={"model": str(model_dir)},
                    code_paths=[str(code_dir)] if code_dir else None,
                    input_example=example,
                    signature=signature,
                )
            version = mlflow.register_model(
                info.model_uri, name, tags={**tags, "mlci.git_tag": git_tag}
            )
    except MlflowException as exc:
        raise ServiceError(f"MLflow ({uri}) refused to register {name}: {exc.message}") from None
    return ModelVersion(
        name, str(version.version), run.info.run_id, str(version.source), reused=False
    )


@contextlib.contextmanager
def _global_tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's process-wide tracking URI set to `uri` for the block, then given back.

    `log_model` has only the global to go by. Left set, it would outlive the release in the
    caller's process (an `api.release` in a notebook, a test), and `set_tracking_uri` also
    writes MLFLOW_TRACKING_URI, which child processes inherit: both are restored.
    """
    import mlflow
    from mlflow.tracking._tracking_service import utils

    previous, environ = utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None: unset, as before
        if environ is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = environ


def _experiment_id(client: Any, uri: str, experiment: str, artifact_root: Path) -> str:
    """The id of the experiment named `experiment`, created when missing."""
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    # a sqlite store would otherwise put artifacts in ./mlruns of the working directory
    location = None if is_server(uri) else artifact_root.resolve().as_uri()
    return str(client.create_experiment(experiment, artifact_location=location))


def _signature(input_example: Any, output_example: Any) -> tuple[Any, Any]:
    """(signature, example) for rows of numbers: MLflow cannot infer one from a list of lists."""
    if input_example is None:
        return None, None
    import numpy as np
    from mlflow.models import infer_signature

    rows = np.asarray(input_example, dtype=np.float64)
    predictions = None if output_example is None else np.asarray(output_example)
    return infer_signature(rows, predictions), rows


def get_alias(uri: str, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(_client(uri).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def set_alias(uri: str, name: str, alias: str, version: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        _client(uri).set_registered_model_alias(name, alias, version)
    except MlflowException as exc:
        raise ServiceError(
            f"MLflow ({uri}) refused alias {alias} -> {name} v{version}: {exc.message}"
        ) from None


def delete_alias(uri: str, name: str, alias: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        _client(uri).delete_registered_model_alias(name, alias)
    except MlflowException as exc:
        raise ServiceError(
            f"MLflow ({uri}) refused to remove alias {name}@{alias}: {exc.message}"
        ) from None
