"""A team's shared services on 127.0.0.1, for the team-stack tests: an S3 server (moto),
PostgreSQL and `mlflow server` with its runs in that PostgreSQL and its artifacts in S3.

The database URL and the server's packages are read from deploy/compose/compose.yaml, so a
URL or driver that breaks the compose stack breaks these tests too. Each server runs in a
process group of its own and is stopped with it; `stop()` and `start()` again (same port,
same data where the server keeps any) let a test take a service away in the middle of a run.

On a CI machine (CI set) nothing here skips: a server that cannot start fails the tests with
the reason. Elsewhere a machine without PostgreSQL skips them, saying so.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import BIN, ROOT, free_port

# read once at import: the tests' own fixtures take CI out of the environment
IN_CI = bool(os.environ.get("CI"))
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
# any key pair works with moto; these stand for the compose stack's S3_ACCESS_KEY/S3_SECRET_KEY
ACCESS_KEY = "teamstack-access"
SECRET_KEY = "teamstack-secret-key"
DB_PASSWORD = "teamstack-db-password"
# the buckets deploy/compose's minio-init creates
DVC_BUCKET = "dvc"
MLFLOW_BUCKET = "mlflow"


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere: CI must never pass without having run these tests."""
    if IN_CI:
        pytest.fail(f"team stack: {reason}", pytrace=False)
    pytest.skip(f"team stack: {reason}")


def compose_mlflow() -> tuple[str, list[str]]:
    """The compose stack's backend-store URL scheme and the packages its MLflow image adds."""
    service = yaml.safe_load(COMPOSE.read_text())["services"]["mlflow"]
    (uri,) = (
        a.split("=", 1)[1] for a in service["command"] if a.startswith("--backend-store-uri=")
    )
    scheme = uri.split("://", 1)[0]
    installed = re.search(r"pip install [^\n]*", service["build"]["dockerfile_inline"])
    assert installed, "compose.yaml: the mlflow image installs no packages"
    packages = [p for p in installed.group(0).split()[2:] if not p.startswith("-")]
    return scheme, packages


@dataclass
class Server:
    """One server process on a loopback port, its whole process group stopped by `stop()`."""

    name: str
    argv: list[str]
    health: str  # a URL that answers 200 once the server is up
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 120.0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + self.timeout
        while not _answers(self.health):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-3000:]
                pytest.fail(f"{self.name} did not start ({self.health}):\n{tail}", pytrace=False)
            time.sleep(0.3)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False
    except OSError:
        return False


# --- S3 -------------------------------------------------------------------------------


def s3_server(state: Path) -> Server:
    moto = BIN / "moto_server"
    if not moto.is_file():
        pytest.fail(
            "team stack: moto_server is not installed: pip install -e '.[dev]' (moto[server])",
            pytrace=False,
        )
    port = free_port()
    return Server(
        name="moto S3 server",
        argv=[str(moto), "-H", "127.0.0.1", "-p", str(port)],
        health=f"http://127.0.0.1:{port}/moto-api/",
        log=state / f"moto-{port}.log",
    )


def endpoint(server: Server) -> str:
    return server.health.removesuffix("/moto-api/")


def s3_client(url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
    )


def make_buckets(url: str, *names: str) -> None:
    client = s3_client(url)
    for name in names:
        client.create_bucket(Bucket=name)


# --- PostgreSQL -----------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL's binaries (`/usr/lib/postgresql/N/bin`)."""
    found = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


@dataclass
class Postgres:
    bin: Path
    base: Path  # data, socket and log; owned by the user the server runs as
    port: int

    @property
    def as_server_user(self) -> list[str]:
        # PostgreSQL refuses to run as root
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_server_user, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base,
        )
        if done.returncode != 0:
            log = self.base / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            pytest.fail(
                f"team stack: PostgreSQL {tool} failed: {done.stderr.strip()}\n{tail}",
                pytrace=False,
            )

    def url(self, scheme: str) -> str:
        return f"{scheme}://mlflow:{DB_PASSWORD}@127.0.0.1:{self.port}/mlflow"

    def start(self) -> None:
        password = self.base / "pw"
        password.write_text(DB_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(password, "postgres")
        # the compose stack's role and database; password logins over TCP, as there
        self.run(
            "initdb",
            "-D",
            str(self.base / "data"),
            "-U",
            "mlflow",
            f"--pwfile={password}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.run(
            "pg_ctl", "-D", str(self.base / "data"), "-l", str(self.base / "postgres.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self.run("createdb", "-h", str(self.base), "-p", str(self.port), "-U", "mlflow", "mlflow")

    def stop(self) -> None:
        subprocess.run(
            [*self.as_server_user, str(self.bin / "pg_ctl"), "-D", str(self.base / "data"),
             "-m", "immediate", "-w", "stop"],
            capture_output=True, check=False, cwd=self.base,
        )  # fmt: skip


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    pg_bin = postgres_bin()
    if pg_bin is None:
        unavailable(
            "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/pg_ctl); "
            "`make test` installs it (apt-get install postgresql)"
        )
        raise AssertionError  # unreachable: unavailable() fails or skips
    # not under pytest's tmp dir: its parents are private to this user, the server runs as postgres
    base = Path(tempfile.mkdtemp(prefix="mlci-teamstack-pg-"))
    server = Postgres(pg_bin, base, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- MLflow ---------------------------------------------------------------------------


def mlflow_server(state: Path, backend_store_uri: str, s3_endpoint: str) -> Server:
    """`mlflow server` as deploy/compose runs it: artifacts proxied to s3://mlflow/."""
    port = free_port()
    return Server(
        name="mlflow server",
        argv=[
            str(BIN / "mlflow"),
            "server",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--backend-store-uri={backend_store_uri}",
            "--serve-artifacts",
            f"--artifacts-destination=s3://{MLFLOW_BUCKET}/",
            "--workers=1",
        ],
        health=f"http://127.0.0.1:{port}/health",
        log=state / f"mlflow-{port}.log",
        # for the server only: clients send artifacts through it and need neither
        env={
            "MLFLOW_S3_ENDPOINT_URL": s3_endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "MLFLOW_ENABLE_TELEMETRY": "false",
            # no background job runner (an interpreter more to start): no test uses jobs
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        },
    )


def uri(server: Server) -> str:
    return server.health.removesuffix("/health")


@dataclass
class TeamStack:
    s3: Server
    db: Postgres
    mlflow: Server
    state: Path

    @property
    def s3_endpoint(self) -> str:
        return endpoint(self.s3)

    @property
    def tracking_uri(self) -> str:
        return uri(self.mlflow)

    def client_env(self) -> dict[str, str]:
        """What a runner's job gets (docs/runners.md): the S3 key and the tracking URI."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "MLFLOW_TRACKING_URI": self.tracking_uri,
        }


@contextlib.contextmanager
def team_stack(state: Path) -> Iterator[TeamStack]:
    """The three services, started in order and stopped in reverse."""
    scheme, packages = compose_mlflow()
    for package in packages:
        module = {"psycopg2-binary": "psycopg2", "psycopg[binary]": "psycopg"}.get(package, package)
        try:
            __import__(module)
        except ImportError:
            pytest.fail(
                f"team stack: compose's MLflow image installs {package}, missing here: "
                "pip install -e '.[dev]'",
                pytrace=False,
            )
    s3 = s3_server(state)
    s3.start()
    try:
        make_buckets(endpoint(s3), DVC_BUCKET, MLFLOW_BUCKET)
        with postgres() as db:
            mlflow = mlflow_server(state, db.url(scheme), endpoint(s3))
            mlflow.start()
            try:
                yield TeamStack(s3=s3, db=db, mlflow=mlflow, state=state)
            finally:
                mlflow.stop()
    finally:
        s3.stop()
