"""Every git call goes through here. Nothing else imports GitPython."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping
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


def _git(path: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=path,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            # no optional locks: `git status` must not rewrite the index (a dry run writes nothing)
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", **(env or {})},
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"git {args[0]} gave no answer in {timeout:.0f} s") from None
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


def worktree_files(path: Path) -> list[str] | None:
    """The working tree's files git tracks or would (ignored ones left out); None outside git."""
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        return None
    return sorted({name for name in done.stdout.split("\0") if name and (path / name).exists()})


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


# --- branches written without touching the workspace (mlci retrain) -------------------


def add_worktree(path: Path, where: Path, rev: str) -> None:
    """A detached worktree of `rev` at `where`: mlci writes there, the user's checkout stays as is."""
    _git(path, "worktree", "add", "--quiet", "--detach", str(where), rev)


def export_tree(path: Path, rev: str, where: Path) -> None:
    """The files of `rev` at `where`, leaving the repository untouched (no worktree, no lock):
    what a dry run reads from."""
    import tarfile

    where.mkdir(parents=True, exist_ok=True)
    archive = where.parent / f".{where.name}.tar"
    _git(path, "archive", "--format=tar", "-o", str(archive), rev)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(where, filter="data")
    finally:
        archive.unlink(missing_ok=True)


def remove_worktree(path: Path, where: Path) -> None:
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(where)],
        cwd=path,
        capture_output=True,
        check=False,
    )
    subprocess.run(["git", "worktree", "prune"], cwd=path, capture_output=True, check=False)


ACTIONS_BOT_IDENTITY = {
    "GIT_AUTHOR_NAME": "github-actions[bot]",
    "GIT_AUTHOR_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "github-actions[bot]",
    "GIT_COMMITTER_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
}


def has_identity(path: Path) -> bool:
    """Whether git knows who commits (user.email, or GIT_COMMITTER_EMAIL / EMAIL set)."""
    if os.environ.get("GIT_COMMITTER_EMAIL") or os.environ.get("EMAIL"):
        return True
    done = subprocess.run(
        ["git", "config", "--get", "user.email"], cwd=path, capture_output=True, check=False
    )
    return done.returncode == 0 and bool(done.stdout.strip())


def token_auth(
    path: Path, token: str | None, server_url: str = "https://github.com"
) -> dict[str, str]:
    """Environment that makes git send `token` to `server_url` (as actions/checkout does), without
    putting it on a command line or in a config file. {} without a token, or when the checkout
    already has such a header (persisted credentials): GitHub refuses two."""
    if not token:
        return {}
    configured = subprocess.run(
        ["git", "config", "--get-regexp", r"^http\..*\.extraheader$"],
        cwd=path,
        capture_output=True,
        check=False,
    )
    if configured.returncode == 0 and configured.stdout.strip():
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server_url.rstrip('/')}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


def commit_paths(
    path: Path, paths: list[str], message: str, *, env: Mapping[str, str] | None = None
) -> str:
    """Stage `paths` and commit them (in `path`, a checkout or worktree); the new commit's sha."""
    _git(path, "add", "--", *paths)
    try:
        _git(path, "commit", "--quiet", "--no-verify", "-m", message, env=env)
    except ServiceError as exc:
        if "tell me who you are" in exc.message.lower() or "user.email" in exc.message:
            raise UsageError(
                "git needs an identity to commit",
                hint='git config user.name "Your Name" && git config user.email you@example.com',
            ) from None
        raise
    return _git(path, "rev-parse", "HEAD").strip()


def trailer(path: Path, rev: str, key: str) -> str:
    """The value of the trailer `key` in the message of commit `rev` ('' when it has none)."""
    return _git(path, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev).strip()


def set_branch(path: Path, branch: str, sha: str) -> None:
    """Point the local branch `branch` at `sha` (created, or moved)."""
    _git(path, "branch", "--force", "--no-track", branch, sha)


def remote_branch(
    path: Path, branch: str, *, remote: str = "origin", env: Mapping[str, str] | None = None
) -> str | None:
    """The commit `branch` points at on `remote`, or None when the remote has no such branch."""
    found = _git(path, "ls-remote", "--heads", remote, f"refs/heads/{branch}", env=env, timeout=120)
    first = found.split()
    return first[0] if first else None


def push_branch(
    path: Path, branch: str, *, remote: str = "origin", env: Mapping[str, str] | None = None
) -> None:
    try:
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"
        _git(path, "push", "--quiet", remote, refspec, env=env, timeout=300)
    except ServiceError as exc:
        raise ServiceError(
            exc.message.replace("\n", " "),
            hint=f"the branch exists locally; push it with `git push {remote} {branch}`",
        ) from None


def remote_ref(url: str, ref: str, *, timeout: float = 20.0) -> str:
    """The commit a tag or branch `ref` names in the repository at `url` (tags peeled).

    Raises ServiceError when the repository cannot be read in `timeout` seconds or has no
    such ref; git never prompts for credentials here.
    """
    wanted = [f"refs/tags/{ref}", f"refs/tags/{ref}^{{}}", f"refs/heads/{ref}"]
    try:
        done = subprocess.run(
            ["git", "ls-remote", url, *wanted],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"git ls-remote {url}: no answer in {timeout:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise ServiceError(f"git ls-remote {url}: {last}")
    found = {}
    for line in done.stdout.splitlines():
        sha, _, name = line.partition("\t")
        found[name.strip()] = sha.strip()
    for name in (wanted[1], wanted[0], wanted[2]):  # an annotated tag's commit first
        if name in found:
            return found[name]
    raise ServiceError(f"{url} has no tag or branch {ref!r}")
