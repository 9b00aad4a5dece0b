"""Leave without tearing the interpreter down once a command has finished.

When `mlci` ends, Python first joins its threads and runs every `atexit` handler (MLflow
ends its runs, temporary directories are removed, logs are flushed), then clears every
module and collects their objects one by one. That last part changes nothing a user can
see, and once DVC and MLflow are loaded it takes about a second: `mlci run` printed its
summary 1.1 to 1.3 s before its process ended.

`arm(code)` (the entry point's, with the code it exits with) makes the last `atexit`
handler flush stdout and stderr and end the process with that code. The handler is
registered when this module is imported, before anything else mlci imports registers
its own, so every other handler has run by then. Without `arm` (mlci used as a library,
tests calling the click group) it does nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

__all__ = ["arm"]

_code: int | None = None


def arm(code: object) -> int:
    """Exit with `code` (a SystemExit's) without the teardown; the code as an int."""
    global _code
    if code is None:
        _code = 0
    elif isinstance(code, int):
        _code = code
    else:
        _code = 1  # Python prints a non-int code to stderr and exits 1
    return _code


def _leave() -> None:
    if _code is None:
        return
    logging = sys.modules.get("logging")
    if logging is not None:  # its own handler was registered later and has run; harmless twice
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing left to write to
            stream.flush()
    os._exit(_code)


atexit.register(_leave)
