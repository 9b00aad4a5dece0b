"""One client per DVC remote while mlci works with one repository in process.

DVC builds its remote's filesystem (for S3 a new botocore session and client) afresh
each time it talks to the remote: once for the fetch, once more for every stage it
restores from the run-cache (each restore pulls that stage's outputs on its own), and
again for the push. Each S3 client costs 0.1 to 0.3 s to set up (botocore reads its
service description again), which on a run that restores many stages is most of its
time. While `remote_once` is active, the filesystem of a remote is built once and
reused by every remote DVC builds with the same configuration (the same class and
remote section: the same URL, endpoint, credentials and options), within the one run.
A filesystem whose configuration cannot be compared is not shared: DVC builds it as
before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["remote_once"]


def _key(fs: Any) -> str | None:
    """The filesystem's class and configuration (the remote's section of DVC's config, as
    DVC built the filesystem from it), or None when they cannot be compared."""
    try:
        arguments = json.dumps(getattr(fs, "config", None), sort_keys=True)
    except (TypeError, ValueError):
        return None
    return f"{type(fs).__module__}.{type(fs).__qualname__} {arguments}"


@contextmanager
def remote_once() -> Iterator[None]:
    from dvc.data_cloud import DataCloud

    original: Callable[..., Any] = DataCloud.get_remote
    kept: dict[str, Any] = {}  # _key -> the first filesystem built with it

    def get_remote(self: Any, name: str | None = None, command: str = "<command>") -> Any:
        remote = original(self, name, command)  # DVC's own errors; its own Remote
        key = _key(remote.fs)
        if key is not None:
            # before anything built on it (the Remote's object databases are made lazily)
            remote.fs = kept.setdefault(key, remote.fs)
        return remote

    DataCloud.get_remote = get_remote
    try:
        yield
    finally:
        DataCloud.get_remote = original
