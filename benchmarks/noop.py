"""Measurement 2: `mlci run` with nothing to do, against the DVC commands it stands for."""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import Check, Comparison, Results, Shell, Side, at, measure
from benchmarks.project import read_stages

REMOTE_NAME = "R"
MLCI_BARE = ("mlci", "run", "--no-pull", "--no-push", "--no-tracking")
DVC_SEQUENCE = (
    f"dvc pull --run-cache -r {REMOTE_NAME} && dvc repro && dvc push --run-cache -r {REMOTE_NAME}"
)


def settle(shell: Shell, project: Path, remote: Path) -> None:
    """After a first full run: the same remote under a name for plain DVC, and a no-op state."""
    shell.run(["dvc", "remote", "add", "--local", REMOTE_NAME, str(remote)], project)
    shell.run(
        ["mlci", "run"], project
    )  # records the MLflow run of this commit; later ones reuse it


def measure_noop(shell: Shell, project: Path, reps: int, results: Results) -> None:
    bare = [Side("mlci run " + " ".join(MLCI_BARE[2:]), MLCI_BARE, at(project))]
    bare.append(Side("dvc repro", ("dvc", "repro"), at(project)))
    mlci_times, dvc_times = measure(shell, bare, reps)
    results.comparisons.append(
        Comparison(bare[0].label, mlci_times, bare[1].label, dvc_times, goal=1.3)
    )
    full = [
        Side("mlci run", ("mlci", "run"), at(project)),
        Side(DVC_SEQUENCE, ("bash", "-c", DVC_SEQUENCE), at(project)),
    ]
    mlci_times, dvc_times = measure(shell, full, reps)
    results.comparisons.append(Comparison(full[0].label, mlci_times, full[1].label, dvc_times))
    check_noop(shell, project, results)


def check_noop(shell: Shell, project: Path, results: Results) -> None:
    """The measured `mlci run` did no work: every stage unchanged, the MLflow run reused."""
    proc = shell.run(["mlci", "run"], project)
    statuses = {str(s["name"]): str(s["status"]) for s in read_stages(project)}
    idle = all(status == "unchanged" for status in statuses.values())
    results.checks.append(Check("no-op mlci run: every stage unchanged", idle, _describe(statuses)))
    recorded = "recording the MLflow run" in proc.stderr + proc.stdout
    results.checks.append(
        Check(
            "no-op mlci run: MLflow run reused",
            not recorded,
            "recorded a new MLflow run" if recorded else "no new MLflow run recorded",
        )
    )


def _describe(statuses: dict[str, str]) -> str:
    return ", ".join(f"{name}={status}" for name, status in statuses.items())
