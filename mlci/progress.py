"""`Progress`: how a long action tells its caller what it is doing. The library never prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlci.dvc import StageRun

__all__ = ["Progress"]


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
