"""One exception hierarchy; each class carries the exit code from DESIGN.md."""

from __future__ import annotations


class MlciError(Exception):
    """An expected, user-facing failure: one line for the user, an exit code."""

    exit_code = 4

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class GateFailed(MlciError):
    """The answer is "no": a gate or a validation failed, or a stage command failed."""

    exit_code = 1


class StageFailed(GateFailed):
    def __init__(self, stage: str, detail: str, stderr_tail: str = "") -> None:
        message = f"stage '{stage}' failed: {detail}"
        if stderr_tail.strip():
            message += "\n" + stderr_tail.rstrip()
        super().__init__(message)
        self.stage = stage
        self.stderr_tail = stderr_tail


class StageNotRestored(StageFailed):
    """`mlci run --restore-only`: a stage's command was about to start (no run-cache entry)."""

    def __init__(self, stage: str) -> None:
        GateFailed.__init__(
            self,
            f"stage '{stage}' would run, but --restore-only allows no stage command: "
            "no run-cache entry matches its inputs",
            hint="run the job that reproduces it (and pushes its run-cache), then this again",
        )
        self.stage = stage
        self.stderr_tail = ""


class UsageError(MlciError):
    """Bad input: a file, config key, revision or flag. The message names it."""

    exit_code = 2


class ConfigError(UsageError):
    pass


class ServiceError(MlciError):
    """An outside service or tool failed after retries (remote, tracking server, GitHub)."""

    exit_code = 3


class InternalError(MlciError):
    exit_code = 4
