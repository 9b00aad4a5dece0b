"""Install footprint: what the reusable workflows' jobs install, in size and time.

Each job's environment is built in a new venv from a local wheel cache (`pip install
--no-index --find-links`), so the time is pip's own work, not the network's. The cache is
filled once (`pip wheel`, which does reach the package index) and kept between runs under
`.mlci/bench-wheels/`. The pipeline job's environment is mlci with the extras
docs/actions.md lists plus the project's requirements.txt, as actions/setup installs them.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import BenchError, Check, Results, Shell

REPO = Path(__file__).resolve().parents[1]
WHEELS = REPO / ".mlci" / "bench-wheels"
PIPELINE_GOAL_MB = 1024
COMMENT_GOAL_MB = 88  # the light core's venv when the issue was filed


@dataclass(frozen=True)
class Job:
    name: str
    extras: str
    requirements: bool
    goal_mb: float


JOBS = (
    Job(
        "pull-request pipeline job (mlci[dvc,tracking,gx] + requirements.txt)",
        "dvc,tracking,gx",
        True,
        PIPELINE_GOAL_MB,
    ),
    Job("comment job (the light core)", "", False, COMMENT_GOAL_MB),
)


def _size_mb(path: Path) -> float:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20
    )


def _fill_cache(shell: Shell, jobs: tuple[Job, ...]) -> Path:
    """mlci's wheel (rebuilt each time: the tree may have changed) and every dependency's."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    for old in WHEELS.glob("mlci-*.whl"):
        old.unlink()
    shell.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(WHEELS), str(REPO)],
        REPO,
    )
    for job in jobs:
        argv = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "-w",
            str(WHEELS),
            "--find-links",
            str(WHEELS),
        ]
        argv.append(f"{REPO}[{job.extras}]" if job.extras else str(REPO))
        if job.requirements:
            argv += ["-r", str(REPO / "requirements.txt")]
        shell.run(argv, REPO)
    return WHEELS


def _install(shell: Shell, tmp: Path, job: Job) -> tuple[float, float]:
    venv = tmp / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    shell.run([sys.executable, "-m", "venv", str(venv)], tmp)
    spec = f"mlci[{job.extras}]" if job.extras else "mlci"
    argv = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--no-index",
        "--find-links",
        str(WHEELS),
        spec,
    ]
    if job.requirements:
        argv += ["-r", str(REPO / "requirements.txt")]
    started = time.perf_counter()
    shell.run(argv, tmp)
    seconds = time.perf_counter() - started
    size = _size_mb(venv)
    shutil.rmtree(venv, ignore_errors=True)
    return size, seconds


def measure_footprint(shell: Shell, tmp: Path, results: Results) -> list[str]:
    try:
        _fill_cache(shell, JOBS)
    except BenchError as exc:
        results.notes.append(
            f"install footprint not measured: filling the wheel cache failed: {exc}"
        )
        return []
    lines = []
    for job in JOBS:
        size, seconds = _install(shell, tmp, job)
        ok = size <= job.goal_mb
        detail = f"{size:,.0f} MB in the venv, installed in {seconds:.1f} s (goal ≤ {job.goal_mb:,.0f} MB)"
        results.checks.append(Check(f"install footprint: {job.name}", ok, detail))
        lines.append(f"{job.name}: {detail}")
    return lines
