"""How DVC's stage commands run inside mlci: each in a process group of its own, stopped
as a whole by an interrupt, with this environment's tools first on PATH."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlci import interrupts
from mlci.errors import StageNotRestored

__all__ = ["own_environment_first", "stage_commands_in_own_group", "stopped_cleanly"]


@contextmanager
def stage_commands_in_own_group(before: Callable[[], None] | None = None) -> Iterator[None]:
    """Stage commands run by `interrupts.run_group`: a process group each, stopped as a whole.
    `before`, when given, is called as a command is about to start (after DVC found no
    run-cache entry for it) and may refuse it by raising.

    DVC starts each command as a child process and ignores SIGINT while it runs
    (`dvc.stage.run._run`), so a SIGINT to mlci alone did nothing and a
    terminal's Ctrl-C reached the command only. The command line is DVC's own.
    """
    from dvc.stage import run as stage_run
    from dvc.stage.exceptions import StageCmdFailedError

    saved = stage_run._run

    def run_command(executable: str | None, cmd: str, **kwargs: Any) -> None:
        if before is not None:
            before()
        if os.name == "nt":  # no process groups: DVC's own way
            saved(executable, cmd, **kwargs)
            return
        returncode = interrupts.run_group(stage_run._make_cmd(executable, cmd), **kwargs)
        if returncode != 0:
            raise StageCmdFailedError(cmd, returncode)

    stage_run._run = run_command
    try:
        yield
    finally:
        stage_run._run = saved


@contextmanager
def stopped_cleanly(stage: Any, name: str) -> Iterator[None]:
    """No stage starts once a signal came; an interrupted one leaves its outputs as they were."""
    with interrupts.where(f"before stage '{name}' started"):
        interrupts.check()
    try:
        yield
    except interrupts.Interrupted as exc:
        exc.where = exc.where or f"during stage '{name}': its processes were stopped, nothing saved"
        _restore_outs(stage)
        raise
    except StageNotRestored:
        _restore_outs(stage)  # its command never started: its outputs as dvc.lock has them
        raise


def _restore_outs(stage: Any) -> None:
    """After an interrupted or refused command: its outputs as dvc.lock records them, where the cache has them.

    What the command left half-written is removed, as DVC removes outputs before
    it runs a command; persistent outputs stay as they are. The stage's entry in
    dvc.lock was not touched, and nothing of the run went into the cache.
    """
    with contextlib.suppress(Exception):
        stage.remove_outs(ignore_remove=False, force=False)
    for out in stage.outs:
        if out.persist or not out.use_cache or not out.hash_info:
            continue
        with contextlib.suppress(Exception):
            out.checkout(allow_missing=True)


@contextmanager
def own_environment_first() -> Iterator[None]:
    """Stage commands find `python` and tools of the environment mlci runs in, as if activated."""
    saved = os.environ.get("PATH")
    own = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([own, *([saved] if saved else [])])
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved
