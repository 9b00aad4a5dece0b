"""DVC's `Repo`, opened in process with the remote mlci chose, and the pipeline check."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.dvc.capture import dvc_logs
from mlci.dvc.messages import dvc_message
from mlci.dvc.yamlcache import parsed_once
from mlci.errors import UsageError

if TYPE_CHECKING:
    from dvc.repo import Repo

__all__ = [
    "EMBEDDED_REMOTE",
    "Remote",
    "check_pipeline",
    "describe_remote",
    "open_repo",
    "opened",
    "remote_overrides",
]

EMBEDDED_REMOTE = "mlci-embedded"


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    embedded: bool = False
    endpoint: str = ""  # an S3-compatible server's `endpointurl`


def describe_remote(remote: Remote) -> str:
    where = f"{remote.url} at {remote.endpoint}" if remote.endpoint else remote.url
    return f"DVC remote '{remote.name}' ({where})"


def remote_overrides(remote: Remote | None) -> dict[str, Any]:
    """DVC config overrides that make an embedded remote (one no config file names) the default."""
    if remote and remote.embedded:
        return {"remote": {remote.name: {"url": remote.url}}, "core": {"remote": remote.name}}
    return {}


def open_repo(root: Path, remote: Remote | None = None) -> Repo:
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    try:
        return Repo(str(root), config=remote_overrides(remote) or None)
    except NotDvcRepoError:
        raise UsageError(f"not a DVC repository: {root}", hint="run `dvc init` first") from None


@contextmanager
def opened(root: Path, remote: Remote | None = None) -> Iterator[Repo]:
    """The DVC repository at `root`, opened in process from its root, DVC's logs kept quiet.

    For readers of DVC's own objects (its index and stage graph, the run-cache), under
    the repository's lock: `mlci plan`. A pipeline DVC refuses raises UsageError (exit 2).
    """
    from dvc.exceptions import DvcException
    from dvc.repo import lock_repo

    with contextlib.chdir(root), dvc_logs(), parsed_once():
        repo = open_repo(root, remote)
        try:
            with lock_repo(repo):  # as DVC's own commands hold it while they read stages
                yield repo
        except DvcException as exc:
            raise UsageError(dvc_message(exc)) from None
        finally:
            repo.close()


def check_pipeline(root: Path) -> None:
    """Load every stage as DVC does (schema, templating): DVC's complaint raises (exit 2)."""
    from dvc.exceptions import DvcException

    repo = open_repo(root)
    try:
        repo.index.stages  # noqa: B018 (loading is the check)
    except DvcException as exc:
        raise UsageError(dvc_message(exc)) from None
    finally:
        repo.close()
