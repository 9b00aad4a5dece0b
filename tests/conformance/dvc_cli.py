"""DVC's own CLI (`dvc.cli.main`), run in this process: the commands a user types, with their
exit code, stdout and stderr, without paying DVC's import (about a second) for each one.

DVC prints through its logger's handlers (bound to the streams of the moment it was
imported) and through `ui.write_json`; both are pointed at this call's buffers. Stage
commands (`dvc repro`) still run as DVC's child processes.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

_LOGGERS = ("dvc", "dvc_objects", "dvc_data")


def run_dvc(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`dvc ARGS` in `cwd`, as `subprocess.run(..., capture_output=True, text=True)` gives it."""
    from dvc.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), _printing_to(out, err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own exits
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(["dvc", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _printing_to(out: io.StringIO, err: io.StringIO) -> Iterator[None]:
    from dvc.ui import ui

    def write_json(data: Any, default: Any = None, **_options: Any) -> None:
        out.write(json.dumps(data, default=default) + "\n")  # what `--json` prints, unstyled

    handlers = {
        handler
        for name in _LOGGERS
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler)
    }
    streams = {handler: handler.stream for handler in handlers}
    try:
        for handler in handlers:  # DVC's warnings and errors go to stderr, the rest to stdout
            handler.setStream(err if handler.level >= logging.WARNING else out)
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            mock.patch.object(ui, "write_json", write_json),
        ):
            yield
    finally:
        for handler, stream in streams.items():
            handler.setStream(stream)
