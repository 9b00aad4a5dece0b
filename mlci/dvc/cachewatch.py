"""Whether a run left anything in the local DVC cache that its remote may lack.

A fresh runner's cache starts empty; whatever a complete fetch then put there came
from the remote. So did what the remote's run-cache brought: its entries, and the
outputs of a stage restored from one (DVC downloads them from the remote, or the stage
runs). If no stage ran and every file in the cache came in one of those ways, a push
would send nothing: every object is on the remote already. In any other case (a cache
that held objects before, an object the remote lacked, a file a stage or a data source
added) the push runs as `dvc push` would.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

__all__ = ["CacheWatch"]

_FROM_REMOTE = {"unchanged", "cached"}  # statuses whose stage added nothing of its own


class _Stage(Protocol):
    @property
    def status(self) -> str: ...


def _any_file(root: Path) -> bool:
    return any(files for _dirpath, _dirs, files in os.walk(root))


def _files(root: Path) -> frozenset[str]:
    return frozenset(
        os.path.join(dirpath, name) for dirpath, _dirs, files in os.walk(root) for name in files
    )


class CacheWatch:
    """The local cache (DVC's `cache.legacy` folder, run-cache included) around a run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.was_empty = not _any_file(path)
        self._after_fetch: frozenset[str] | None = None
        self._from_remote: set[str] = set()

    def fetched(self, *, complete: bool) -> None:
        """Call after the fetch; `complete`: the remote had every object asked for."""
        if self.was_empty and complete:
            self._after_fetch = _files(self.path)

    def snapshot(self) -> frozenset[str] | None:
        """The cache's files now, for `from_remote`; None when nothing is being watched."""
        return None if self._after_fetch is None else _files(self.path)

    def from_remote(self, since: frozenset[str] | None) -> None:
        """What the cache gained since `since` came from the remote: the remote's run-cache
        entries, or the outputs of a stage DVC restored from one of them."""
        if since is not None:
            self._from_remote |= _files(self.path) - since

    def nothing_new(self, stages: Iterable[_Stage] | None) -> bool:
        """True when a push would send nothing the remote lacks (see the module's docstring)."""
        if self._after_fetch is None or stages is None:
            return False
        if any(stage.status not in _FROM_REMOTE for stage in stages):
            return False
        return _files(self.path) <= self._after_fetch | self._from_remote
