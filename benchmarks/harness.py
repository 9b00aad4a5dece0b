"""Running and timing commands in an isolated environment; a failure stops the benchmark."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_DROPPED_PREFIXES = ("GITHUB_", "MLFLOW_", "RUNNER_", "DVC_", "GIT_")
_DROPPED = {"GH_TOKEN", "CI", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONPATH"}


class BenchError(Exception):
    def __init__(self, argv: Sequence[str], cwd: Path, proc: subprocess.CompletedProcess[str]):
        super().__init__(f"`{' '.join(argv)}` exited {proc.returncode} in {cwd}")
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def tail(self, lines: int = 30) -> str:
        text = (self.stderr.strip() or self.stdout.strip()) or "(no output)"
        return "\n".join(text.splitlines()[-lines:])


def isolated_env(tmp: Path, bin_dir: Path) -> dict[str, str]:
    """The caller's environment minus CI, MLflow, DVC and git settings; HOME and caches in tmp."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_DROPPED_PREFIXES) and k not in _DROPPED
    }
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    identity = {"NAME": "mlci bench", "EMAIL": "bench@example.com"}
    env.update(
        HOME=str(home),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        NO_COLOR="1",
        DVC_NO_ANALYTICS="1",
        DVC_GLOBAL_CONFIG_DIR=str(home / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(home / "dvc-system"),
        DVC_SITE_CACHE_DIR=str(tmp / "dvc-site-cache"),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        **{
            f"GIT_{who}_{key}": value
            for who in ("AUTHOR", "COMMITTER")
            for key, value in identity.items()
        },
    )
    return env


@dataclass(frozen=True)
class Shell:
    env: dict[str, str]

    def run(self, argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(argv), cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise BenchError(argv, cwd, proc)
        return proc

    def timed(self, argv: Sequence[str], cwd: Path) -> float:
        started = time.perf_counter()
        self.run(argv, cwd)
        return time.perf_counter() - started


@dataclass(frozen=True)
class Side:
    label: str
    argv: tuple[str, ...]
    # untimed setup before repetition i; returns the directory to run in
    prepare: Callable[[int], Path]


def at(path: Path) -> Callable[[int], Path]:
    return lambda _i: path


def measure(shell: Shell, sides: Sequence[Side], reps: int, warmup: int = 1) -> list[list[float]]:
    """Wall times per side; the sides take turns in each repetition so drift hits all alike."""
    times: list[list[float]] = [[] for _ in sides]
    for i in range(warmup + reps):
        for side, bucket in zip(sides, times, strict=True):
            cwd = side.prepare(i)
            seconds = shell.timed(side.argv, cwd)
            if i >= warmup:
                bucket.append(seconds)
    return times


@dataclass(frozen=True)
class Comparison:
    subject: str
    subject_times: list[float]
    baseline: str
    baseline_times: list[float]
    goal: float | None = None  # subject / baseline must stay at or below this

    @property
    def subject_median(self) -> float:
        return statistics.median(self.subject_times)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_times)

    @property
    def ratio(self) -> float:
        return self.subject_median / self.baseline_median

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return "-"
        return "PASS" if self.ratio <= self.goal else "MISS"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Results:
    comparisons: list[Comparison] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
