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


_NO_REPO_HINT = "run mlci inside a git checkout (git init)"


def _run(
    path: Path | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    silent: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run git in `path` and return what it did, whatever its exit status.

    The one place git is started. A missing directory is bad input; no git, or no
    answer in `timeout` seconds (said by `silent`, if given), is an outside tool failing.
    """
    if path is not None and not path.is_dir():
        raise UsageError(f"no such directory: {path}")
    try:
        return subprocess.run(
            ["git", *args],
            cwd=path,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
            timeout=timeout,
            # no optional locks: `git status` must not rewrite the index (a dry run writes nothing)
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", **(env or {})},
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(silent or f"git {args[0]} gave no answer in {timeout:.0f} s") from None
    except FileNotFoundError:
        raise ServiceError("git failed: is it installed and on PATH?") from None


def _git(
    path: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    hint: str = _NO_REPO_HINT,
) -> str:
    """git's output; outside a repository a UsageError (with `hint`), any other failure a
    ServiceError."""
    done = _run(path, *args, env=env, timeout=timeout)
    _check_repo(path, done, hint)
    if done.returncode != 0:
        raise ServiceError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _check_repo(
    path: Path, done: subprocess.CompletedProcess[str], hint: str = _NO_REPO_HINT
) -> None:
    if done.returncode != 0 and "not a git repository" in done.stderr:
        raise UsageError(f"not a git repository: {path}", hint=hint)


def _needs_identity(stderr: str) -> bool:
    return any(
        text in stderr.lower() for text in ("tell me who you are", "empty ident", "user.email")
    )


_IDENTITY_HINT = 'git config user.name "Your Name" && git config user.email you@example.com'


def head(path: Path) -> Head:
    # one `git status` call instead of GitPython: this runs on every `mlci run`
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
    done = _run(path, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if done.returncode != 0:
        return None
    return sorted({name for name in done.stdout.split("\0") if name and (path / name).exists()})


def resolve(path: Path, rev: str) -> str | None:
    """The commit a revision names, or None when it does not exist here."""
    if rev.startswith("-"):
        return None  # an option, not a revision (no ref name starts with '-')
    done = _run(path, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def fetch(path: Path, ref: str, *, remote: str = "origin", depth: int | None = 1) -> bool:
    """Fetch one commit or ref (what a shallow CI clone lacks); False when the remote has none."""
    args = ["fetch", "--quiet", "--no-tags", *([f"--depth={depth}"] if depth else []), remote, ref]
    return _run(path, *args, timeout=300).returncode == 0


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
    done = _run(path, "merge-base", a, b)
    return done.stdout.strip() or None if done.returncode == 0 else None


def default_branch(path: Path, remote: str = "origin") -> str:
    done = _run(path, "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD")
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
    _run(path, "worktree", "remove", "--force", str(where))
    _run(path, "worktree", "prune")


# --- tags: the model registry's store (mlci/registry) -----------------------------------

_TAGS_HINT = "the model registry lives in git tags"


def tag_refs(path: Path, fmt: str) -> str:
    """`git for-each-ref --format=FMT refs/tags`: every tag, read in one call."""
    return _git(path, "for-each-ref", f"--format={fmt}", "refs/tags", hint=_TAGS_HINT)


def create_tag(
    path: Path, tag: str, commit: str, message: str, *, env: Mapping[str, str] | None = None
) -> None:
    """An annotated tag `tag` on `commit` (its date and tagger may come in `env`)."""
    done = _run(path, "tag", "-a", "-m", message, "--", tag, commit, env=env)
    _check_repo(path, done, _TAGS_HINT)
    if done.returncode != 0:
        stderr = done.stderr.strip()
        if _needs_identity(stderr):
            raise UsageError("git needs an identity to write the tag", hint=_IDENTITY_HINT)
        raise ServiceError(f"git tag {tag} failed: {stderr}")


def delete_tag(path: Path, tag: str) -> None:
    _git(path, "tag", "-d", "--", tag, hint=_TAGS_HINT)


def push_tag(
    path: Path, tag: str, *, remote: str = "origin", env: Mapping[str, str] | None = None
) -> None:
    """`git push REMOTE refs/tags/TAG`; a failure is a ServiceError (the tag stays local)."""
    done = _run(path, "push", remote, f"refs/tags/{tag}", env=env, timeout=300)
    _check_repo(path, done, _TAGS_HINT)
    if done.returncode != 0:
        raise ServiceError(
            f"git push {remote} {tag} failed: {done.stderr.strip()}",
            hint=f"the tag exists locally; push it with `git push {remote} {tag}`",
        )


def is_ancestor(path: Path, commit: str, ref: str) -> bool:
    """Whether `commit` is on the history of `ref` (`git merge-base --is-ancestor`)."""
    done = _run(path, "merge-base", "--is-ancestor", commit, ref)
    _check_repo(path, done, _TAGS_HINT)
    if done.returncode in (0, 1):
        return done.returncode == 0
    raise ServiceError(f"git merge-base --is-ancestor failed: {done.stderr.strip()}")


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
    done = _run(path, "config", "--get", "user.email")
    return done.returncode == 0 and bool(done.stdout.strip())


def token_auth(
    path: Path, token: str | None, server_url: str = "https://github.com"
) -> dict[str, str]:
    """Environment that makes git send `token` to `server_url` (as actions/checkout does), without
    putting it on a command line or in a config file. {} without a token, or when the checkout
    already has such a header (persisted credentials): GitHub refuses two."""
    if not token:
        return {}
    configured = _run(path, "config", "--get-regexp", r"^http\..*\.extraheader$")
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
        if _needs_identity(exc.message):
            raise UsageError("git needs an identity to commit", hint=_IDENTITY_HINT) from None
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
    done = _run(
        None,
        "ls-remote",
        url,
        *wanted,
        env={"GIT_TERMINAL_PROMPT": "0"},
        timeout=timeout,
        silent=f"git ls-remote {url}: no answer in {timeout:.0f} s",
    )
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
