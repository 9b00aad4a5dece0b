"""Ctrl-C, SIGTERM and SIGHUP: stop the work in hand, keep files consistent, exit 130.

Every command runs under `handled()`. A signal then raises `Interrupted` (a
KeyboardInterrupt) wherever the command is, as Ctrl-C does in Python, except:

- inside `protected()`: bookkeeping that must not stop half-way (DVC writing
  dvc.lock, its cache or its lock files). The signal is remembered and raised
  by `check()` at the next safe point, or when the protected block ends.
- in `run_group()`, the wait for a child process (a stage command) that runs in
  its own process group, so that a terminal's Ctrl-C reaches mlci alone: the
  signal is passed on to the whole group, which gets `GRACE` seconds to exit
  before it is killed; then `Interrupted` is raised.

One interruption per command: signals that come while it is being handled are
ignored. A cancelled GitHub Actions step gets SIGINT, then SIGTERM 7.5 s later,
then its process tree is killed 2.5 s after that: the grace here fits in both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

__all__ = [
    "GRACE",
    "Interrupted",
    "check",
    "handled",
    "ignore",
    "protected",
    "run_group",
    "stop_group",
    "where",
]

GRACE = 2.0  # seconds a stopped process group has to exit before it is killed
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal asked mlci to stop; `where` says what was stopped."""

    def __init__(self, signum: int, where: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.where = where

    @property
    def signame(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def message(self) -> str:
        return f"interrupted ({self.signame})" + (f" {self.where}" if self.where else "")

    def __str__(self) -> str:
        return self.message


class _State:
    def __init__(self) -> None:
        self.depth = 0  # protected() nesting
        self.pending: int | None = None  # a signal that came while protected
        self.stopping = False  # an Interrupted was raised: later signals are ignored


_state = _State()


def _raise(signum: int) -> None:
    _state.pending = None
    _state.stopping = True
    raise Interrupted(signum)


def _handler(signum: int, _frame: FrameType | None) -> None:
    if _state.stopping:
        return
    if _state.depth > 0:
        if _state.pending is None:
            _state.pending = signum
        return
    _raise(signum)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Take SIGINT, SIGTERM and SIGHUP for the duration of a command (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in SIGNALS}
    outer = _state.depth, _state.pending, _state.stopping
    _state.depth, _state.pending, _state.stopping = 0, None, False
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, previous)
        _state.depth, _state.pending, _state.stopping = outer


def ignore() -> None:
    """Ignore further signals while the command reports its interruption and exits."""
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def check() -> None:
    """A safe point: raise the signal that came during a protected block, if any."""
    if _state.pending is not None and not _state.stopping:
        _raise(_state.pending)


@contextlib.contextmanager
def protected() -> Iterator[None]:
    """A block that a signal does not cut short: it is raised when the block ends."""
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
    if _state.depth == 0:
        check()


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    depth, _state.depth = _state.depth, 0
    try:
        check()
        yield
    finally:
        _state.depth = depth


@contextlib.contextmanager
def where(text: str | Callable[[], str]) -> Iterator[None]:
    """An interruption in this block says what it stopped, unless an inner block said it."""
    try:
        yield
    except Interrupted as exc:
        exc.where = exc.where or (text if isinstance(text, str) else text())
        raise


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_group(process: subprocess.Popen[Any], signum: int, grace: float = GRACE) -> None:
    """Pass `signum` on to the process group led by `process`; kill what is left after `grace`."""
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reaps the leader, so that only live members keep the group
        if not _group_alive(pgid):
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()


def run_group(argv: Sequence[str], **kwargs: Any) -> int:
    """Run `argv` in a process group of its own and wait; a signal stops the whole group.

    The child does not share mlci's process group, so a terminal's Ctrl-C reaches
    mlci only, and mlci stops the child and everything it started, in order.
    A terminal's stdin is not passed on: a background process group that reads
    it would be stopped by the terminal (SIGTTIN) and hang the run.
    """
    if "stdin" not in kwargs and _stdin_is_terminal():
        kwargs["stdin"] = subprocess.DEVNULL
    process = subprocess.Popen(argv, process_group=0, **kwargs)
    try:
        with _interruptible():
            return process.wait()
    except Interrupted as exc:
        stop_group(process, exc.signum)
        raise
    except BaseException:
        stop_group(process, signal.SIGTERM)
        raise


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False
