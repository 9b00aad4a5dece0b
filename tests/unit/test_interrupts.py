"""mlci.interrupts with real signals and real child processes."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from mlci import interrupts


def later(signum: int, seconds: float = 0.3) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signum))
    timer.start()
    return timer


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_a_signal_raises_interrupted_naming_it_and_where() -> None:
    with (
        interrupts.handled(),
        pytest.raises(interrupts.Interrupted) as caught,
        interrupts.where("while testing"),
    ):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert str(caught.value) == "interrupted (SIGTERM) while testing"
    assert isinstance(caught.value, KeyboardInterrupt)


def test_protected_block_finishes_and_the_signal_is_raised_after_it() -> None:
    finished = False
    with interrupts.handled(), pytest.raises(interrupts.Interrupted), interrupts.protected():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        finished = True
    assert finished


def test_check_is_a_safe_point_inside_a_protected_block() -> None:
    reached = []
    with interrupts.handled(), pytest.raises(interrupts.Interrupted), interrupts.protected():
        interrupts.check()  # nothing pending: no-op
        reached.append("first")
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.1)
        interrupts.check()
        reached.append("second")
    assert reached == ["first"]


def test_handlers_are_restored_after_the_command() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with interrupts.handled():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_run_group_stops_the_whole_group_children_that_ignore_sigint_included(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    # a `&` job of a non-interactive shell ignores SIGINT: only the kill after the grace stops it
    script = f"sleep 60 & echo $! > {pids}; sleep 60"
    timer = later(signal.SIGINT, 1.0)
    started = time.monotonic()
    with interrupts.handled(), pytest.raises(interrupts.Interrupted) as caught:
        interrupts.run_group(["/bin/sh", "-c", script])
    timer.join()
    assert caught.value.signum == signal.SIGINT
    assert time.monotonic() - started < 1.0 + interrupts.GRACE + 2
    child = int(pids.read_text())
    deadline = time.monotonic() + 5
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child)


def test_run_group_returns_the_exit_status() -> None:
    with interrupts.handled():
        assert interrupts.run_group(["/bin/sh", "-c", "exit 3"]) == 3
        assert interrupts.run_group(["/bin/sh", "-c", "true"]) == 0
