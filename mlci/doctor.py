"""`mlci doctor`: one line per fact a CI run depends on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlci import config, docker, dvc, extras, git, hardware, tracking
from mlci.errors import MlciError

__all__ = ["Check", "checks"]

Status = Literal["ok", "warn", "fail", "info"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def _git(root: Path) -> Check:
    try:
        head = git.head(root)
    except MlciError as exc:
        return Check("git", "fail", exc.message)
    where = f"{head.branch or 'detached HEAD'} @ {head.sha[:8] if head.sha else 'no commit yet'}"
    return Check(
        "git", "ok", f"repository {root} on {where}{', uncommitted changes' if head.dirty else ''}"
    )


def _dvc_yaml(root: Path) -> Check:
    from mlci import workspace

    try:
        project = workspace.find_project(root)
        if project is None:
            return Check("dvc", "warn", "no dvc.yaml: nothing to run")
        if not extras.missing("dvc"):
            dvc.check_pipeline(root)
    except MlciError as exc:
        return Check("dvc", "fail", f"dvc.yaml is invalid: {exc.message}")
    if project.pipelines == [workspace.ROOT_PIPELINE]:
        return Check("dvc", "ok", "dvc.yaml found")
    return Check(
        "dvc", "ok", f"{len(project.pipelines)} dvc.yaml found: {', '.join(project.pipelines)}"
    )


def _extras() -> Check:
    missing = [name for name in extras.EXTRAS if extras.missing(name)]
    if not missing:
        return Check("extras", "ok", "all installed: " + ", ".join(extras.EXTRAS))
    have = [name for name in extras.EXTRAS if name not in missing]
    detail = f"missing: {', '.join(missing)} (pip install 'mlci[{','.join(missing)}]')"
    return Check("extras", "info", detail + (f"; installed: {', '.join(have)}" if have else ""))


def _dvc(cfg: config.Config) -> list[Check]:
    root = cfg.root
    if not (root / ".dvc").is_dir():
        return [Check("dvc", "fail", f"not a DVC repository: {root} (run `dvc init`)")]
    rows = [_dvc_yaml(root)]
    if extras.missing("dvc"):
        detail = "not checked: DVC is not installed (pip install 'mlci[dvc]')"
        return [*rows, Check("dvc remote", "warn", detail)]
    try:
        remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    except MlciError as exc:
        return [*rows, Check("dvc remote", "fail", exc.message)]
    if remote is None:
        return [
            *rows,
            Check("dvc remote", "warn", "none configured: outputs are not shared between runs"),
        ]
    kind = "embedded " if remote.embedded else ""
    try:
        exists = dvc.check_remote(root, remote)
    except MlciError as exc:
        return [*rows, Check("dvc remote", "fail", exc.message)]
    state = "reachable" if exists else "reachable, empty (created on the first push)"
    return [*rows, Check("dvc remote", "ok", f"{kind}'{remote.name}' {remote.url}: {state}")]


def _mlflow(cfg: config.Config) -> Check:
    uri = cfg.tracking_uri
    if not cfg.tracking.enabled:
        return Check("mlflow", "info", "tracking disabled in [tool.mlci.tracking]")
    if extras.missing("tracking"):
        return Check(
            "mlflow",
            "warn",
            "MLflow is not installed: pip install 'mlci[tracking]', or disable tracking",
        )
    if tracking.is_server(uri):
        try:
            tracking.check_server(uri)
        except MlciError as exc:
            return Check("mlflow", "fail", exc.message)
        return Check("mlflow", "ok", f"tracking server {uri}: reachable")
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        state = "exists" if db.exists() else "created on the first run"
        return Check("mlflow", "ok", f"local store {uri} ({state})")
    return Check("mlflow", "info", f"tracking URI {uri}")


def _github() -> Check:
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if os.environ.get(name):
            return Check("github token", "ok", f"{name} is set")
    return Check(
        "github token", "info", "not set: reports stay local (no PR comment, no check run)"
    )


def _docker() -> Check:
    engine = docker.engine(timeout=10)
    if engine.state == "answers":
        return Check("docker", "ok", f"engine {engine.detail}")
    if engine.state == "no client":
        return Check(
            "docker", "info", "not installed: `mlci release --containerize` is unavailable"
        )
    if engine.state == "no answer":
        return Check("docker", "info", f"client found, engine not answering ({engine.detail})")
    return Check("docker", "info", "client found, no engine running: containerizing is unavailable")


def checks(path: Path | None = None) -> list[Check]:
    rows: list[Check] = []
    try:
        cfg = config.load(path)
    except MlciError as exc:
        return [Check("config", "fail", exc.message)]
    rows.append(Check("config", "ok", f"{cfg.file or 'defaults (no pyproject.toml)'}"))
    rows.append(_git(cfg.root))
    rows.extend(_dvc(cfg))
    rows.append(_mlflow(cfg))
    rows.append(_github())
    runner = hardware.current()
    rows.append(Check("runner", "info", runner.summary()))
    if runner.gpus:
        rows.extend(Check(f"gpu {gpu.index}", "ok", gpu.details()) for gpu in runner.gpus)
    else:
        gpu_status: Status = "fail" if cfg.require_gpu else "info"
        rows.append(
            Check("gpu", gpu_status, runner.gpu_error or "none found (nvidia-smi not available)")
        )
    rows.append(_docker())
    rows.append(_extras())
    return rows
