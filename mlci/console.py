"""All terminal output. Data goes to stdout, messages to stderr.

rich drops styling when the stream is not a terminal, and NO_COLOR drops it
everywhere, so CI logs and pipes get plain text. Output fits the terminal's
width (or COLUMNS); mlci/layout.py lays tables out to it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["err", "error", "escape", "info", "out", "success", "warn"]

_out: Console | None = None
_err: Console | None = None


def escape(text: str) -> str:
    """Text shown through rich, with its [markup] taken literally."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _make(stderr: bool) -> Console:
    # rich costs 20-30 ms to import: only pay for it when something is printed
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # NO_COLOR: no styling at all (rich's own no_color keeps bold and dim)
    colors: Literal["auto"] | None = None if os.environ.get("NO_COLOR") else "auto"
    # a known width (a terminal, or COLUMNS) wraps lines to it; a log or pipe without one keeps
    # them whole (soft_wrap), so long paths and URLs stay searchable
    return Console(
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
    if _err is None or _err.file is not sys.stderr:
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
