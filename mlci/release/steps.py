"""The steps of releasing one registered version, after deploy.py checked the tag.

Fetch the model as of its commit, register it in MLflow, build the bento and
smoke-test it served (an image too, on request), move the stage's alias, publish
the GitHub Release. Each step says what it did in the ReleaseResult.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from mlci import config, dvc, registry, snapshot, tracking
from mlci.release.card import model_card
from mlci.release.destinations import NO_GITHUB, in_mlflow, mlflow_model_name
from mlci.release.results import ReleaseResult

__all__ = ["release_version"]


def _sample(
    root: Path,
    cfg: config.Config,
    remote: dvc.Remote | None,
    commit: str,
    dest: Path,
    rows: int = 20,
) -> list[list[float]]:
    """The first rows of [tool.mlci.model] sample as of the version's commit.

    The sample is usually a pipeline output: a release job's checkout has it only in
    the DVC remote, like the model.
    """
    if not cfg.model.sample:
        return []
    dest.mkdir()
    path = dvc.export_output(root, remote, commit, cfg.model.sample, dest)
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


def _archive(folder: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as archive:
        archive.add(folder, arcname=folder.name)
    return dest


def _why_not_in_mlflow(cfg: config.Config) -> str:
    if not cfg.tracking.enabled:
        return "tracking is off ([tool.mlci.tracking] enabled = false)"
    return "no [tool.mlci.model] loader to load the model with"


def _why_no_smoke_test(cfg: config.Config, rows: list[list[float]]) -> str:
    if not cfg.model.sample:
        return "no [tool.mlci.model] sample to send"
    if not rows:
        return f"the sample {cfg.model.sample} has no rows"
    return "no [tool.mlci.model] loader for the expected predictions"


def _snapshot(root: Path, remote: dvc.Remote | None, rev: str, sha: str) -> snapshot.Snapshot:
    """The revision's metrics and params, with DVC-cached metrics fetched from the remote
    (a release job's checkout has no DVC cache)."""
    taken = snapshot.take(root, rev, sha)
    if taken.unavailable and dvc.fetch_outputs(root, remote, sha, sorted(taken.unavailable)):
        taken = snapshot.take(root, rev, sha)
    return taken


def release_version(
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
    remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    model_name = mlflow_model_name(cfg, info.name)
    version_tag = version.tag
    with tempfile.TemporaryDirectory(prefix="mlci-release-") as scratch:
        work = Path(scratch)
        step(f"fetching {path} as of {version.commit[:8]}")
        model_dir = dvc.export_output(root, remote, version.commit, path, work)
        rows = _sample(root, cfg, remote, version.commit, work / "sample")
        expected = (
            _local_predictions(root, cfg.model.loader, model_dir, rows)
            if rows and cfg.model.loader
            else []
        )
        head = _snapshot(root, remote, version_tag, version.commit)
        previous = _previous(artifact, version.version)
        base = _snapshot(root, remote, previous.tag, previous.commit) if previous else None

        mlflow_version = None
        if in_mlflow(cfg):
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
                output_example=expected[:5] or None,
                git_tag=version_tag,
                tags={"mlci.commit": version.commit, "mlci.data_version": data_version},
                metrics={k: v for values in head.metrics.values() for k, v in values.items()},
            )
            result.mlflow = mlflow_version.to_dict() | {"reused": mlflow_version.reused}
            number = mlflow_version.version
            if mlflow_version.reused:
                already = f"{model_name} version {number} (registered for {version_tag} already)"
                result.outcome("MLflow", "reused", already)
            else:
                result.outcome("MLflow", "done", f"registered {model_name} version {number}")
        else:
            result.outcome("MLflow", "skipped", _why_not_in_mlflow(cfg))

        if cfg.release.service:
            _bento(
                root,
                cfg,
                result,
                version,
                model_dir,
                model_name,
                (rows, expected),
                work,
                step,
                push_image if containerize else False,
            )
        else:
            result.outcome("bento", "skipped", "no [tool.mlci.release] service to build")

        if info.action == "assign" and info.stage and mlflow_version is not None:
            # a rollback may have moved it already: setting it again changes nothing
            step(f"moving the MLflow alias {info.stage} to version {mlflow_version.version}")
            tracking.set_alias(cfg.tracking_uri, model_name, info.stage, mlflow_version.version)
            result.alias = f"{model_name}@{info.stage} -> {mlflow_version.version}"
            result.outcome("alias", "done", f"MLflow alias {result.alias}")
        elif info.action == "assign":
            result.outcome("alias", "skipped", "no MLflow model version to move it to")

        if info.action == "register" and github_client is not None:
            _publish(
                github_client,
                result,
                info,
                version,
                model_dir,
                head,
                base,
                previous,
                work,
                cfg,
                step,
            )
        elif info.action == "register":
            result.outcome("GitHub Release", "skipped", NO_GITHUB)
        shutil.rmtree(work / "feedback", ignore_errors=True)


def _publish(
    github_client: Any,
    result: ReleaseResult,
    info: registry.TagInfo,
    version: registry.Version,
    model_dir: Path,
    head: snapshot.Snapshot,
    base: snapshot.Snapshot | None,
    previous: registry.Version | None,
    work: Path,
    cfg: config.Config,
    step: Callable[[str], None],
) -> None:
    """The GitHub Release of a registration tag: the model card, the model, metrics, the bento."""
    from mlci.release import bento

    model_name = mlflow_model_name(cfg, info.name)
    home = cfg.state_path / "bentoml"
    from mlci import github

    step(f"publishing the GitHub Release {result.tag}")
    assets = [_archive(model_dir, work / f"{model_name}-{version.version}.tar.gz")]
    metrics_file = work / "metrics.json"
    metrics_file.write_text(json.dumps(head.metrics, indent=2, default=str))
    assets.append(metrics_file)
    if result.bento:
        # named after the version, not the build: a re-run finds it already there
        assets.append(
            bento.export(result.bento, work / f"{model_name}-{version.version}.bento", home=home)
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
    result.release_url, created = github.upsert_release(
        github_client, result.tag, f"{info.name} {version.version}", body, assets
    )
    done = "created" if created else "updated"
    result.outcome("GitHub Release", "done", f"{done}: {result.release_url}")


def _bento(
    root: Path,
    cfg: config.Config,
    result: ReleaseResult,
    version: registry.Version,
    model_dir: Path,
    model_name: str,
    sample: tuple[list[list[float]], list[int]],
    work: Path,
    step: Callable[[str], None],
    image: str | Literal[False] | None,
) -> None:
    """Build the bento; serve and smoke-test it when a sample and the expected answers exist;
    an image of it when `image` is not False (pushed to `image` when that is a registry)."""
    from mlci.release import bento, smoke

    home = cfg.state_path / "bentoml"
    step(f"building the bento of {cfg.release.service}")
    bento_model = bento.save_model(
        model_dir,
        model_name,
        labels={"git_tag": version.tag.replace("@", "-at-"), "commit": version.commit[:12]},
        metadata={"git_tag": version.tag, "commit": version.commit},
        home=home,
    )
    result.bento = bento.build(
        cfg.release.service, bento_model, root=root, home=home, name=model_name
    )
    result.outcome("bento", "done", f"built {result.bento} ({cfg.release.service})")
    rows, expected = sample
    if rows and expected:
        step(f"smoke test: serving {result.bento} on 127.0.0.1")
        with bento.serve(result.bento, home=home, feedback_store=work / "feedback") as url:
            smoke.smoke_test(url, rows, expected)
        result.smoke_tested = True
        result.outcome("smoke test", "done", f"passed: {len(rows)} served predictions as expected")
    else:
        result.outcome("smoke test", "skipped", _why_no_smoke_test(cfg, rows))
    if image is not False:
        step("containerizing the bento")
        built = bento.containerize(result.bento, push_image=image, home=home)
        result.outcome(
            "image", "done", f"built {built}" + (f", pushed to {image}" if image else "")
        )
