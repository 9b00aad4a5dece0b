"""Ctrl-C, SIGINT and SIGTERM during `mlci run`, with real DVC and real processes.

The stage starts a child that ignores SIGINT and SIGTERM (as a `&` job of a
shell ignores SIGINT) and a grandchild that sleeps; the test reads their pids
from a file, interrupts the installed `mlci` and checks that nothing survives,
that DVC's locks and dvc.lock are as before, and that the next run works.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlci import api, interrupts
from mlci.api import Progress
from tests.conftest import BIN, commit_all, git, make_tiny_project, sh

pytestmark = pytest.mark.slow

STAGE = """\
import os, pathlib, subprocess, sys, time

pathlib.Path("out.txt").write_text("half-written")
if os.environ.get("SLOW_STAGE"):
    stubborn = (
        "import signal, subprocess, sys, time\\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\\n"
        "open(sys.argv[1], 'a').write(f'{grandchild.pid}\\\\n')\\n"
        "time.sleep(120)\\n"
    )
    child = subprocess.Popen([sys.executable, "-c", stubborn, os.environ["SLOW_STAGE"]])
    with open(os.environ["SLOW_STAGE"], "a") as pids:
        pids.write(f"{os.getpid()}\\n{child.pid}\\n")
    time.sleep(120)
pathlib.Path("out.txt").write_text("done")
"""


def make_project(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    (path / "stage.py").write_text(STAGE)
    (path / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python stage.py\n    deps: [stage.py]\n    outs: [out.txt]\n"
    )
    (path / ".gitignore").write_text("/.mlci/\n")
    commit_all(path, "a slow stage")
    return path


def alive(pid: int) -> bool:
    """Running, stopped or sleeping: anything but gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_mlci(repo: Path, pids: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SLOW_STAGE": str(pids), "SHELL": "/bin/sh"}
    return subprocess.Popen(
        [str(BIN / "mlci"), "run", "--no-pull", "--no-push", "--no-tracking", *args],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def wait_for_pids(pids: Path, process: subprocess.Popen[str], count: int = 3) -> list[int]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if pids.exists():
            found = [int(line) for line in pids.read_text().split()]
            if len(found) >= count:
                return found
        if process.poll() is not None:
            pytest.fail(f"mlci ended before the stage started:\n{process.communicate()}")
        time.sleep(0.2)
    pytest.fail("the stage never started its children")


def rerun(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SLOW_STAGE"}
    return subprocess.run(
        [str(BIN / "mlci"), "run", "--no-pull", "--no-push", "--no-tracking"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def rwlock_entries(repo: Path) -> dict[str, object]:
    path = repo / ".dvc" / "tmp" / "rwlock"
    if not path.exists():
        return {}
    lock = json.loads(path.read_text())
    return {mode: entries for mode, entries in lock.items() if entries}


def interrupt(
    repo: Path, tmp_path: Path, send: Callable[[int], None], *args: str
) -> tuple[subprocess.CompletedProcess[str], float, list[int]]:
    pids = tmp_path / "pids"
    pids.unlink(missing_ok=True)
    process = start_mlci(repo, pids, *args)
    found = wait_for_pids(pids, process)
    sent = time.monotonic()
    send(process.pid)
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pytest.fail("mlci did not stop within 30 s")
    took = time.monotonic() - sent
    completed = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return completed, took, found


def check_stopped_cleanly(
    repo: Path, result: subprocess.CompletedProcess[str], took: float, pids: list[int], sig: str
) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 130, output
    assert took < 7.5, f"took {took:.1f}s, more than a CI runner's grace period"
    lines = [line for line in output.splitlines() if "interrupted" in line]
    assert lines == [
        f"error: interrupted ({sig}) during stage 'train': {lines[0].split(': ', 2)[2]}"
    ]
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    deadline = time.monotonic() + 5  # an orphan's exit is noticed by its new parent
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if alive(pid)] == []
    assert rwlock_entries(repo) == {}
    status = sh(str(BIN / "dvc"), "status", cwd=repo, check=False)
    assert status.returncode == 0, status.stderr


@pytest.mark.parametrize(
    ("sig", "send"),
    [
        ("SIGINT", lambda pid: os.killpg(pid, signal.SIGINT)),  # Ctrl-C in a terminal
        ("SIGINT", lambda pid: os.kill(pid, signal.SIGINT)),  # mlci alone
        ("SIGTERM", lambda pid: os.kill(pid, signal.SIGTERM)),  # a cancelled CI job
    ],
    ids=["ctrl-c-to-group", "sigint-to-mlci", "sigterm"],
)
def test_interrupted_first_run_leaves_nothing_and_runs_again(
    tmp_path: Path, sig: str, send: Callable[[int], None]
) -> None:
    repo = make_project(tmp_path / "repo")
    result, took, pids = interrupt(repo, tmp_path, send)
    check_stopped_cleanly(repo, result, took, pids, sig)
    # the half-written output is gone, and dvc.lock claims nothing for the stage
    assert not (repo / "out.txt").exists()
    assert not (repo / "dvc.lock").exists()
    assert "train" in sh(str(BIN / "dvc"), "status", cwd=repo).stdout

    again = rerun(repo)
    assert again.returncode == 0, again.stderr
    assert "train" in again.stderr and "ran" in again.stderr
    assert (repo / "out.txt").read_text() == "done"
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert [out["path"] for out in lock["stages"]["train"]["outs"]] == ["out.txt"]


def test_interrupted_rerun_restores_the_outputs_dvc_lock_records(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "repo")
    first = rerun(repo)
    assert first.returncode == 0, first.stderr
    lock_before = (repo / "dvc.lock").read_text()

    result, took, pids = interrupt(
        repo, tmp_path, lambda pid: os.kill(pid, signal.SIGTERM), "--force"
    )
    check_stopped_cleanly(repo, result, took, pids, "SIGTERM")
    assert (repo / "dvc.lock").read_text() == lock_before
    assert (repo / "out.txt").read_text() == "done"  # from the cache, not half-written
    status = sh(str(BIN / "dvc"), "status", cwd=repo).stdout
    assert "up to date" in status, status


def test_interrupt_while_pulling_names_the_remote(tmp_path: Path) -> None:
    repo = make_tiny_project(tmp_path / "tiny")

    class InterruptWhenPulling(Progress):
        def step(self, message: str) -> None:
            if message.startswith("pulling"):
                os.kill(os.getpid(), signal.SIGINT)

    with interrupts.handled(), pytest.raises(interrupts.Interrupted) as caught:
        api.run(repo, tracking_enabled=False, progress=InterruptWhenPulling())
    assert (
        caught.value.message == "interrupted (SIGINT) while pulling from DVC remote 'mlci-embedded'"
    )
    assert rwlock_entries(repo) == {}
    assert not (repo / "dvc.lock").exists()
    assert api.run(repo, tracking_enabled=False).record.ran == ["double", "score"]


def test_a_signal_while_dvc_saves_waits_for_the_stage_to_be_saved(tmp_path: Path) -> None:
    """A signal during DVC's bookkeeping does not cut dvc.lock short: the next stage never starts."""
    repo = make_tiny_project(tmp_path / "tiny")

    class InterruptAfterFirstStage(Progress):
        def stage(self, stage: object) -> None:
            os.kill(os.getpid(), signal.SIGTERM)

    with interrupts.handled(), pytest.raises(interrupts.Interrupted) as caught:
        api.run(
            repo,
            pull=False,
            push=False,
            tracking_enabled=False,
            progress=InterruptAfterFirstStage(),
        )
    assert caught.value.message == "interrupted (SIGTERM) before stage 'score' started"
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert list(lock["stages"]) == ["double"]
    assert (repo / "work" / "doubled.txt").exists()
    assert not (repo / "metrics.json").exists()
