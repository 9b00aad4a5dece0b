"""mlci.release.bento against the real thing: `bentoml build`, `bentoml serve` on 127.0.0.1.

One model is trained, stored and built per module (BENTOML_HOME in a temp folder) and one
server answers the HTTP tests; every server a test starts is stopped by it, and the
tests check that no process of their BentoML home is left.
"""

from __future__ import annotations

import csv
import os
import socket
import tarfile
import textwrap
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlci import docker
from mlci.errors import GateFailed, ServiceError
from mlci.release import bento, smoke

# its module-scoped fixtures are built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("bento")

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "pipelines.digits.service:Digits"
HEADER = [*(f"pixel_{i}" for i in range(64)), "label", "predicted"]


def _processes_with(variable: str, value: str) -> list[int]:
    """Live processes whose environment holds variable=value (their BentoML home)."""
    wanted = f"{variable}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z" and wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _gone(home: Path, within: float = 5.0) -> list[int]:
    deadline = time.monotonic() + within
    while (left := _processes_with("BENTOML_HOME", str(home.resolve()))) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    return left


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)  # bundled with scikit-learn: raw pixels 0..16
    return x.astype(np.int64), y.astype(np.int64)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.linear_model import LogisticRegression

    from pipelines.digits.model import save_sklearn

    x, y = _digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence noise of a deliberately tiny fit
        estimator = LogisticRegression(max_iter=50).fit(x / 16.0, y)
    return save_sklearn(estimator, {"model": "logreg"}, tmp_path_factory.mktemp("model") / "digits")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bentoml-home")


@pytest.fixture(scope="module")
def model_tag(model_dir: Path, home: Path) -> str:
    return bento.save_model(
        model_dir, "digits", labels={"stage": "dev"}, metadata={"accuracy": 0.9}, home=home
    )


@pytest.fixture(scope="module")
def bento_tag(model_tag: str, home: Path) -> str:
    return bento.build(SERVICE, model_tag, root=ROOT, home=home, version="test1")


@pytest.fixture(scope="module")
def feedback_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "store"


@pytest.fixture(scope="module")
def server(bento_tag: str, home: Path, feedback_dir: Path) -> Iterator[str]:
    with bento.serve(bento_tag, home=home, feedback_store=feedback_dir) as url:
        yield url
    assert _gone(home) == [], "bentoml serve left processes behind"


@pytest.fixture(scope="module")
def local(model_dir: Path) -> Any:
    from pipelines.digits.model import load

    return load(model_dir)


@pytest.mark.slow
def test_save_model_writes_the_folder_into_the_store(model_tag: str, home: Path) -> None:
    name, _, version = model_tag.partition(":")
    stored = home / "models" / name / version
    assert name == "digits" and version
    assert {"meta.json", "model.pkl", "model.yaml"} <= {p.name for p in stored.iterdir()}
    assert "stage: dev" in (stored / "model.yaml").read_text()


@pytest.mark.slow
def test_build_records_the_model_and_export_writes_an_archive(
    bento_tag: str, model_tag: str, home: Path, tmp_path: Path
) -> None:
    assert bento_tag == "digits:test1"
    info = (home / "bentos" / "digits" / "test1" / "bento.yaml").read_text()
    assert f"tag: {model_tag}" in info  # the BentoModel class attribute resolved at build
    assert f"model: {model_tag}" in info  # the bento argument, handed back at serve
    assert "lock_packages" not in info or "lock_packages: false" in info
    assert (home / "bentos/digits/test1/src/pipelines/digits/service.py").is_file()

    archive = bento.export(bento_tag, tmp_path, home=home)
    assert archive == tmp_path / "digits-test1.bento" and archive.stat().st_size > 1000
    with tarfile.open(archive) as bundle:  # the model travels in the archive
        names = bundle.getnames()
    assert any(
        name.endswith(f"models/digits/{model_tag.split(':')[1]}/model.pkl") for name in names
    )
    assert bento.export(bento_tag, tmp_path / "asset", home=home) == tmp_path / "asset.bento"


@pytest.mark.slow
def test_build_failure_is_a_service_error_with_the_output(model_tag: str, home: Path) -> None:
    with pytest.raises(ServiceError, match="bentoml build") as caught:
        bento.build("pipelines.digits.service:NoSuchService", model_tag, root=ROOT, home=home)
    assert "NoSuchService" in caught.value.message


@pytest.mark.slow
def test_served_bento_passes_the_smoke_test(server: str, local: Any) -> None:
    x, _ = _digits()
    rows = x[:50].tolist()
    smoke.smoke_test(server, rows, local.predict(x[:50]).tolist())


@pytest.mark.slow
@pytest.mark.parametrize("count", [1, 100])
def test_predict_one_and_many_rows(server: str, local: Any, count: int) -> None:
    x, _ = _digits()
    status, body = smoke.post_json(f"{server}/predict", {"rows": x[-count:].tolist()})
    assert status == 200
    assert body == local.predict(x[-count:]).tolist()


@pytest.mark.slow
def test_smoke_test_names_the_first_difference(server: str, local: Any) -> None:
    x, _ = _digits()
    expected = local.predict(x[:10]).tolist()
    expected[3] = (expected[3] + 1) % 10
    with pytest.raises(GateFailed, match="1 of 10 rows; first at index 3"):
        smoke.smoke_test(server, x[:10].tolist(), expected)


@pytest.mark.slow
def test_smoke_test_fails_on_an_http_error(server: str) -> None:
    with pytest.raises(GateFailed, match="HTTP 400"):
        smoke.smoke_test(server, [[1.0] * 63], [0])


@pytest.mark.slow
def test_health_and_metrics_stay_available(server: str) -> None:
    for path in ("/healthz", "/livez", "/readyz", "/metrics"):
        with urllib.request.urlopen(server + path, timeout=10) as response:  # noqa: S310
            assert response.status == 200, path


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*")) if folder.is_dir() else []


@pytest.mark.slow
def test_feedback_batch_becomes_one_file(server: str, feedback_dir: Path, local: Any) -> None:
    x, y = _digits()
    before = _files(feedback_dir)
    predicted = local.predict(x[:5]).tolist()
    body = {"rows": x[:5].tolist(), "predictions": predicted, "labels": y[:5].tolist()}
    status, answer = smoke.post_json(f"{server}/feedback", body)
    assert status == 200, answer
    new = [p for p in _files(feedback_dir) if p not in before]
    assert len(new) == 1 and new[0].name.startswith("feedback-") and new[0].suffix == ".csv"
    assert answer == {"stored": 5, "file": str(new[0])}
    with new[0].open(newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == HEADER
    assert [[int(v) for v in row] for row in table[1:]] == [
        [*x[i].tolist(), int(y[i]), predicted[i]] for i in range(5)
    ]


def _row(n: int = 64) -> list[int]:
    return [0] * n


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        {"rows": [_row(63)], "predictions": [1], "labels": [1]},
        {"rows": [_row(65)], "predictions": [1], "labels": [1]},
        {"rows": [_row()], "predictions": [1], "labels": [12]},
        {"rows": [_row()], "predictions": [-1], "labels": [1]},
        {"rows": [[*_row(63), 17]], "predictions": [1], "labels": [1]},
        {"rows": [[*_row(63), 2.5]], "predictions": [1], "labels": [1]},
        {"rows": [_row(), _row()], "predictions": [1, 2], "labels": [1]},
        {"rows": [_row()], "predictions": [1, 2], "labels": [1, 2]},
        {"rows": [], "predictions": [], "labels": []},
        {"rows": [_row()], "predictions": [1]},
    ],
    ids=[
        "63-numbers",
        "65-numbers",
        "label-12",
        "prediction-negative",
        "pixel-17",
        "pixel-fraction",
        "fewer-labels",
        "more-predictions",
        "empty",
        "no-labels",
    ],
)
def test_feedback_with_a_wrong_shape_is_refused_and_writes_nothing(
    server: str, feedback_dir: Path, body: dict[str, Any]
) -> None:
    before = _files(feedback_dir)
    status, answer = smoke.post_json(f"{server}/feedback", body)
    assert 400 <= status < 500, answer
    assert _files(feedback_dir) == before


# Importing the service in this process: BentoML 1.4's @bentoml.api builds its I/O models
# through pydantic's deprecated BaseModel.__get_pydantic_core_schema__ (bentoml's code, not ours).
@pytest.mark.filterwarnings(
    "ignore:The `__get_pydantic_core_schema__` method:pydantic.warnings.PydanticDeprecatedSince211"
)
def test_feedback_goes_to_any_fsspec_url() -> None:
    import fsspec

    from pipelines.digits.service import write_feedback

    where = write_feedback("memory://mlci-test/feedback", b"pixel_0,label,predicted\n1,2,3\n")
    assert where.startswith("memory://mlci-test/feedback/feedback-") and where.endswith(".csv")
    with fsspec.open(where, "rb") as fh:
        assert fh.read() == b"pixel_0,label,predicted\n1,2,3\n"


@pytest.mark.slow
def test_serve_of_a_missing_bento_fails_fast_and_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"  # its own home: the module's server runs in the shared one
    started = time.monotonic()
    with (
        pytest.raises(ServiceError, match="exited with"),
        bento.serve("digits:doesnotexist", home=home, ready_timeout=30),
    ):
        pytest.fail("a missing bento became ready")
    assert time.monotonic() - started < 30
    assert _gone(home) == []


SLOW_SERVICE = """\
    import time

    import bentoml


    @bentoml.service
    class Sleepy:
        def __init__(self) -> None:
            time.sleep(600)  # never ready

        @bentoml.api
        def ping(self) -> str:
            return "pong"
    """


@pytest.mark.slow
def test_serve_that_never_gets_ready_is_bounded_and_stopped(tmp_path: Path, model_tag: str) -> None:
    root = tmp_path / "project"
    (root / "sleepy").mkdir(parents=True)
    (root / "sleepy" / "__init__.py").write_text("")
    (root / "sleepy" / "service.py").write_text(textwrap.dedent(SLOW_SERVICE))
    home = tmp_path / "home"  # its own home: the processes checked below are this test's
    tag = bento.build("sleepy.service:Sleepy", model_tag, root=root, home=home, packages=())
    started = time.monotonic()
    with (
        pytest.raises(ServiceError, match=r"not ready at .*/readyz after 3 s"),
        bento.serve(tag, home=home, ready_timeout=3),
    ):
        pytest.fail("a sleeping service became ready")
    assert time.monotonic() - started < 3 + bento.UNREADY_GRACE_S + 5 + 5  # + SIGKILL wait
    assert _gone(home) == []


def test_no_docker_engine_is_a_service_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker command at all
    available, why = docker.available()
    assert not available and "not on PATH" in why
    with pytest.raises(ServiceError, match="no Docker engine: ") as caught:
        bento.containerize("digits:test1")
    assert caught.value.exit_code == 3


def test_docker_without_a_daemon_is_not_available() -> None:
    available, why = docker.available()
    if available:
        pytest.skip(f"a Docker engine answers here ({why})")
    assert why
    with pytest.raises(ServiceError, match="no Docker engine"):
        bento.containerize("digits:test1", push_image="example.com/digits:1")


def test_tracking_is_off_for_every_bentoml_process(tmp_path: Path) -> None:
    env = bento._env(tmp_path)
    assert env["BENTOML_DO_NOT_TRACK"] == "true"
    assert env["BENTOML_HOME"] == str(tmp_path.resolve())
    assert "BENTOML_HOME" not in bento._env(None) or os.environ.get("BENTOML_HOME")


@pytest.mark.slow
def test_serve_chooses_another_port_when_its_first_is_taken(
    bento_tag: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port chosen free can be taken before bentoml binds it (another test, another job)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy])
        real = bento.free_port
        monkeypatch.setattr(bento, "free_port", lambda: next(ports, None) or real())
        with bento.serve(bento_tag, home=home, ready_timeout=60) as url:
            assert not url.endswith(f":{busy}")
            assert smoke.get(f"{url}/readyz", timeout=5)[0] == 200


@pytest.mark.slow
def test_serve_on_a_given_taken_port_names_it(bento_tag: str, home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with (
            pytest.raises(ServiceError, match="exited with"),
            bento.serve(bento_tag, home=home, port=busy, ready_timeout=60),
        ):
            pytest.fail(f"a server became ready on the taken port {busy}")
