"""Library output goes to a log file, not the terminal; one mechanism for every command.

MLflow, Great Expectations, BentoML and DVC speak through Python's `logging`,
`warnings`, and plain writes to sys.stderr (progress bars, "Successfully
registered model ..."). While a command runs (`captured()`, which the CLI enters
for each command):

- sys.stderr is `_LibraryStream`: what is written to it goes to
  `<state_dir>/logs/<command>.log` (created at the first write), and to the
  terminal as well with `-v`. mlci's own messages go through `mlci.console`,
  which writes to the terminal stream behind it (`terminal()`).
- warnings (`warnings.showwarning`) and log records that reach the root logger
  are written there too, one line each, naming where they come from.
- at the end, when something was written and not shown, one line says where.

Stage commands and child processes keep their own channels (file descriptors).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, cast

__all__ = ["captured", "default_location", "terminal"]


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _LibraryStream(io.TextIOBase):
    """sys.stderr during a command: into the log file (and to the terminal when shown)."""

    def __init__(self) -> None:
        super().__init__()
        self.terminal: TextIO = sys.__stderr__ or sys.stderr
        self.show = False
        self.locate: Callable[[], Path] | None = None
        self.path: Path | None = None
        self.file: TextIO | None = None
        self.active = False

    # a handler made while a command ran keeps this stream: after it, writes go on to
    # the stream the command had (never back through sys.stderr, which may wrap this one)
    def _outside(self) -> TextIO:
        if getattr(self.terminal, "closed", False):
            return sys.__stderr__ or self.terminal
        return self.terminal

    def _sink(self) -> TextIO | None:
        if self.file is None and self.locate is not None:
            try:
                self.path = self.locate()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.file = self.path.open("w", encoding="utf-8")
            except OSError:
                self.locate = None  # nowhere to write: the terminal gets it, as before
        return self.file

    def write(self, text: str) -> int:
        if not self.active:
            return self._outside().write(text)
        sink = self._sink()
        if sink is not None:
            sink.write(_ANSI.sub("", text))  # colours are for terminals
        if self.show or sink is None:
            self.terminal.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in (self.file, self.terminal if self.active else self._outside()):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False  # progress bars draw once, not frame by frame, into a file

    def fileno(self) -> int:
        # child processes given sys.stderr write to the terminal's descriptor, as before
        return (self.terminal if self.active else self._outside()).fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "backslashreplace"


_stream = _LibraryStream()


def terminal(stream: Any) -> TextIO:
    """The stream mlci's own messages go to: the terminal behind the library stream.

    Looks through wrappers of sys.stderr (colorama wraps it when DVC sets up its logging).
    """
    inner: object = stream
    for _ in range(8):
        if isinstance(inner, _LibraryStream):
            return inner.terminal
        inner = getattr(inner, "_StreamWrapper__wrapped", None)
        if inner is None:
            break
    return cast(TextIO, stream)


class _RootHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            _stream.write(self.format(record) + "\n")


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    _stream.write(f"{category.__name__}: {message} ({filename}:{lineno})\n")


def default_location(command: str, directory: Path | None, dry_run: bool = False) -> Path:
    """`<state_dir>/logs/<command>.log` of the project; a temporary folder for dry runs."""
    name = command.replace(" ", "-") + ".log"
    if dry_run:
        return Path(tempfile.gettempdir()) / "mlci-logs" / name
    try:
        from mlci import config

        return config.load(directory).state_path / "logs" / name
    except Exception:  # no project: the log still goes somewhere
        return Path(tempfile.gettempdir()) / "mlci-logs" / name


@contextlib.contextmanager
def captured(
    locate: Callable[[], Path],
    *,
    show: bool = False,
    note: Callable[[Path], None] | None = None,
) -> Iterator[None]:
    """Library output of one command into the file `locate()` names (made at the first write);
    `note(path)` at the end when something was written there and not shown."""
    if _stream.active:  # nested (a command calling another): the outer one captures
        yield
        return
    saved_stderr, saved_show = sys.stderr, warnings.showwarning
    root = logging.getLogger()
    handler = _RootHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    _stream.terminal, _stream.show, _stream.locate = sys.stderr, show, locate
    _stream.path, _stream.file, _stream.active = None, None, True
    sys.stderr = _stream
    warnings.showwarning = _show_warning
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        warnings.showwarning = saved_show
        if sys.stderr is not saved_stderr and terminal(sys.stderr) is saved_stderr:
            sys.stderr = saved_stderr  # this stream, or a wrapper of it
        _stream.active = False
        if _stream.file is not None:
            _stream.file.close()
            _stream.file = None
            if not show and _stream.path is not None and note is not None:
                with contextlib.suppress(OSError, ValueError):
                    note(_stream.path)
