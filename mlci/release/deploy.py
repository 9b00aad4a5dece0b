"""`mlci release TAG`: a registry tag becomes an MLflow model version, a bento, a GitHub Release.

The git tags lead; everything here follows them. A registration tag registers,
builds, smoke-tests and publishes. A stage tag moves the MLflow alias named
after the stage, only after that version's bento passed its smoke test, inside
a GitHub deployment whose status says how it went. Nothing is half-promoted:
on any failure the alias stays where it was and the deployment says failure.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci import ci, config, dvc, git, hardware, registry, snapshot, tracking
from mlci.errors import MlciError, ServiceError, UsageError
from mlci.report import safe

__all__ = ["ReleaseResult", "auto", "release", "tag_from_env"]


@dataclass
class ReleaseResult:
    tag: str
    event: str
    name: str
    version: str | None = None
    stage: str | None = None
    commit: str | None = None
    mlflow: dict[str, Any] | None = None
    bento: str | None = None
    smoke_tested: bool = False
    release_url: str | None = None
    deployment: str | None = None
    alias: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def tag_from_env(env: Mapping[str, str] | None = None) -> str:
    context = ci.context(env)
    if context.ref and context.ref.startswith("refs/tags/"):
        return context.ref.removeprefix("refs/tags/")
    raise UsageError("no tag given and GITHUB_REF is not a tag: mlci release TAG")


def _sample(root: Path, cfg: config.Config, rows: int = 20) -> list[list[float]]:
    if not cfg.model.sample:
        return []
    path = root / cfg.model.sample
    if not path.is_file():
        raise UsageError(
            f"[tool.mlci.model] sample = '{cfg.model.sample}': file not found (run the pipeline first)"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        out = []
        for record in reader:
            out.append([float(v) for k, v in record.items() if k != cfg.model.label])
            if len(out) >= rows:
                break
    return out


@contextmanager
def _on_path(root: Path) -> Iterator[None]:
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))


def _local_predictions(
    root: Path, loader: str, model_dir: Path, rows: list[list[float]]
) -> list[int]:
    import importlib

    module, _, function = loader.partition(":")
    with _on_path(root):
        # the project's loader, without importing MLflow for it
        model = getattr(importlib.import_module(module), function)(model_dir)
        import numpy as np

        return [int(p) for p in model.predict(np.asarray(rows, dtype=float))]


def _previous(artifact: registry.Artifact, version: str) -> registry.Version | None:
    ordered = [v for v in artifact.versions if not v.deregistered]
    for index, candidate in enumerate(ordered):
        if candidate.version == version:
            return ordered[index + 1] if index + 1 < len(ordered) else None
    return None


def model_card(
    name: str,
    version: str,
    commit: str,
    head: snapshot.Snapshot,
    base: snapshot.Snapshot | None,
    base_version: str | None,
    mlflow: dict[str, Any] | None,
) -> str:
    lines = [
        f"## {safe.inline(name)} {safe.inline(version)}",
        "",
        f"Trained at commit {safe.code(commit[:12])}.",
    ]
    lines += [
        "",
        "### Metrics",
        "",
        f"| metric | {safe.cell(version)} | {safe.cell(base_version or 'previous')} | change |",
        "|---|---|---|---|",
    ]
    for file, values in head.metrics.items():
        old = base.metrics.get(file, {}) if base else {}
        for key, value in values.items():
            before = old.get(key)
            change = (
                f"{value - before:+.4g}"
                if isinstance(value, int | float)
                and isinstance(before, int | float)
                and not isinstance(value, bool)
                else ""
            )
            lines.append(
                f"| {safe.cell(key)} | {safe.cell(value)} | {safe.cell(before)} | {change} |"
            )
    lines += ["", "### Params", "", "| param | value |", "|---|---|"]
    lines += [f"| {safe.cell(k)} | {safe.cell(v)} |" for k, v in head.params.items()]
    lines += ["", "### Data", "", "| path | version | size |", "|---|---|---|"]
    lines += [
        f"| {safe.cell(d.path)} | {safe.code((d.hash or '?')[:12])} | {safe.cell(d.size)} |"
        for d in head.data.values()
        if d.source.endswith(".dvc")
    ]
    lines += ["", f"Released on: {safe.inline(hardware.current().summary())}"]
    if mlflow:
        lines.append(
            f"MLflow: model {safe.code(mlflow['name'])} version {safe.code(mlflow['version'])}"
        )
    return "\n".join(lines) + "\n"


def _archive(folder: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as archive:
        archive.add(folder, arcname=folder.name)
    return dest


def _version_of(
    info: registry.TagInfo, artifact: registry.Artifact, tag: str
) -> tuple[registry.Version, str]:
    """The registered version a registration or stage tag names, and the artifact's path."""
    if info.action == "register":
        number = info.version
    else:
        event = next((e for s in artifact.stages.values() for e in s.history if e.tag == tag), None)
        number = event.version if event else None
    version = artifact.version(number or "")
    if version is None:
        raise UsageError(f"{tag}: version {number} of {info.name} is not registered")
    path = artifact.meta.get("path")
    if not path:
        raise UsageError(f"dvc.yaml: artifact '{info.name}' has no path")
    return version, str(path)


def release(
    root: Path,
    cfg: config.Config,
    tag: str,
    *,
    containerize: bool = False,
    push_image: str | None = None,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> ReleaseResult:
    from mlci.release import bento

    if containerize:
        # before anything else: a release that cannot finish must not start
        available, why = bento.docker_available()
        if not available:
            raise ServiceError(f"--containerize needs a Docker engine: {why}")
    info = registry.check_tag(tag)
    result = ReleaseResult(tag=tag, event=info.event, name=info.name, stage=info.stage)
    if git.resolve(root, f"refs/tags/{tag}") is None:
        raise UsageError(
            f"no such tag: {tag}",
            hint="create it with mlci register / mlci promote, and fetch tags",
        )
    artifact = registry.load(root).artifact(info.name)
    if info.action not in {"register", "assign"}:
        result.notes.append(f"nothing to deploy for a {info.event} tag")
        return result
    version, path = _version_of(info, artifact, tag)
    result.version, result.commit = version.version, version.commit

    context = ci.context(env)
    token = token or context.token
    github_client = None
    if token and context.repository:
        from mlci import github

        github_client = github.Client(token, context.repository, api_url=context.api_url)
    deployment = None
    if info.action == "assign" and github_client is not None:
        from mlci import github

        deployment = github.create_deployment(
            github_client,
            version.commit,  # the tag may not be pushed yet; its commit is what deploys
            info.stage or "",
            f"{info.name} {result.version} to {info.stage}",
            {"artifact": info.name, "version": result.version},
        )
        deployment.status(
            "in_progress", f"releasing {info.name} {result.version}", log_url=context.run_url
        )
        result.deployment = info.stage
    try:
        _release_version(
            root,
            cfg,
            result,
            artifact,
            version,
            str(path),
            info,
            github_client,
            step,
            containerize,
            push_image,
        )
    except (MlciError, KeyboardInterrupt) as exc:
        if deployment is not None:
            message = exc.message if isinstance(exc, MlciError) else "interrupted"
            deployment.status("failure", message, log_url=context.run_url)
        raise
    if deployment is not None:
        deployment.status(
            "success", f"{info.name} {result.version} is {info.stage}", log_url=context.run_url
        )
    return result


def _release_version(
    root: Path,
    cfg: config.Config,
    result: ReleaseResult,
    artifact: registry.Artifact,
    version: registry.Version,
    path: str,
    info: registry.TagInfo,
    github_client: Any,
    step: Callable[[str], None],
    containerize: bool,
    push_image: str | None,
) -> None:
    from mlci.release import bento

    remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    model_name = cfg.release.registered_model or info.name.replace("/", "-").replace(":", "-")
    version_tag = version.tag
    home = cfg.state_path / "bentoml"
    with tempfile.TemporaryDirectory(prefix="mlci-release-") as scratch:
        work = Path(scratch)
        step(f"fetching {path} as of {version.commit[:8]}")
        model_dir = dvc.export_output(root, remote, version.commit, path, work)
        rows = _sample(root, cfg)
        expected = (
            _local_predictions(root, cfg.model.loader, model_dir, rows)
            if rows and cfg.model.loader
            else []
        )
        head = snapshot.take(root, version_tag, version.commit)
        previous = _previous(artifact, version.version)
        base = snapshot.take(root, previous.tag, previous.commit) if previous else None

        mlflow_version = None
        if cfg.tracking.enabled and cfg.model.loader:
            step(f"registering {model_name} in MLflow ({cfg.tracking_uri})")
            loader_package = cfg.model.loader.split(":")[0].split(".")[0]
            code_dir = root / loader_package if (root / loader_package).is_dir() else None
            data_version = ",".join(
                f"{d.path}={(d.hash or '')[:12]}"
                for d in head.data.values()
                if d.source.endswith(".dvc")
            )
            mlflow_version = tracking.register_model(
                cfg.tracking_uri,
                model_name,
                model_dir,
                loader=cfg.model.loader,
                code_dir=code_dir,
                experiment=cfg.experiment_name,
                artifact_root=cfg.state_path / "mlartifacts",
                input_example=rows[:5] or None,
                git_tag=version_tag,
                tags={"mlci.commit": version.commit, "mlci.data_version": data_version},
                metrics={k: v for values in head.metrics.values() for k, v in values.items()},
            )
            result.mlflow = mlflow_version.to_dict() | {"reused": mlflow_version.reused}

        if cfg.release.service:
            step(f"building the bento of {cfg.release.service}")
            bento_model = bento.save_model(
                model_dir,
                model_name,
                labels={"git_tag": version_tag.replace("@", "-at-"), "commit": version.commit[:12]},
                metadata={"git_tag": version_tag, "commit": version.commit},
                home=home,
            )
            result.bento = bento.build(
                cfg.release.service, bento_model, root=root, home=home, name=model_name
            )
            if rows and expected:
                step(f"smoke test: serving {result.bento} on 127.0.0.1")
                with bento.serve(result.bento, home=home, feedback_store=work / "feedback") as url:
                    bento.smoke_test(url, rows, expected)
                result.smoke_tested = True
            if containerize:
                step("containerizing the bento")
                bento.containerize(result.bento, push_image=push_image, home=home)

        if info.action == "assign" and info.stage and mlflow_version is not None:
            step(f"moving the MLflow alias {info.stage} to version {mlflow_version.version}")
            tracking.set_alias(cfg.tracking_uri, model_name, info.stage, mlflow_version.version)
            result.alias = f"{model_name}@{info.stage} -> {mlflow_version.version}"

        if info.action == "register" and github_client is not None:
            from mlci import github

            step(f"publishing the GitHub Release {result.tag}")
            assets = [_archive(model_dir, work / f"{model_name}-{version.version}.tar.gz")]
            metrics_file = work / "metrics.json"
            metrics_file.write_text(json.dumps(head.metrics, indent=2, default=str))
            assets.append(metrics_file)
            if result.bento:
                # named after the version, not the build: a re-run finds it already there
                assets.append(
                    bento.export(
                        result.bento, work / f"{model_name}-{version.version}.bento", home=home
                    )
                )
            body = model_card(
                info.name,
                version.version,
                version.commit,
                head,
                base,
                previous.version if previous else None,
                result.mlflow,
            )
            result.release_url = github.upsert_release(
                github_client, result.tag, f"{info.name} {version.version}", body, assets
            )
        shutil.rmtree(work / "feedback", ignore_errors=True)


def _bump(root: Path, sha: str) -> str:
    """`Release-Bump: minor|major` as a trailer of the commit message; patch otherwise."""
    import subprocess

    done = subprocess.run(
        ["git", "log", "-1", "--format=%(trailers:key=Release-Bump,valueonly)", sha],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    value = done.stdout.strip().lower()
    return value if value in {"major", "minor", "patch"} else "patch"


def auto(
    root: Path,
    cfg: config.Config,
    *,
    bump: str | None = None,
    push: bool = False,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> list[ReleaseResult]:
    """On a push to main: register and release each model whose file changed since its latest version.

    Only when the gates pass. The tag is made and released in this same job: a tag
    pushed with a workflow's GITHUB_TOKEN starts no new workflow run.
    """
    from mlci.errors import GateFailed
    from mlci.validate import model as gates

    sha = git.resolve(root, "HEAD")
    if sha is None:
        raise UsageError("no commit to release")
    declared = {
        n: a for n, a in dvc.load_project(root).artifacts.items() if a.get("type") == "model"
    }
    if not declared:
        raise UsageError("dvc.yaml declares no artifact of type model: nothing to release")
    head = snapshot.take(root, "HEAD", sha)
    state = registry.load(root)
    done: list[ReleaseResult] = []
    for name, meta in declared.items():
        path = str(meta.get("path", ""))
        current = head.data.get(path)
        if current is None or not current.hash:
            raise UsageError(
                f"{path} (artifact {name}) has no hash in dvc.lock at HEAD: run the pipeline first"
            )
        latest = None
        if name in state.artifacts and (number := state.artifacts[name].latest):
            latest = state.artifacts[name].version(number)
        if latest is not None:
            before = snapshot.take(root, latest.tag, latest.commit).data.get(path)
            if before is not None and before.hash == current.hash:
                step(f"{name}: unchanged since {latest.version}, nothing to release")
                continue
        verdict = gates.validate(
            root, cfg, base=latest.commit if latest else None, head="HEAD", checks=False
        )
        if not verdict.success:
            failed = ", ".join(c.name for c in verdict.errors)
            raise GateFailed(f"{name}: gates failed ({failed}): no version registered")
        tag = registry.register(root, name, bump=bump or _bump(root, sha), ref=sha, push=push)  # type: ignore[arg-type]
        step(f"registered {tag}")
        done.append(release(root, cfg, tag, token=token, env=env, step=step))
    return done
