"""Whether a run left anything in the local DVC cache that its remote may lack.

A fresh runner's cache starts empty; whatever a complete fetch then put there came
from the remote. If the stages neither ran nor were restored from the run-cache and
the cache holds exactly what the fetch brought, a push would send nothing: every
object dvc.lock names is on the remote already (the fetch found them all), and no
run-cache entry was written. In any other case (a cache that held objects before,
an object the remote lacked, a new file) the push runs as `dvc push` would.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

__all__ = ["CacheWatch"]


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

    def fetched(self, *, complete: bool) -> None:
        """Call after the fetch; `complete`: the remote had every object asked for."""
        if self.was_empty and complete:
            self._after_fetch = _files(self.path)

    def nothing_new(self, stages: Iterable[_Stage] | None) -> bool:
        """True when a push would send nothing the remote lacks (see the module's docstring)."""
        if self._after_fetch is None or stages is None:
            return False
        if any(stage.status != "unchanged" for stage in stages):
            return False
        return _files(self.path) == self._after_fetch
