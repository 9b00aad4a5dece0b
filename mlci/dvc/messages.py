"""DVC's exceptions as the one line mlci's errors carry (DESIGN.md: no traceback)."""

from __future__ import annotations

import socket

__all__ = ["dvc_message", "first_line", "unreachable"]


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, else its type's name."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def dvc_message(exc: BaseException) -> str:
    """A DVC error with its cause: "'./dvc.yaml' validation failed" says which file, the
    cause says which key."""
    cause = f": {first_line(exc.__cause__)}" if exc.__cause__ else ""
    return f"{first_line(exc)}{cause}"


def unreachable(exc: BaseException) -> bool:
    """Whether a network failure lies under a DVC error: a host that does not resolve, a
    refused or timed-out connection (an import's source repository, a remote)."""
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        if isinstance(found, ConnectionError | TimeoutError | socket.gaierror):
            return True
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return False
