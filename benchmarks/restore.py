"""Restore cost on an S3 remote: a fresh runner bringing an unchanged pipeline back.

`mlci run` in a fresh clone (fetch with the run-cache, `dvc repro --pull`, push) against
the plain DVC sequence a CI job would run for the same result, `dvc pull --run-cache &&
dvc repro && dvc push --run-cache`, both against one S3-protocol server on 127.0.0.1
(moto's), filled by the source repository's first run. Each repetition gets fresh clones.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.harness import Check, Comparison, Results, Shell, Side, measure
from benchmarks.project import clone, read_stages

REMOTE = "s3store"
BUCKET = "dvc"
MLCI = ("mlci", "run", "--no-tracking")
DVC = f"dvc pull --run-cache -r {REMOTE} && dvc repro && dvc push --run-cache -r {REMOTE}"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
RESTORED = {"cached", "unchanged"}

__all__ = ["measure_restore"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def s3_server(bin_dir: Path, log: Path) -> Iterator[str]:
    """moto's S3 server on a free loopback port, stopped afterwards; yields its endpoint."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"{url}/moto-api/"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto S3 server did not start: see {log}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _use_remote(shell: Shell, project: Path, endpoint: str, *, default: bool) -> None:
    add = ["dvc", "remote", "add", "--local", *(["-d"] if default else []), REMOTE]
    shell.run([*add, f"s3://{BUCKET}/store"], project)
    shell.run(["dvc", "remote", "modify", "--local", REMOTE, "endpointurl", endpoint], project)


class Clones:
    def __init__(self, shell: Shell, source: Path, tmp: Path, endpoint: str) -> None:
        self.shell, self.source, self.tmp, self.endpoint = shell, source, tmp, endpoint
        self.mlci: list[Path] = []

    def fresh(self, label: str, i: int) -> Path:
        project = clone(self.shell, self.source, self.tmp / f"restore-{label}-{i}")
        _use_remote(self.shell, project, self.endpoint, default=True)
        return project

    def for_mlci(self, i: int) -> Path:
        project = self.fresh("mlci", i)
        self.mlci.append(project)
        return project

    def for_dvc(self, i: int) -> Path:
        return self.fresh("dvc", i)


def measure_restore(shell: Shell, source: Path, tmp: Path, reps: int, results: Results) -> None:
    """`source`: the reference project after its first full `mlci run` (its cache is full)."""
    bin_dir = Path(shell.env["PATH"].split(":")[0])
    if not (bin_dir / "moto_server").exists():
        results.notes.append("S3 restore not measured: moto_server is not installed (moto[server])")
        return
    s3 = Shell({**shell.env, **CREDENTIALS})
    with s3_server(bin_dir, tmp / "moto.log") as endpoint:
        s3.run(
            [
                "python",
                "-c",
                "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1])"
                ".create_bucket(Bucket=sys.argv[2])",
                endpoint,
                BUCKET,
            ],
            source,
        )
        _use_remote(s3, source, endpoint, default=False)
        s3.run(["dvc", "push", "--run-cache", "-r", REMOTE], source)
        clones = Clones(s3, source, tmp, endpoint)
        sides = [
            Side("fresh clone, S3 remote: " + " ".join(MLCI), MLCI, clones.for_mlci),
            Side("fresh clone, S3 remote: " + DVC, ("bash", "-c", DVC), clones.for_dvc),
        ]
        try:
            mlci_times, dvc_times = measure(s3, sides, reps, warmup=0)
        finally:
            s3.run(["dvc", "remote", "remove", "--local", REMOTE], source)
    results.comparisons.append(
        Comparison(sides[0].label, mlci_times, sides[1].label, dvc_times, goal=0.5)
    )
    for project in clones.mlci:
        statuses = {str(s["name"]): str(s["status"]) for s in read_stages(project)}
        restored = all(status in RESTORED for status in statuses.values())
        line = ", ".join(f"{name}={status}" for name, status in statuses.items())
        results.checks.append(Check(f"{project.name}: no stage ran", restored, line))
