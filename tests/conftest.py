"""Fixtures shared by every test: real git repositories and DVC projects in temp dirs."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from mlci import api as mlci_api

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """No test reads the developer's git identity, GitHub variables or MLflow settings."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "MLFLOW_", "RUNNER_")) or name in {"GH_TOKEN", "CI"}:
            mp.delenv(name, raising=False)
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for role in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{role}_NAME", "Test Author")
        mp.setenv(f"GIT_{role}_EMAIL", "author@example.com")
    mp.setenv("DVC_NO_ANALYTICS", "1")
    mp.setenv("DVC_GLOBAL_CONFIG_DIR", str(home / "dvc-global"))
    mp.setenv("DVC_SYSTEM_CONFIG_DIR", str(home / "dvc-system"))
    mp.setenv("NO_COLOR", "1")
    # the venv's bin first, so `dvc` and `python` in stage commands are this environment's
    mp.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@contextlib.contextmanager
def isolated_env(home: Path) -> Iterator[None]:
    """The per-test environment, for module-scoped fixtures (they run before it applies)."""
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        yield


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    isolate(monkeypatch, tmp_path_factory.mktemp("home"))
    # no terminal width unless a test gives one: a COLUMNS that readline put in the C-level
    # environment (not in os.environ) would reach mlci subprocesses and wrap their lines
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
        os.unsetenv(name)


def sh(*argv: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, check=check, capture_output=True, text=True)


def git(cwd: Path, *args: str) -> str:
    return sh("git", *args, cwd=cwd).stdout.strip()


def commit_all(cwd: Path, message: str) -> str:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)
    return git(cwd, "rev-parse", "HEAD")


def git_repo(path: Path, files: dict[str, str], message: str = "first") -> Path:
    """A new git repository on `main` with `files` (name -> text) in its first commit."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).write_text(text)
    commit_all(path, message)
    return path


def loaded_after(imports: str, modules: set[str]) -> list[str]:
    """Which of `modules` a fresh interpreter has loaded after `import {imports}`."""
    code = f"import sys, {imports}; print(sorted({sorted(modules)!r} & sys.modules.keys()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(yaml.safe_load(done.stdout))


def serve_mlci_repo(server: Path, tag: str) -> str:
    """A bare `mlci-dev/mlci` under `server` with an annotated `tag`; the tag's commit."""
    work = server.parent / "mlci-work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("mlci\n")
    sha = commit_all(work, "mlci")
    git(work, "tag", "-a", tag, "-m", tag)
    bare = server / "mlci-dev" / "mlci.git"
    bare.parent.mkdir(parents=True)
    git(server, "clone", "-q", "--bare", str(work), str(bare))
    return sha


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(state: Path) -> Iterator[str]:
    """`mlflow server` on a free loopback port, its whole process group stopped on exit."""
    state.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with (state / "server.log").open("w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{state / 'mlflow.db'}",
                "--default-artifact-root",
                str(state / "artifacts"),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # no background job runner: one interpreter less to start, and no test uses jobs
            env={
                **os.environ,
                "MLFLOW_ENABLE_TELEMETRY": "false",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            },
        )
        uri = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(f"{uri}/health", timeout=2) as response,  # noqa: S310
                ):
                    if response.status == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"mlflow server did not start:\n{(state / 'server.log').read_text()[-2000:]}"
                    )
                time.sleep(0.5)
            yield uri
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# A pipeline small enough to run in a second, with DVC's real semantics:
# params, deps, cached outs, a metrics file and a plots file.
TINY_DVC_YAML = """\
stages:
  double:
    cmd: python double.py
    deps: [double.py, input.txt]
    params: [double]
    outs: [work/doubled.txt]
  score:
    cmd: python score.py
    deps: [score.py, work/doubled.txt]
    params: [score]
    plots:
      - plots/curve.csv:
          x: step
          y: value
    metrics:
      - metrics.json
"""

TINY_FILES = {
    "double.py": """\
        import pathlib, yaml
        p = yaml.safe_load(open("params.yaml"))["double"]
        pathlib.Path("work").mkdir(exist_ok=True)
        numbers = [int(x) * p["factor"] for x in open("input.txt").read().split()]
        pathlib.Path("work/doubled.txt").write_text(" ".join(map(str, numbers)))
        """,
    "score.py": """\
        import json, pathlib, sys, yaml
        p = yaml.safe_load(open("params.yaml"))["score"]
        if p.get("fail"):
            print("something broke in score", file=sys.stderr)
            sys.exit(3)
        numbers = [int(x) for x in open("work/doubled.txt").read().split()]
        pathlib.Path("plots").mkdir(exist_ok=True)
        pathlib.Path("plots/curve.csv").write_text("step,value\\n" + "".join(f"{i},{n}\\n" for i, n in enumerate(numbers)))
        json.dump({"total": sum(numbers) * p["scale"], "nested": {"count": len(numbers)}}, open("metrics.json", "w"))
        """,
    "params.yaml": """\
        double:
          factor: 2
        score:
          scale: 1.5
          fail: false
        """,
    "input.txt": "1 2 3\n",
    ".gitignore": "/.mlci/\n",
}


def make_tiny_project(path: Path, *, pyproject: str = "") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    for name, text in TINY_FILES.items():
        (path / name).write_text(textwrap.dedent(text))
    (path / "dvc.yaml").write_text(TINY_DVC_YAML)
    if pyproject:
        (path / "pyproject.toml").write_text(textwrap.dedent(pyproject))
    commit_all(path, "tiny pipeline")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A real git + DVC repository with a two-stage pipeline, committed."""
    return make_tiny_project(tmp_path / "tiny")


@pytest.fixture
def make_tiny(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "proj", pyproject: str = "") -> Path:
        return make_tiny_project(tmp_path / name, pyproject=pyproject)

    return make


REFERENCE_FILES = [
    "dvc.yaml",
    "params.yaml",
    "data.dvc",
    "pyproject.toml",
    ".dvcignore",
    ".gitignore",
]


def copy_reference_project(repo: Path) -> Path:
    """This repository's reference project (pipeline, params, data version, DVC config) into `repo`."""
    repo.mkdir(parents=True, exist_ok=True)
    for name in REFERENCE_FILES:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(
        ROOT / "pipelines", repo / "pipelines", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        ROOT / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache", "config.local")
    )
    return repo


@pytest.fixture
def digits_repo(tmp_path: Path) -> Iterator[Path]:
    """A copy of this repository's reference project, as a fresh git + DVC repo."""
    repo = copy_reference_project(tmp_path / "digits")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "reference project")
    yield repo


def set_param(repo: Path, section: str, key: str, value: object) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params[section][key] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """main: a run with factor 2 committed; feature: factor 3, run, committed."""
    remote = tmp_path / "remote"
    repo = make_tiny_project(
        tmp_path / "repo", pyproject=f'[tool.mlci.dvc]\nembedded_remote = "{remote}"\n'
    )
    mlci_api.run(repo, tracking_enabled=False)
    commit_all(repo, "baseline run")
    git(repo, "checkout", "-q", "-b", "feature")
    set_param(repo, "double", "factor", 3)
    mlci_api.run(repo, tracking_enabled=False)
    commit_all(repo, "factor 3")
    return repo
