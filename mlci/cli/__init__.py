"""The `mlci` command line: click commands only; each calls one api function and renders.

`app` holds the group, its global options and the one list of commands; each command
group has its file (`run`, `report`, `validate`, `registry`, `release`, ...); `failures`
turns errors into one line and an exit code; `options` holds what commands share.
Nothing heavy is imported here: each command imports what it needs when it runs.
`fastexit` comes first: its `atexit` handler must be the first registered (it runs last).
"""

from mlci.cli import fastexit
from mlci.cli.app import cli, main
from mlci.cli.failures import handle_errors

__all__ = ["cli", "fastexit", "handle_errors", "main"]
