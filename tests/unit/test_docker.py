"""mlci.docker, the one module that runs `docker`, and what `mlci doctor` and a release
make of its answers. A stand-in `docker` program on PATH plays each engine."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import docker
from mlci.cli import cli
from mlci.errors import ServiceError

NOT_RUNNING = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)


def stand_in(folder: Path, script: str) -> Path:
    """A `docker` program in `folder` that runs the shell `script`, put first on PATH."""
    folder.mkdir(exist_ok=True)
    program = folder / "docker"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return folder


def first_on_path(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


def test_no_docker_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert docker.engine() == docker.Engine("no client", "the docker command is not on PATH")
    assert docker.available() == (False, "the docker command is not on PATH")


def test_an_engine_that_answers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first_on_path(monkeypatch, stand_in(tmp_path / "bin", 'echo "27.3.1"'))
    assert docker.engine() == docker.Engine("answers", "27.3.1")
    assert docker.available() == (True, "Docker engine 27.3.1")


def test_a_client_without_an_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first_on_path(monkeypatch, stand_in(tmp_path / "bin", f'echo "{NOT_RUNNING}" >&2; exit 1'))
    assert docker.engine() == docker.Engine("not running", NOT_RUNNING)
    assert docker.available() == (False, NOT_RUNNING)


def test_an_engine_that_does_not_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first_on_path(monkeypatch, stand_in(tmp_path / "bin", "exec sleep 5"))
    assert docker.engine(timeout=0.5) == docker.Engine(
        "no answer", "`docker info` did not answer within 0.5 s"
    )


def test_a_failed_push_exits_3_with_the_last_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = 'echo "The push refers to repository [example.com/digits]"; '
    script += 'echo "denied: requested access to the resource is denied" >&2; exit 1'
    first_on_path(monkeypatch, stand_in(tmp_path / "bin", script))
    with pytest.raises(ServiceError) as caught:
        docker.push("example.com/digits:1")
    assert caught.value.exit_code == 3
    message = caught.value.message
    assert message.startswith("docker push example.com/digits:1 failed (exit 1):")
    assert message.endswith("denied: requested access to the resource is denied")


def test_a_push_that_works(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log = tmp_path / "argv"
    first_on_path(monkeypatch, stand_in(tmp_path / "bin", f'echo "$@" > "{log}"'))
    docker.push("example.com/digits:1")
    assert log.read_text().split() == ["push", "example.com/digits:1"]


@pytest.mark.parametrize(
    ("script", "status", "detail"),
    [
        ('echo "27.3.1"', "ok", "engine 27.3.1"),
        (
            f'echo "{NOT_RUNNING}" >&2; exit 1',
            "info",
            "client found, no engine running: containerizing is unavailable",
        ),
    ],
)
def test_doctor_says_what_the_engine_answered(
    tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    script: str,
    status: str,
    detail: str,
) -> None:
    first_on_path(monkeypatch, stand_in(tmp_path / "bin", script))
    result = CliRunner().invoke(cli, ["-C", str(tiny), "doctor", "--format", "json"])
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert (rows["docker"]["status"], rows["docker"]["detail"]) == (status, detail)
