"""One typed function per user action. The CLI, the actions and notebooks call these.

The library never prints: progress reaches the caller through a `Progress`
object whose methods default to doing nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlci import config

# each action imports what it needs when called: `mlci config` must not pay for `mlci run`
if TYPE_CHECKING:
    from mlci.doctor import Check
    from mlci.dvc import StageRun
    from mlci.reproduce import RunResult

__all__ = ["Progress", "doctor", "load_config", "project_root", "run"]


class Progress:
    """Callbacks for what a long action is doing; override what you want to show."""

    def step(self, message: str) -> None:
        """A phase starts or ends (pull, push, tracking)."""

    def stage(self, stage: StageRun) -> None:
        """A pipeline stage finished: ran, came from the run-cache, or was unchanged."""

    def output(self, line: str) -> None:
        """A line printed by DVC or a stage command."""

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the action."""


def load_config(path: Path | None = None) -> config.Config:
    return config.load(path)


def project_root(path: Path | None = None) -> Path:
    return config.find_root(path)


def doctor(path: Path | None = None) -> list[Check]:
    from mlci import doctor as checks

    return checks.checks(path)


def run(
    path: Path | None = None,
    *,
    targets: tuple[str, ...] = (),
    force: bool = False,
    pull: bool = True,
    push: bool = True,
    tracking_enabled: bool = True,
    progress: Progress | None = None,
) -> RunResult:
    """Fetch, `dvc repro`, push, record an MLflow run, write `.mlci/run.json`."""
    from mlci import reproduce

    return reproduce.run(
        path,
        targets=targets,
        force=force,
        pull=pull,
        push=push,
        tracking_enabled=tracking_enabled,
        progress=progress,
    )
