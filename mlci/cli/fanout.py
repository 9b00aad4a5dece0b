"""`mlci fanout ...`: the steps of a fanned-out workflow (docs/actions.md, `fan-out`).

Plumbing for the reusable workflows, not for people: each command reads what an earlier
job left (the plan, a log, the records) and writes what the next job reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mlci.cli.failures import handle_errors
from mlci.errors import GateFailed, UsageError


@click.group(hidden=True)
def fanout() -> None:
    """The steps of a fanned-out pipeline (the reusable workflows' `fan-out`)."""


def _plan(path: Path) -> dict[str, Any]:
    """The plan in the file PATH names (`-`: stdin), checked; errors name the file."""
    from mlci.fanout import join

    source = "the plan on stdin" if str(path) == "-" else f"the plan {path}"
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {source}: {exc}") from None
    return join.load_plan(text, source)


@fanout.command("outputs")
@click.argument("plan", type=click.Path(path_type=Path))
@handle_errors
def outputs_command(plan: Path) -> None:
    """The plan job's outputs from PLAN (`mlci plan --format json`; `-`: stdin), written to
    $GITHUB_OUTPUT in Actions and shown as NAME=VALUE lines."""
    from mlci import ci
    from mlci.fanout import join

    values = join.outputs(_plan(plan))
    for name, value in values.items():
        ci.set_output(name, value)
        click.echo(f"{name}={value}")


@fanout.command("record")
@click.option("--name", required=True, help="The branch's name in the plan (or `upstream`).")
@click.option("--targets", default="", help="Its stages, space-separated.")
@click.option("--runs-on", "runs_on", default='["ubuntu-latest"]', help="Its runner labels (JSON).")
@click.option("--outcome", required=True, help="The outcome of its `mlci run` step.")
@click.option("--log", type=click.Path(path_type=Path), default=None, help="Its log, for the tail.")
@click.option(
    "--output", type=click.Path(path_type=Path), required=True, help="Folder to write into."
)
@handle_errors
def record_command(
    name: str, targets: str, runs_on: str, outcome: str, log: Path | None, output: Path
) -> None:
    """Write this job's branch record (runner, GPUs, status, stages, log tail) into OUTPUT."""
    from mlci import ci, config, git, hardware, run_record
    from mlci.fanout import records

    try:
        labels = json.loads(runs_on)
    except ValueError:
        raise UsageError(f"--runs-on: not a JSON list of labels: {runs_on!r}") from None
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise UsageError(f"--runs-on: not a JSON list of labels: {runs_on!r}")
    cfg = config.load(None)
    sha = git.head(cfg.root).sha
    ran = run_record.read(cfg.state_path)
    if ran is not None and ran.sha != sha:
        ran = None  # another commit's run
    stages = (
        [{"name": s.name, "status": s.status, "seconds": s.seconds} for s in ran.stages]
        if ran
        else []
    )
    text = ""
    if log is not None and log.is_file():
        text = log.read_text(encoding="utf-8", errors="replace")
    record = records.BranchRecord(
        name=name,
        targets=targets.split(),
        runs_on=labels,
        status="ok" if outcome == "success" else "failed",
        sha=sha,
        runner=hardware.current().to_dict(),
        stages=stages,
        log_tail=records.tail(text) if outcome != "success" else "",
        job_url=ci.context().run_url,
        started_at=ran.started_at if ran else None,
        finished_at=ran.finished_at if ran else None,
    )
    path = records.write(output, record)
    gpus = ", ".join(record.gpus) or "no GPU"
    click.echo(f"{path}: {name} {record.status} on {' '.join(labels)} ({gpus})")


@fanout.command("check")
@click.argument("plan", type=click.Path(path_type=Path), required=False)
@click.option(
    "--records",
    "found",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder with the downloaded branch records.",
)
@click.option("--expect", default="[]", help="The plan job's `expect` output (JSON).")
@handle_errors
def check_command(plan: Path | None, found: Path, expect: str) -> None:
    """Exit 1 unless every branch finished (and, given PLAN, this commit's `mlci plan --format
    json` made now, unless nothing but join stages would run). The records go to
    .mlci/branches for the report."""
    from mlci import config, console, git
    from mlci.fanout import join

    cfg = config.load(None)
    sha = git.head(cfg.root).sha
    now = _plan(plan) if plan is not None else None
    kept, problems = join.check(now, found, expect, sha, cfg.state_path / "branches")
    for record in kept:
        console.info(f"{record.name}: {record.status} ({' '.join(record.runs_on)})")
    if problems:
        raise GateFailed(
            "the join does not run: " + "; ".join(problems),
            hint="re-run the failed jobs: the finished branches come from the run-cache",
        )
    left = "only the join's stages are left" if now else "the join restores their stages"
    console.success(f"{len(kept)} jobs finished; {left}")
