"""DVC's log records and the stage commands' output, taken while DVC works in process.

DVC's loggers feed mlci's progress instead of printing; file descriptors 1 and 2
go through pipes while a stage runs, so its lines are followed and its stderr's
tail kept for the error.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["capture_output", "dvc_logs"]


@contextmanager
def dvc_logs(on_line: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Take DVC's log records instead of letting its handlers print them.

    Also: DVC never prompts inside mlci. On a terminal it would stop and ask (say,
    before replacing a file during a run-cache restore); mlci answers as DVC
    itself does without a terminal, "no", so CI and laptops behave the same.
    """
    import logging

    from dvc import prompt

    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            messages.append(message)
            if on_line and message.strip():
                on_line(message)

    loggers = [logging.getLogger(name) for name in ("dvc", "dvc_data", "dvc_objects")]
    saved = [(lg.handlers[:], lg.propagate, lg.level) for lg in loggers]
    handler = _Collect()
    for logger in loggers:
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    saved_ask = prompt.ask
    prompt.ask = lambda *_args, **_kwargs: None
    try:
        yield messages
    finally:
        prompt.ask = saved_ask
        for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
            logger.handlers, logger.propagate, logger.level = handlers, propagate, level


def _pump(fd: int, on_line: Callable[[str], None] | None, tail: deque[str] | None) -> None:
    with open(fd, encoding="utf-8", errors="replace", closefd=True) as stream:
        for raw in stream:
            line = raw.rstrip("\n")
            if tail is not None and line.strip():
                tail.append(line)
            if on_line and line.strip():
                on_line(line)


@contextmanager
def capture_output(on_line: Callable[[str], None] | None) -> Iterator[deque[str]]:
    """Route fds 1 and 2 (inherited by the stage command) through pipes while a stage runs.

    Yields the tail of stderr. Meanwhile sys.stdout / sys.stderr point at the
    original descriptors, so our own progress output never loops into the pipes.
    """
    tail: deque[str] = deque(maxlen=25)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    readers = []
    for fd in (1, 2):
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        thread = threading.Thread(
            target=_pump, args=(read_end, on_line, tail if fd == 2 else None), daemon=True
        )
        thread.start()
        readers.append(thread)
    old_streams = sys.stdout, sys.stderr
    sys.stdout = open(saved[1], "w", closefd=False)  # noqa: SIM115 (closed below)
    sys.stderr = open(saved[2], "w", closefd=False)  # noqa: SIM115 (closed below)
    wait = 10.0
    try:
        yield tail
    except BaseException:
        # a process that escaped the stopped group may hold a pipe open: do not wait for it
        wait = 1.0
        raise
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            stream.close()
        sys.stdout, sys.stderr = old_streams
        for fd, copy in saved.items():
            os.dup2(copy, fd)  # drops our last copy of the pipe's write end: the reader sees EOF
            os.close(copy)
        for thread in readers:
            thread.join(timeout=wait)
