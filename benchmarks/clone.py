"""Measurement 3: a fresh clone restoring everything from a warm remote vs a full run."""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import Check, Comparison, Results, Shell, Side, measure
from benchmarks.noop import DVC_SEQUENCE, REMOTE_NAME
from benchmarks.project import clone, generate_data, read_stages, set_embedded_remote

RESTORED = {"cached", "unchanged"}
WARM = ("mlci", "run", "--no-tracking")
FULL = ("mlci", "run", "--no-tracking", "--force")


class Clones:
    """Untimed setup of each repetition: a clone of the source repository per run."""

    def __init__(self, shell: Shell, source: Path, remote: Path, tmp: Path) -> None:
        self.shell, self.source, self.remote, self.tmp = shell, source, remote, tmp
        self.warm: list[Path] = []
        self.full: list[Path] = []

    def warm_clone(self, i: int) -> Path:
        project = clone(self.shell, self.source, self.tmp / f"warm-{i}")
        self.warm.append(project)
        return project

    def dvc_clone(self, i: int) -> Path:
        project = clone(self.shell, self.source, self.tmp / f"dvc-{i}")
        self.shell.run(["dvc", "remote", "add", "--local", REMOTE_NAME, str(self.remote)], project)
        return project

    def cold_clone(self, i: int) -> Path:
        project = clone(self.shell, self.source, self.tmp / f"cold-{i}")
        set_embedded_remote(project, self.tmp / f"cold-{i}-remote")  # empty, not even created
        generate_data(self.shell, project)
        self.full.append(project)
        return project


def measure_clone(
    shell: Shell, source: Path, remote: Path, tmp: Path, reps: int, results: Results
) -> None:
    clones = Clones(shell, source, remote, tmp)
    sides = [
        Side("fresh clone, warm remote: " + " ".join(WARM), WARM, clones.warm_clone),
        Side("full run, empty remote: " + " ".join(FULL), FULL, clones.cold_clone),
        # the same restore with plain DVC, to tell DVC's own cost from mlci's
        Side(
            "fresh clone, warm remote: " + DVC_SEQUENCE,
            ("bash", "-c", DVC_SEQUENCE),
            clones.dvc_clone,
        ),
    ]
    warm, full, plain = measure(shell, sides, reps, warmup=0)
    results.comparisons.append(Comparison(sides[0].label, warm, sides[1].label, full, goal=0.1))
    results.comparisons.append(Comparison(sides[0].label, warm, sides[2].label, plain))
    check_stages(clones, results)


def check_stages(clones: Clones, results: Results) -> None:
    for project in clones.warm:
        statuses = _statuses(project)
        restored = all(status in RESTORED for status in statuses.values())
        if not restored or project == clones.warm[-1]:
            results.checks.append(
                Check(f"{project.name}: every stage cached or unchanged", restored, _line(statuses))
            )
    statuses = _statuses(clones.full[-1])
    ran = all(status == "ran" for name, status in statuses.items() if name != "data")
    results.checks.append(Check(f"{clones.full[-1].name}: every stage ran", ran, _line(statuses)))


def _statuses(project: Path) -> dict[str, str]:
    return {str(s["name"]): str(s["status"]) for s in read_stages(project)}


def _line(statuses: dict[str, str]) -> str:
    return ", ".join(f"{name}={status}" for name, status in statuses.items())
