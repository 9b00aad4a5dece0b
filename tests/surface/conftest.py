"""The installed `mlci`, run as a subprocess the way a user types it, and what every run must show."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BIN, commit_all, copy_reference_project, git, git_repo, sh

MLCI = BIN / "mlci"
ERROR_PREFIXES = ("error:", "Error:")


@dataclass
class Ran:
    argv: list[str]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"$ mlci {' '.join(self.argv)}\nexit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith(ERROR_PREFIXES)]


def mlci(
    *argv: str | Path,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    stdout: int | None = None,
    timeout: float = 300,
) -> Ran:
    """Run the installed console script; `env` entries set to None are removed."""
    environ = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    args = [str(a) for a in argv]
    done = subprocess.run(
        [str(MLCI), *args],
        cwd=cwd,
        env=environ,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )
    out = done.stdout.decode("utf-8", "replace") if done.stdout else ""
    return Ran(args, done.returncode, out, done.stderr.decode("utf-8", "replace"))


def check(ran: Ran, code: int | Sequence[int], *names: str) -> Ran:
    """What every run must show: the documented exit code, never 4 (a bug), never a traceback;
    a failure says so in one `error:` line naming each of `names`."""
    codes = (code,) if isinstance(code, int) else tuple(code)
    assert "Traceback (most recent call last)" not in ran.out + ran.err, ran
    assert ran.code != 4, ran
    assert ran.code in codes, ran
    if ran.code in (2, 3):
        assert len(ran.errors) == 1, ran
        for name in names:
            assert name in ran.errors[0], f"{name!r} not named in the error line\n{ran}"
    return ran


def _tag(repo: Path, name: str, ref: str = "HEAD") -> None:
    git(repo, "tag", "-a", name, "-m", f"Registry tag {name}", ref)


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    """(a) a copy of this repository's reference project, committed (data not pulled)."""
    repo = copy_reference_project(tmp_path / "digits")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "reference project")
    return repo


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """(b) what a user has right after `git init` and `dvc init`: no commit, no pipeline."""
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
    return repo


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """(c) a GTO registry: two versions of `model` (v1.0.0 in prod), one of `other`."""
    repo = git_repo(tmp_path / "tagged", {"model.txt": "one\n"}, "one")
    _tag(repo, "model@v1.0.0")
    _tag(repo, "model#staging#1")
    _tag(repo, "model#prod#2")
    _tag(repo, "other@v0.1.0")
    (repo / "model.txt").write_text("two\n")
    commit_all(repo, "two")
    _tag(repo, "model@v1.1.0")
    (repo / "model.txt").write_text("three\n")
    commit_all(repo, "three")
    return repo


@pytest.fixture
def write() -> Callable[[Path, str, str], Path]:
    def put(repo: Path, name: str, text: str) -> Path:
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return put
