"""DVC-tracked outputs outside `mlci run`: fetched into the cache, exported as of a commit,
and new data versions added and pushed (`mlci retrain`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.dvc.capture import dvc_logs
from mlci.dvc.messages import first_line
from mlci.dvc.project import load_yaml
from mlci.dvc.remotes import check_remote
from mlci.dvc.repo import Remote, describe_remote, open_repo, remote_overrides
from mlci.errors import MlciError, ServiceError, UsageError

__all__ = ["TrackedOut", "add_and_push", "export_output", "fetch_outputs", "tracked_out"]


def fetch_outputs(root: Path, remote: Remote | None, sha: str | None, paths: list[str]) -> int:
    """Download the cached outputs `paths` of a revision into the local cache (not the workspace)."""
    from dvc.exceptions import DownloadError

    if remote is None:
        return 0
    with contextlib.chdir(root), dvc_logs():
        # the remote as configured now, also for a revision whose config did not have it yet
        # (a relative local URL is only meaningful in its config file: left as it is)
        absolute = "://" in remote.url or Path(remote.url).is_absolute()
        repo = open_repo(
            root, Remote(remote.name, remote.url, embedded=True) if absolute else remote
        )
        try:
            return int(
                repo.fetch(
                    targets=paths,
                    remote=remote.name,
                    revs=[sha] if sha else None,
                    workspace=sha is None,
                )
            )
        except DownloadError as exc:
            return -int(exc.amount)
        except Exception as exc:
            raise ServiceError(
                f"fetch from {describe_remote(remote)} failed: {first_line(exc)}"
            ) from None
        finally:
            repo.close()


def export_output(
    root: Path, remote: Remote | None, sha: str | None, path: str, dest: Path
) -> Path:
    """Copy the DVC-tracked output `path` as of commit `sha` to `dest` (local cache, else the remote)."""
    from dvc.fs import DVCFileSystem

    overrides = remote_overrides(remote)
    target = dest / Path(path).name
    with contextlib.chdir(root), dvc_logs():
        try:
            fs = DVCFileSystem(url=str(root), rev=sha, config=overrides or None)
            if not fs.exists(path):
                raise UsageError(f"{path} is not tracked by DVC at {(sha or 'the workspace')[:8]}")
            fs.get(path, str(target), recursive=fs.isdir(path))
        except MlciError:
            raise
        except Exception as exc:
            where = describe_remote(remote) if remote else "no remote configured"
            raise UsageError(
                f"{path} at {(sha or 'the workspace')[:8]} is in neither the local DVC cache nor the remote"
                f" ({where}): {first_line(exc)}"
            ) from None
    return target


@dataclass(frozen=True)
class TrackedOut:
    dvcfile: str  # relative to the root, e.g. data.dvc
    out: str  # the tracked path, e.g. data (a folder holding the dataset) or data/x.csv
    md5: str  # as recorded in the .dvc file ('' when it has none)


def tracked_out(root: Path, path: str) -> TrackedOut | None:
    """The `.dvc` file that tracks `path` (the file itself or a folder above it), else None.

    Looks where `dvc add` puts them: `<out>.dvc` beside the file or folder it tracks.
    """
    parts = Path(path).parts
    for end in range(len(parts), 0, -1):
        out = Path(*parts[:end]).as_posix()
        dvcfile = root / f"{out}.dvc"
        if not dvcfile.is_file():
            continue
        document = load_yaml(dvcfile, root=root) or {}
        outs = document.get("outs") if isinstance(document, dict) else None
        for entry in outs or []:
            if not isinstance(entry, dict):
                continue
            declared = (Path(out).parent / str(entry.get("path", ""))).as_posix()
            if declared == out:
                return TrackedOut(f"{out}.dvc", out, str(entry.get("md5") or ""))
    return None


def _worktree_overrides(root: Path, remote: Remote | None) -> dict[str, Any]:
    """DVC settings for a git worktree of `root`: the same cache and remotes (config.local
    included, which a worktree does not have), local paths already made absolute by DVC."""
    from dvc.config import Config as DvcConfig

    config = DvcConfig(str(root / ".dvc"))
    cache_dir = config.get("cache", {}).get("dir") or str(root / ".dvc" / "cache")
    overrides: dict[str, Any] = {"cache": {"dir": str(cache_dir)}}
    if remote is not None:
        settings = dict(config.get("remote", {}).get(remote.name, {}))
        settings["url"] = remote.url
        overrides["remote"] = {remote.name: settings}
        overrides["core"] = {"remote": remote.name}
    return overrides


def add_and_push(worktree: Path, out: str, *, root: Path, remote: Remote | None) -> int:
    """`dvc add OUT` in a git worktree of `root` (sharing its cache), then `dvc push OUT`.

    Returns how many objects were sent; no push when `remote` is None.
    """
    from dvc.exceptions import DvcException, UploadError
    from dvc.repo import Repo

    overrides = _worktree_overrides(root, remote)
    with contextlib.chdir(worktree), dvc_logs():
        repo = Repo(str(worktree), config=overrides)
        try:
            repo.scm_context.quiet = True
            try:
                repo.add([out])
            except DvcException as exc:
                raise UsageError(f"dvc add {out}: {first_line(exc)}") from None
            if remote is None:
                return 0
            check_remote(root, remote, create=True)
            try:
                return int(repo.push(targets=[out], remote=remote.name))
            except UploadError as exc:
                raise ServiceError(
                    f"push to {describe_remote(remote)} failed: {exc.amount} objects not sent"
                ) from None
            except Exception as exc:
                raise ServiceError(
                    f"push to {describe_remote(remote)} failed: {first_line(exc)}"
                ) from None
        finally:
            repo.close()
