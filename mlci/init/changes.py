"""The plan of `mlci init` as data: each file's change (create, update, unchanged, or a
conflict with what is there), its diff, and the refusal of conflicts without `force`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlci.errors import UsageError

Action = Literal["create", "update", "unchanged", "conflict"]


@dataclass
class FileChange:
    path: str  # relative to the git top level, '/'-separated
    action: Action
    old: str | None  # None: the file does not exist
    new: str  # what init writes (for a conflict: what `force` writes)
    reason: str = ""  # an update: what is added; a conflict: what differs

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                (self.old or "").splitlines(keepends=True),
                self.new.splitlines(keepends=True),
                fromfile="/dev/null" if self.old is None else f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


@dataclass
class InitPlan:
    root: Path  # the git top level (the workflows live there)
    project: Path  # the folder with .dvc/ and dvc.yaml
    changes: list[FileChange] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def conflicts(self) -> list[FileChange]:
        return [c for c in self.changes if c.action == "conflict"]

    @property
    def pending(self) -> list[FileChange]:
        return [c for c in self.changes if c.action != "unchanged"]

    def diff(self) -> str:
        return "".join(change.diff() for change in self.pending)

    def check(self, *, force: bool) -> None:
        """Refuse (exit 2) when a file differs from what init writes, unless `force`."""
        if self.conflicts and not force:
            names = ", ".join(
                f"{c.path} ({c.reason})" if c.reason else c.path for c in self.conflicts
            )
            raise UsageError(
                f"not overwriting what differs from what mlci init writes: {names}",
                hint="`mlci init --dry-run` shows the diff; `--force` overwrites",
            )


def read_text(file: Path) -> str | None:
    """A UTF-8 text file's content; None when it does not exist."""
    try:
        return file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not a UTF-8 text file") from None
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror}") from None


def whole_file(root: Path, shown: str, text: str) -> FileChange:
    """`shown` (relative to `root`) to be exactly `text`: anything else there is a conflict."""
    old = read_text(root / shown)
    if old is None:
        return FileChange(shown, "create", None, text)
    if old == text:
        return FileChange(shown, "unchanged", old, text)
    return FileChange(shown, "conflict", old, text)
