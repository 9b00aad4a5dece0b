"""`mlci run`: refuse early, fetch, reproduce, push, track, record."""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlci import (
    ci,
    config,
    dvc,
    git,
    hardware,
    interrupts,
    run_record,
    snapshot,
    tracking,
    workspace,
)
from mlci.errors import MlciError, ServiceError, StageFailed
from mlci.progress import Progress

__all__ = ["PIPELINE_STATE_TAG", "RunResult", "read_metrics", "read_params", "run"]

# the sha256 of the dvc.lock files and the params: with the commit, what makes two runs the same
PIPELINE_STATE_TAG = "mlci.pipeline_state"


@dataclass
class RunResult:
    record: run_record.RunRecord
    record_path: Path
    config: config.Config
    mlflow_reused: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _lock_digest(project: workspace.Project, params: dict[str, Any]) -> str | None:
    """The sha256 of every dvc.lock (each named by its path, but for the root one) and the
    params; None when no pipeline has a dvc.lock yet."""
    locks = project.locks
    if not locks:
        return None
    digest = hashlib.sha256()
    for lock in sorted(locks):
        if lock != "dvc.lock":  # a root-only project hashes as it always did
            digest.update(f"\0{lock}\0".encode())
        digest.update((project.root / lock).read_bytes())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def read_metrics(
    project: workspace.Project,
    progress: Progress | None = None,
    *,
    within: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The workspace's metrics as DVC knows them (every dvc.yaml, DVCLive's included),
    flattened with dots; `file:key` when there are several files.

    `within`: the outputs of the stages a targeted run reproduced; a metrics file outside
    them that is not in the workspace is another stage's, not worth a warning.
    """
    try:
        snap = snapshot.take(project.root, snapshot.WORKSPACE, None)
    except MlciError as exc:  # the stages ran: what could not be read is a warning, not a stop
        if progress:
            progress.warning(exc.message)
        return {}
    values: dict[str, Any] = {}
    several = len(snap.metrics) > 1
    for relpath, flat in snap.metrics.items():
        prefix = f"{relpath}:" if several else ""
        values.update({f"{prefix}{k}": v for k, v in flat.items()})
    if progress:
        for relpath, why in snap.unavailable.items():
            if within is None or any(_under(relpath, out) for out in within):
                progress.warning(f"{relpath}: {why}")
    return values


def _under(relpath: str, out: str) -> bool:
    return relpath == out or relpath.startswith(out.rstrip("/") + "/")


def read_params(project: workspace.Project) -> dict[str, Any]:
    """Every param `dvc params show` shows in the workspace, of every dvc.yaml (`file:key`
    outside the root params.yaml); a params file that a stage declares but that is missing,
    or one that does not parse, refuses the run (exit 2) before any work."""
    return project.read_params()


def _identity(record: run_record.RunRecord) -> dict[str, str]:
    """The tags that name a run's commit and pipeline state (dvc.lock and params)."""
    sha, state = record.git.get("sha"), record.lock_digest
    if not sha or not state:
        return {}
    return {"mlflow.source.git.commit": sha, PIPELINE_STATE_TAG: state}


def _tags(
    record: run_record.RunRecord, context: ci.CiContext, runner: hardware.Runner
) -> dict[str, str]:
    tags = {
        "mlflow.source.type": "PROJECT",
        "mlci.stages_ran": ",".join(record.ran) or "none",
        "mlci.runner": runner.runner_name or runner.summary(),
        "mlci.gpu": ", ".join(g.name for g in runner.gpus) or "none",
    }
    tags.update(_identity(record))
    if sha := record.git.get("sha"):
        tags["mlflow.source.git.commit"] = sha
    if branch := record.git.get("branch"):
        tags["mlflow.source.git.branch"] = branch
        tags["mlci.branch"] = branch
    if context.pr_number is not None:
        tags["mlci.pr"] = str(context.pr_number)
    if context.run_url:
        tags["mlci.ci_run_url"] = context.run_url
    return tags


def _track(
    cfg: config.Config,
    project: workspace.Project,
    params: dict[str, Any],
    record: run_record.RunRecord,
    progress: Progress,
) -> bool:
    """Record the MLflow run, or reuse the one already recorded for this commit and pipeline
    state, by any runner: one run per state, however many runners restore it. True when reused.
    """
    if not record.ran and (identity := _identity(record)):
        found = tracking.find_run(cfg.tracking_uri, cfg.experiment_name, identity)
        if found is not None:
            record.mlflow = {**found.to_dict(), "ui": tracking.ui_hint(cfg.tracking_uri, found)}
            return True
    progress.step(f"recording the MLflow run ({cfg.tracking_uri})")
    sha = record.git.get("sha")
    with interrupts.where("while recording the MLflow run"):
        tracked = tracking.record_run(
            cfg.tracking_uri,
            cfg.experiment_name,
            artifact_root=cfg.state_path / "mlartifacts",
            run_name=f"{record.git.get('branch') or 'detached'}@{(sha or 'uncommitted')[:8]}",
            params=params,
            metrics=record.metrics,
            tags=_tags(record, ci.context(), hardware.current()),
            artifacts=_run_files(project),
        )
    record.mlflow = {**tracked.to_dict(), "ui": tracking.ui_hint(cfg.tracking_uri, tracked)}
    return False


def _run_files(project: workspace.Project) -> list[tuple[Path, str]]:
    """The files an MLflow run keeps, by folder: `metrics/`, `plots/` and the dvc.lock files;
    a sub-folder pipeline's go one folder down (`metrics/a/`, `a/dvc.lock`)."""
    root = project.root

    def folder(kind: str, file: str) -> str:
        pipeline = posixpath.dirname(project.declared_in.get(file, ""))
        return posixpath.join(kind, pipeline) if pipeline else kind

    return [
        *((root / m, folder("metrics", m)) for m in project.metrics),
        *((root / p, folder("plots", p)) for p in project.plots if (root / p).is_file()),
        *((root / lock, posixpath.dirname(lock)) for lock in project.locks),
    ]


def _check_runner(cfg: config.Config) -> hardware.Runner:
    runner = hardware.current()
    if cfg.require_gpu and not hardware.has_gpu(runner):
        why = f" ({runner.gpu_error})" if runner.gpu_error else ""
        raise ServiceError(
            f"[tool.mlci] require_gpu = true, but no GPU was found on this runner{why}"
        )
    return runner


def _pull(
    pipeline: dvc.Pipeline,
    remote: dvc.Remote,
    cfg: config.Config,
    targets: tuple[str, ...],
    record: run_record.RunRecord,
    progress: Progress,
) -> None:
    with interrupts.where(f"while pulling from DVC remote '{remote.name}'"):
        progress.step(f"pulling from DVC remote '{remote.name}' ({remote.url})")
        pulled = pipeline.pull(run_cache=cfg.dvc.run_cache, targets=targets)
    record.remote = {**(record.remote or {}), "pulled": pulled.fetched, "missing": pulled.missing}
    if pulled.missing:
        progress.warning(
            f"{pulled.missing} objects are not in remote '{remote.name}' yet: "
            "the stages that need them will run"
        )


def run(
    path: Path | None = None,
    *,
    targets: tuple[str, ...] = (),
    force: bool = False,
    pull: bool = True,
    push: bool = True,
    tracking_enabled: bool = True,
    restore_only: bool = False,
    allow_run: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> RunResult:
    """Pull, `dvc repro`, push, record an MLflow run, write `.mlci/run.json`.

    Every check that can refuse (config, git, dvc.yaml, params, GPU, tracking
    server, remote) runs before any work starts. With `restore_only`, every stage but
    those in `allow_run` must be unchanged or restored from the run-cache.
    """
    progress = progress or Progress()
    cfg = config.load(path)
    root = git.toplevel(cfg.root)
    if root != cfg.root:
        cfg = config.load(root)
    project = workspace.load_project(root)
    project.refuse_without_targets(targets, "run")
    params = read_params(project)

    runner = _check_runner(cfg)
    track = tracking_enabled and cfg.tracking.enabled
    if track:
        tracking.check_server(cfg.tracking_uri)
    elif not tracking_enabled:
        progress.warning("tracking is off (--no-tracking): no MLflow run will be recorded")

    remote = (
        dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote) if pull or push else None
    )
    head = git.head(root)
    context = ci.context()
    record = run_record.RunRecord(
        started_at=_now(),
        git={"sha": head.sha, "branch": context.branch or head.branch, "dirty": head.dirty},
        ci={"pr": context.pr_number, "run_url": context.run_url, "in_actions": context.in_actions},
        hardware=runner.to_dict(),
    )
    if remote:
        record.remote = {
            "name": remote.name,
            "url": remote.url,
            "pulled": 0,
            "missing": 0,
            "pushed": 0,
        }
    with dvc.Pipeline(root, remote) as pipeline:
        pipeline.check_targets(targets)
        if remote:  # one DVC repository checks the remote, pulls and reproduces
            pipeline.check_remote()
        if remote and pull:
            _pull(pipeline, remote, cfg, targets, record, progress)
        try:
            stages = pipeline.repro(
                targets,
                force=force,
                pull=bool(remote and pull),
                restore_only=restore_only,
                allow_run=allow_run,
                on_stage=progress.stage,
                on_line=progress.output,
            )
        except StageFailed as exc:
            record.status, record.error = "failed", exc.message
            record.stages = [run_record.StageRecord(exc.stage, "failed", 0.0)]
            record.finished_at = _now()
            run_record.write(cfg.state_path, record)
            raise
        record.stages = [run_record.StageRecord(s.name, s.status, s.seconds) for s in stages]
        outs = tuple(out for stage in stages for out in stage.outs)
        record.metrics = read_metrics(project, progress, within=outs if targets else None)
        record.lock_digest = _lock_digest(project, params)
        if remote and push:
            with interrupts.where(f"while pushing to DVC remote '{remote.name}'"):
                progress.step(f"pushing to DVC remote '{remote.name}'")
                pushed = pipeline.push(run_cache=cfg.dvc.run_cache)
            record.remote = {**(record.remote or {}), "pushed": pushed}

    reused = _track(cfg, project, params, record, progress) if track else False
    record.finished_at = _now()
    record_path = run_record.write(cfg.state_path, record)
    return RunResult(record=record, record_path=record_path, config=cfg, mlflow_reused=reused)
