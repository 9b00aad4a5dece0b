"""What several commands share: the `--format` option, the `-C` directory, the step lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mlci import console

__all__ = ["directory", "format_option", "show_step"]

F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str) -> Callable[[F], F]:
    """`--format` with the first choice as default; every command spells it the same."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True
    )


def directory() -> Path | None:
    """The folder given to `mlci -C`, or None for the current one."""
    obj = click.get_current_context().find_root().obj or {}
    found: Path | None = obj.get("directory")
    return found


def show_step(message: str) -> None:
    """A step of a long action (release, rollback, retrain), dimmed on stderr."""
    console.err().print(f"[dim]›[/] {console.escape(message)}")
