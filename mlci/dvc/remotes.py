"""Which DVC remote a run uses, and whether it answers (an unreachable one exits 3)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.dvc.messages import first_line
from mlci.dvc.repo import EMBEDDED_REMOTE, Remote, describe_remote, open_repo
from mlci.errors import ServiceError, UsageError

if TYPE_CHECKING:
    from dvc.repo import Repo

__all__ = ["check_remote", "resolve_remote"]


def resolve_remote(root: Path, name: str, embedded_dir: str) -> Remote | None:
    """The remote to use: `name` if given, else DVC's default, else the embedded directory."""
    from dvc.config import Config as DvcConfig
    from dvc.config import ConfigError as DvcConfigError

    if not (root / ".dvc").is_dir():
        raise UsageError(f"not a DVC repository: {root}", hint="run `dvc init` first")
    try:
        config = DvcConfig(str(root / ".dvc"))
    except DvcConfigError as exc:
        raise UsageError(f".dvc/config: {exc}") from None
    remotes: dict[str, Any] = config.get("remote", {})
    if name:
        if name not in remotes:
            known = ", ".join(sorted(remotes)) or "none"
            raise UsageError(
                f"[tool.mlci] dvc.remote = '{name}': no such DVC remote (known: {known})"
            )
        return _configured(name, remotes[name])
    default = config.get("core", {}).get("remote")
    if default:
        if default not in remotes:
            raise UsageError(f".dvc/config: core.remote = '{default}' names no remote")
        return _configured(default, remotes[default])
    if embedded_dir:
        path = Path(embedded_dir)
        path = path if path.is_absolute() else root / path
        return Remote(name=EMBEDDED_REMOTE, url=str(path), embedded=True)
    return None


def _configured(name: str, section: Any) -> Remote:
    return Remote(
        name=name, url=str(section.get("url", "")), endpoint=str(section.get("endpointurl", ""))
    )


def check_remote(
    root: Path, remote: Remote, *, create: bool = False, repo: Repo | None = None
) -> bool:
    """Whether the remote answers; an unreachable one raises ServiceError (exit 3).

    `repo`: a DVC repository already open on `root` (its remote's filesystem is reused);
    without one, a repository is opened and closed for the check.
    """
    if remote.embedded:
        path = Path(remote.url)
        if create:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ServiceError(
                    f"{describe_remote(remote)} is unusable: {exc.strerror}"
                ) from None
        return path.is_dir()
    if remote.url.startswith(("http://", "https://")):
        # DVC's HTTP filesystem reports a refused connection as "file not found"
        return _http_answers(remote)
    opened = open_repo(root, remote) if repo is None else repo
    try:
        odb = opened.cloud.get_remote_odb(remote.name)
        return bool(odb.fs.exists(odb.path))
    except Exception as exc:  # network and auth errors come in many types
        raise ServiceError(f"{describe_remote(remote)} is unreachable: {first_line(exc)}") from None
    finally:
        if repo is None:
            opened.close()


def _http_answers(remote: Remote, timeout: float = 5.0) -> bool:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(remote.url, method="HEAD")  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True  # it answered; a 404 on the root of a remote is normal
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(f"{describe_remote(remote)} is unreachable: {reason}") from None
