"""Every run of the `docker` command goes through here: is an engine there, push an image.

`mlci doctor` and `mlci release --containerize` ask the same question (`docker
info`) and get the same answer. A push that fails is a ServiceError (exit 3)
naming the image; the engine's absence is an answer, not an error.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from mlci.errors import ServiceError

__all__ = ["Engine", "available", "engine", "push"]

EngineState = Literal["answers", "no client", "no answer", "not running"]
_TAIL_LINES = 30


@dataclass(frozen=True)
class Engine:
    """What `docker info` said: `detail` is the server version when it answers, else why not."""

    state: EngineState
    detail: str


def engine(timeout: float = 20) -> Engine:
    """Whether a Docker engine answers `docker info` within `timeout` s."""
    docker = shutil.which("docker")
    if docker is None:
        return Engine("no client", "the docker command is not on PATH")
    try:
        proc = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Engine("no answer", f"`docker info` did not answer within {timeout:g} s")
    except OSError as exc:
        return Engine("no answer", f"cannot run docker: {exc.strerror}")
    version = proc.stdout.strip()
    if proc.returncode != 0 or not version:
        lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"`docker info` exited {proc.returncode}"
        return Engine("not running", why)
    return Engine("answers", version)


def available(timeout: float = 20) -> tuple[bool, str]:
    """(True, "Docker engine VERSION") when an engine answers, else (False, why not)."""
    found = engine(timeout)
    if found.state == "answers":
        return True, f"Docker engine {found.detail}"
    return False, found.detail


def push(image: str, *, timeout: float = 3600) -> None:
    """`docker push IMAGE`; a failure is a ServiceError (exit 3) with the command's last lines."""
    what = f"docker push {image}"
    try:
        proc = subprocess.run(
            ["docker", "push", image],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"{what} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise ServiceError(f"{what}: cannot run docker: {exc.strerror}") from None
    if proc.returncode != 0:
        output = "\n".join(part for part in (proc.stdout, proc.stderr) if part.strip())
        tail = "\n".join(output.strip().splitlines()[-_TAIL_LINES:]) or "(no output)"
        raise ServiceError(f"{what} failed (exit {proc.returncode}):\n{tail}")
