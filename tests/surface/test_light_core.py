"""`pip install mlci`, the light core, in a virtualenv that holds nothing else.

The venv holds only `[project] dependencies`, installed by pip from the configured index;
mlci itself comes from this checkout (PYTHONPATH), so the venv is built once per set of
dependencies and kept under .pytest_cache/ (about a minute and a half the first time).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, commit_all, git
from tests.surface.conftest import Ran, check

pytestmark = pytest.mark.slow

HEAVY = ["dvc", "mlflow", "great_expectations", "bentoml", "gto", "pandas", "numpy", "pyspark"]


def _core_venv() -> Path:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256(json.dumps([sys.version, dependencies]).encode()).hexdigest()[:12]
    cache = ROOT / ".pytest_cache" / "mlci-light-core"
    venv = cache / key
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers build it once between them
        if not (venv / "ready").exists():
            shutil.rmtree(venv, ignore_errors=True)  # a build cut short
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *dependencies],
                capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            assert pip.returncode == 0, f"pip install of the core failed:\n{pip.stderr[-3000:]}"
            (venv / "ready").write_text("")
    return venv


@pytest.fixture(scope="session")
def core() -> Iterator[Path]:
    yield _core_venv() / "bin" / "python"


def core_mlci(python: Path, *argv: str | Path, cwd: Path) -> Ran:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's mlci, the venv's libraries only
    env["PATH"] = f"{python.parent}{os.pathsep}/usr/bin{os.pathsep}/bin"  # no other venv's dvc
    args = [str(a) for a in argv]
    done = subprocess.run(
        [str(python), "-m", "mlci", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return Ran(args, done.returncode, done.stdout, done.stderr)


def test_the_venv_holds_the_core_alone(core: Path) -> None:
    probe = (
        "import importlib.util as u, json; print(json.dumps({m: bool(u.find_spec(m)) for m in %r}))"
    )
    done = subprocess.run(
        [str(core), "-c", probe % HEAVY], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == dict.fromkeys(HEAVY, False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A pipeline whose metrics and params git tracks: what `report` reads without DVC."""
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("")
    (repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python train.py\n    params: [lr]\n"
        "    metrics:\n      - metrics.json:\n          cache: false\n"
    )
    (repo / "params.yaml").write_text("lr: 0.1\n")
    (repo / "metrics.json").write_text('{"accuracy": 0.90}')
    commit_all(repo, "baseline")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "params.yaml").write_text("lr: 0.2\n")
    (repo / "metrics.json").write_text('{"accuracy": 0.93}')
    commit_all(repo, "better")
    return repo


def test_what_the_core_does(core: Path, project: Path) -> None:
    check(core_mlci(core, "--help", cwd=project), 0)
    ran = check(core_mlci(core, "config", cwd=project), 0)
    assert "state_dir" in ran.out
    ran = check(core_mlci(core, "report", "--base", "main", cwd=project), 0)
    assert "accuracy" in ran.out and "0.93" in ran.out, ran
    ran = check(core_mlci(core, "report", "--base", "main", "--format", "json", cwd=project), 0)
    (project / "saved.json").write_text(ran.out)
    ran = check(core_mlci(core, "report", "--from", "saved.json", cwd=project), 0)
    assert "accuracy" in ran.out, ran
    check(core_mlci(core, "models", cwd=project), 0)


def test_doctor_says_what_is_missing(core: Path, project: Path) -> None:
    ran = check(core_mlci(core, "doctor", cwd=project), 0)
    assert "pip install 'mlci[dvc]'" in ran.out and "pip install 'mlci[tracking]'" in ran.out, ran


NEEDS = {
    "run": "dvc",
    "validate data": "gx",
    "release digits@v0.0.1": "dvc",
}


@pytest.mark.parametrize(("command", "extra"), NEEDS.items())
def test_a_command_that_needs_an_extra_names_it(
    core: Path, project: Path, command: str, extra: str
) -> None:
    if command == "validate data":
        (project / "pyproject.toml").write_text('[tool.mlci.data.d]\npath = "d.csv"\nsuite = "d"\n')
    if command.startswith("release"):
        git(project, "tag", "-a", "digits@v0.0.1", "-m", "digits")
        (project / "dvc.yaml").write_text(
            (project / "dvc.yaml").read_text() + "artifacts:\n  digits:\n    path: model.pkl\n"
        )
    check(core_mlci(core, *command.split(), cwd=project), 2, f"pip install 'mlci[{extra}]'")
