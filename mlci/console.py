"""All terminal output. Data goes to stdout, messages to stderr.

rich drops styling when the stream is not a terminal, and NO_COLOR drops it
everywhere, so CI logs and pipes get plain text. Output fits the terminal's
width (or COLUMNS); mlci/layout.py lays tables out to it.
"""

from __future__ import annotations

import codecs
import errno
import os
import sys
from typing import TYPE_CHECKING, Any, Literal

from mlci import logs

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["err", "error", "escape", "fit_encoding", "info", "out", "success", "warn"]

_out: Console | None = None
_err: Console | None = None


def escape(text: str) -> str:
    """Text shown through rich, with its [markup] taken literally."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# what a mark becomes on a stream that cannot encode it (PYTHONIOENCODING=ascii, a C locale)
_PLAIN = {
    "✓": "ok", "✗": "x", "↺": "~", "·": "-", "›": ">", "…": "...", "—": "-", "–": "-",
    "→": "->", "←": "<-", "↑": "^", "↓": "v", "≥": ">=", "≤": "<=", "±": "+/-", "×": "x",
    "Δ": "d", "│": "|", "─": "-", "━": "=", "▁": "_", "▂": "_", "▃": ".",
    "▄": "-", "▅": "-", "▆": "=", "▇": "#", "█": "#",
}  # fmt: skip


def _plain(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = "".join(_PLAIN.get(ch, "?") for ch in error.object[error.start : error.end])
    return text, error.end


codecs.register_error("mlci-plain", _plain)


def fit_encoding() -> None:
    """Streams that cannot encode every character write plain stand-ins instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            name = codecs.lookup(getattr(stream, "encoding", None) or "ascii").name
        except LookupError:
            name = "ascii"
        reconfigure = getattr(stream, "reconfigure", None)
        if not name.startswith("utf") and reconfigure is not None:
            reconfigure(errors="mlci-plain")


def _make(stderr: bool) -> Console:
    # rich costs 20-30 ms to import: only pay for it when something is printed
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit 1; what a closed pipe means is the CLI's to decide
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    # mlci's own messages skip the stream that takes library output (mlci.logs)
    stream = logs.terminal(sys.stderr) if stderr else sys.stdout
    # NO_COLOR: no styling at all (rich's own no_color keeps bold and dim)
    colors: Literal["auto"] | None = None if os.environ.get("NO_COLOR") else "auto"
    # a known width (a terminal, or COLUMNS) wraps lines to it; a log or pipe without one keeps
    # them whole (soft_wrap), so long paths and URLs stay searchable
    return _Console(
        file=stream,
        stderr=stderr,
        highlight=False,
        soft_wrap=not _width_known(stream),
        color_system=colors,
    )


def _width_known(stream: Any) -> bool:
    if os.environ.get("COLUMNS", "").strip().isdigit():
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def out() -> Console:
    global _out
    if _out is None or _out.file is not sys.stdout:
        _out = _make(stderr=False)
    return _out


def err() -> Console:
    global _err
    if _err is None or _err.file is not logs.terminal(sys.stderr):
        _err = _make(stderr=True)
    return _err


def error(message: str) -> None:
    err().print(f"[bold red]error:[/] {escape(message)}")


def warn(message: str) -> None:
    err().print(f"[yellow]warning:[/] {escape(message)}")


def info(message: str, **kwargs: Any) -> None:
    err().print(escape(message), **kwargs)


def success(message: str) -> None:
    err().print(f"[green]{escape(message)}[/]")
