"""Throwaway copies of the reference project, each its own git repository."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

from benchmarks.harness import Shell

FILES = ("dvc.yaml", "params.yaml", "data.dvc", "pyproject.toml", ".dvcignore", ".gitignore")
DIRS = {"pipelines": ("__pycache__",), ".dvc": ("tmp", "cache", "config.local")}
_DVC_TABLE = "[tool.mlci.dvc]"
_EMBEDDED_KEY = re.compile(r"^embedded_remote\s*=.*$", re.MULTILINE)


def missing_files(repo: Path) -> list[str]:
    return [name for name in (*FILES, *DIRS) if not (repo / name).exists()]


def copy_reference(repo: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(repo / name, dest / name)
    for name, skipped in DIRS.items():
        shutil.copytree(repo / name, dest / name, ignore=shutil.ignore_patterns(*skipped))


def set_embedded_remote(project: Path, remote: Path) -> None:
    """Point `[tool.mlci.dvc] embedded_remote` of the project's pyproject.toml at `remote`."""
    path = project / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    line = f"embedded_remote = {json.dumps(str(remote))}"
    if _DVC_TABLE not in text:
        text = f"{text.rstrip()}\n\n{_DVC_TABLE}\n{line}\n"
    elif _EMBEDDED_KEY.search(text):
        text = _EMBEDDED_KEY.sub(lambda _m: line, text, count=1)
    else:
        text = text.replace(_DVC_TABLE, f"{_DVC_TABLE}\n{line}", 1)
    path.write_text(text, encoding="utf-8")
    table = tomllib.loads(text)["tool"]["mlci"]["dvc"]
    assert table["embedded_remote"] == str(remote), table


def generate_data(shell: Shell, project: Path) -> None:
    # data/ is not in git; data.dvc names these bytes, and the first run caches them
    shell.run(["python", "-m", "pipelines.digits.data"], project)


def commit_all(shell: Shell, project: Path, message: str) -> None:
    shell.run(["git", "add", "-A"], project)
    shell.run(["git", "commit", "--quiet", "--allow-empty", "-m", message], project)


def new_repo(shell: Shell, repo: Path, dest: Path, remote: Path) -> Path:
    """A committed copy of the reference project whose embedded remote is `remote`."""
    copy_reference(repo, dest)
    set_embedded_remote(dest, remote)
    shell.run(["git", "init", "--quiet", "-b", "main"], dest)
    generate_data(shell, dest)
    commit_all(shell, dest, "reference project")
    return dest


def clone(shell: Shell, source: Path, dest: Path) -> Path:
    shell.run(["git", "clone", "--quiet", str(source), str(dest)], source.parent)
    return dest


def read_stages(project: Path) -> list[dict[str, object]]:
    record = json.loads((project / ".mlci" / "run.json").read_text(encoding="utf-8"))
    stages: list[dict[str, object]] = record["stages"]
    return stages
