"""Processes as /proc shows them: a process and its descendants, found and signalled.

A server that starts workers in sessions of their own (BentoML's circus) is not held
by one process group: stopping it needs its tree, taken while the parent still lives.
Where there is no /proc, only the process group is known.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Protocol

__all__ = ["STOP_GRACE_S", "Proc", "Started", "process_tree", "stop_group"]

STOP_GRACE_S = 10.0


Proc = tuple[int, int]  # (pid, start time in clock ticks): a pid cannot be mistaken after reuse


def _proc_table() -> dict[int, tuple[int, int, int, str]]:
    """pid -> (parent pid, process group, start time, state) of every process, from /proc."""
    table: dict[int, tuple[int, int, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ... starttime (field 22); comm may hold spaces
        fields = stat.rpartition(")")[2].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), int(fields[19]), fields[0])
    return table


def process_tree(pid: int) -> set[Proc]:
    """The live process `pid` and all its descendants (empty where there is no /proc).

    BentoML's workers start sessions of their own (circus), so a process group does not
    hold them: stopping a server needs its tree, taken while the parent still lives.
    """
    if not Path("/proc").is_dir():
        return set()
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _group, _start, state) in table.items():
        if state != "Z":
            children.setdefault(parent, []).append(child)
    found: set[Proc] = set()
    todo = [pid] if pid in table and table[pid][3] != "Z" else []
    while todo:
        current = todo.pop()
        found.add((current, table[current][2]))
        todo.extend(children.get(current, []))
    return found


def _alive(known: set[Proc], pgid: int) -> set[Proc]:
    """Which of `known`, and which members of group `pgid`, still run (zombies do not)."""
    if not Path("/proc").is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return set()
        except PermissionError:
            pass
        return {(pgid, 0)}
    table = _proc_table()
    return {
        (pid, start)
        for pid, (_parent, group, start, state) in table.items()
        if state != "Z" and ((pid, start) in known or group == pgid)
    }


def _signal(procs: set[Proc], pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid, _start in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


class Started(Protocol):
    """A started process (a `Popen`): its pid, and whether it has exited (reaping it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...


def stop_group(process: Started, grace: float = STOP_GRACE_S) -> None:
    """Stop a server started with start_new_session=True: SIGTERM its process group and
    every descendant, SIGKILL whatever is left after `grace` s, reap the leader."""
    pgid = process.pid  # the leader of a new session: its pid is the group id
    known = process_tree(pgid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _signal(_alive(known, pgid), pgid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline:
            if process.poll() is None:
                known |= process_tree(pgid)  # a worker started while shutting down
                time.sleep(0.1)
            if process.poll() is not None and not _alive(known, pgid):
                return
    deadline = time.monotonic() + 5.0
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
