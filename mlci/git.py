"""Every git call goes through here. Nothing else imports GitPython."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlci.errors import ServiceError, UsageError

if TYPE_CHECKING:
    import git as gitpython

__all__ = ["Head", "head", "open_repo", "toplevel"]


@dataclass(frozen=True)
class Head:
    sha: str | None  # None in a repository with no commit yet
    branch: str | None  # None on a detached HEAD
    dirty: bool


def open_repo(path: Path) -> gitpython.Repo:
    import git as gitpython

    try:
        return gitpython.Repo(path, search_parent_directories=True)
    except gitpython.InvalidGitRepositoryError:
        raise UsageError(
            f"not a git repository: {path}", hint="run mlci inside a git checkout (git init)"
        ) from None
    except gitpython.NoSuchPathError:
        raise UsageError(f"no such directory: {path}") from None
    except gitpython.GitCommandNotFound:
        raise ServiceError("git failed: is it installed and on PATH?") from None


def _git(path: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=path, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise ServiceError("git failed: is it installed and on PATH?") from None
    except NotADirectoryError:
        raise UsageError(f"no such directory: {path}") from None
    if done.returncode != 0:
        if "not a git repository" in done.stderr:
            raise UsageError(
                f"not a git repository: {path}", hint="run mlci inside a git checkout (git init)"
            )
        raise ServiceError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def head(path: Path) -> Head:
    # one `git status` call instead of GitPython: this runs on every `mlci run`
    if not path.is_dir():
        raise UsageError(f"no such directory: {path}")
    sha: str | None = None
    branch: str | None = None
    dirty = False
    for line in _git(
        path, "status", "--porcelain=v2", "--branch", "--untracked-files=no"
    ).splitlines():
        if line.startswith("# branch.oid "):
            oid = line.removeprefix("# branch.oid ")
            sha = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            name = line.removeprefix("# branch.head ")
            branch = None if name == "(detached)" else name
        elif not line.startswith("#"):
            dirty = True
    return Head(sha=sha, branch=branch, dirty=dirty)


def toplevel(path: Path) -> Path:
    if not path.is_dir():
        raise UsageError(f"no such directory: {path}")
    return Path(_git(path, "rev-parse", "--show-toplevel").strip())


class CommitReader:
    """Files of one commit, read from git objects (no checkout)."""

    def __init__(self, path: Path, sha: str) -> None:
        import git as gitpython

        self._root = path
        self._sha = sha
        self._repo = open_repo(path)
        try:
            self._tree = self._repo.commit(sha).tree
        except (gitpython.BadName, ValueError):
            raise UsageError(f"unknown revision: {sha}") from None

    def read(self, relpath: str) -> bytes | None:
        try:
            blob = self._tree / relpath
        except KeyError:
            return None
        if blob.type != "blob":
            return None
        data: bytes = blob.data_stream.read()
        return data

    def files(self, suffix: str) -> list[str]:
        listing = _git(self._root, "ls-tree", "-r", "--name-only", "-z", self._sha)
        return sorted(name for name in listing.split("\0") if name.endswith(suffix))


def resolve(path: Path, rev: str) -> str | None:
    """The commit a revision names, or None when it does not exist here."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def fetch(path: Path, ref: str, *, remote: str = "origin", depth: int | None = 1) -> bool:
    """Fetch one commit or ref (what a shallow CI clone lacks); False when the remote has none."""
    args = ["fetch", "--quiet", "--no-tags", *([f"--depth={depth}"] if depth else []), remote, ref]
    done = subprocess.run(
        ["git", *args], cwd=path, capture_output=True, text=True, check=False, timeout=300
    )
    return done.returncode == 0


def resolve_or_fetch(path: Path, rev: str, *, remote: str = "origin") -> str:
    """Resolve `rev`, fetching it from `remote` first when a (shallow) clone lacks it."""
    if sha := resolve(path, rev):
        return sha
    # `origin/main` is fetched as `main`; a full sha is fetched as itself
    ref = rev.removeprefix(f"{remote}/")
    if fetch(path, f"+refs/heads/{ref}:refs/remotes/{remote}/{ref}") and (
        sha := resolve(path, rev)
    ):
        return sha
    if fetch(path, ref) and (sha := resolve(path, "FETCH_HEAD")):
        return sha
    raise UsageError(
        f"unknown revision: {rev}", hint="check the name, or fetch it: git fetch origin"
    )


def merge_base(path: Path, a: str, b: str) -> str | None:
    done = subprocess.run(
        ["git", "merge-base", a, b], cwd=path, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def default_branch(path: Path, remote: str = "origin") -> str:
    done = subprocess.run(
        ["git", "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD"],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )
    name = done.stdout.strip()
    return name.removeprefix(f"{remote}/") if done.returncode == 0 and name else "main"
