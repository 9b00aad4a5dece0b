"""How a command ends when something goes wrong: one clear line and the exit code of DESIGN.md."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mlci import __version__, console, extras, interrupts, logs
from mlci.errors import MlciError

__all__ = ["closed_pipe", "command_log", "handle_errors", "log_note"]

F = TypeVar("F", bound=Callable[..., Any])

_ISSUES_URL = "https://github.com/mlci-dev/mlci/issues"
_EXIT_PIPE = 141  # 128 + SIGPIPE: stdout's reader closed the pipe


def _show_traceback() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("traceback"))


def closed_pipe() -> None:
    """The reader of stdout went away (`mlci config | head -1`): stop quietly, as git does.

    128 + SIGPIPE, the status a shell shows for a command its pipe closed; stdout is
    pointed at /dev/null so that Python's own flush at exit has nowhere to fail.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(_EXIT_PIPE)


def _fail(exc: MlciError) -> None:
    if _show_traceback():
        traceback.print_exc()
    console.error(exc.message)
    if exc.hint:
        console.info(f"hint: {exc.hint}")
    sys.exit(exc.exit_code)


def command_log() -> contextlib.AbstractContextManager[None]:
    """`logs.captured()` for the click command being run: its name, -C directory, -v and
    --dry-run; the log is `<state_dir>/logs/<command>.log`."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return contextlib.nullcontext()
    params = ctx.params
    name = " ".join(ctx.command_path.split()[1:]) or str(ctx.info_name)
    directory = (ctx.find_root().obj or {}).get("directory")
    dry_run = bool(params.get("dry_run"))
    verbose = params.get("verbose")
    return logs.captured(
        lambda: logs.default_location(name, directory, dry_run),
        show=bool(verbose),
        note=log_note(" (-v shows them)" if verbose is not None else ""),
    )


def log_note(hint: str) -> Callable[[Path], None]:
    """The one dim line that says where a command's library output went."""

    def note(path: Path) -> None:
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        console.info(f"library warnings and messages: {shown}{hint}", style="dim")

    return note


def handle_errors(func: F) -> F:
    """Known errors: one red line and their exit code. Anything else: exit 4 and where to report it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            # signals raise Interrupted; library warnings go to .mlci/logs/<command>.log
            with interrupts.handled(), command_log():
                return func(*args, **kwargs)
        except MlciError as exc:
            _fail(exc)
        except KeyboardInterrupt as exc:
            interrupts.ignore()
            console.error(str(exc) if isinstance(exc, interrupts.Interrupted) else "interrupted")
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            closed_pipe()
        except ImportError as exc:
            if (missing := extras.from_import_error(exc)) is None:
                _internal(exc)
            else:
                _fail(missing)
        except Exception as exc:
            _internal(exc)

    return wrapper  # type: ignore[return-value]


def _internal(exc: BaseException) -> None:
    if _show_traceback():
        traceback.print_exc()
    console.error(f"unexpected error: {type(exc).__name__}: {exc}")
    console.info(
        f"This is a bug in mlci {__version__}. Please report it at {_ISSUES_URL} "
        "with the output of the same command run with `mlci --traceback ...`."
    )
    sys.exit(4)
