"""`mlci release TAG`: a registry tag becomes an MLflow model version, a bento, a GitHub Release.

The git tags lead; everything here follows them. A registration tag registers,
builds, smoke-tests and publishes. A stage tag moves the MLflow alias named
after the stage, only after that version's bento passed its smoke test, inside
a GitHub deployment whose status says how it went. Nothing is half-promoted:
on any failure the alias stays where it was and the deployment says failure.
`rollback` gives a stage back to its previous holder: the tag, the alias and a
deployment together, or none of them.
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci import ci, config, dvc, git, hardware, registry, snapshot, tracking
from mlci.errors import MlciError, ServiceError, UsageError
from mlci.report import safe

__all__ = [
    "Outcome",
    "ReleaseResult",
    "RollbackResult",
    "auto",
    "choose_bump",
    "release",
    "rollback",
    "tag_from_env",
]


@dataclass
class Outcome:
    """What one step of a release did: `done`, `reused` (there already) or `skipped` (why)."""

    step: str  # "MLflow", "bento", "smoke test", "image", "alias", "GitHub Release", "deployment"
    status: Literal["done", "reused", "skipped"]
    detail: str


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
    outcomes: list[Outcome] = field(default_factory=list)

    def outcome(self, step: str, status: Literal["done", "reused", "skipped"], detail: str) -> None:
        self.outcomes.append(Outcome(step, status, detail))

    @property
    def released(self) -> bool:
        """Whether this run made something: a model version, a bento, a Release, an alias move."""
        return any(o.status == "done" for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"released": self.released}


def tag_from_env(env: Mapping[str, str] | None = None) -> str:
    context = ci.context(env)
    if context.ref and context.ref.startswith("refs/tags/"):
        return context.ref.removeprefix("refs/tags/")
    raise UsageError("no tag given and GITHUB_REF is not a tag: mlci release TAG")


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


def _model_name(cfg: config.Config, artifact: str) -> str:
    return cfg.release.registered_model or artifact.replace("/", "-").replace(":", "-")


def _in_mlflow(cfg: config.Config) -> bool:
    """Whether the release path registers versions in MLflow (and so keeps aliases)."""
    return bool(cfg.tracking.enabled and cfg.model.loader)


def _github(token: str | None, context: ci.CiContext) -> Any:
    """A GitHub client when a token and the repository are known, else None."""
    token = token or context.token
    if not (token and context.repository):
        return None
    from mlci import github

    return github.Client(token, context.repository, api_url=context.api_url)


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
        result.outcome("release", "skipped", f"a {info.event} tag deploys nothing")
        return result
    version, path = _version_of(info, artifact, tag)
    result.version, result.commit = version.version, version.commit

    context = ci.context(env)
    github_client = _github(token, context)
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
        result.outcome("deployment", "done", f"GitHub deployment to {info.stage}: success")
    elif info.action == "assign":
        result.outcome("deployment", "skipped", _NO_GITHUB)
    return result


_NO_GITHUB = "no GitHub token or GITHUB_REPOSITORY"


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
    remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    model_name = _model_name(cfg, info.name)
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
            result.outcome("GitHub Release", "skipped", _NO_GITHUB)
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

    model_name = _model_name(cfg, info.name)
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
    from mlci.release import bento

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
            bento.smoke_test(url, rows, expected)
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


_BUMPS = ("major", "minor", "patch")


def _trailer_bump(root: Path, sha: str) -> str | None:
    """`Release-Bump: major|minor|patch`, a trailer of the commit message."""
    import subprocess

    done = subprocess.run(
        ["git", "log", "-1", "--format=%(trailers:key=Release-Bump,valueonly)", sha],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    value = done.stdout.strip().lower()
    return value if value in _BUMPS else None


def _label_bump(labels: list[str], prefix: str) -> str | None:
    """The largest bump among labels PREFIX{major,minor,patch}."""
    names = {label.lower() for label in labels}
    return next((bump for bump in _BUMPS if f"{prefix}{bump}".lower() in names), None)


def choose_bump(
    root: Path,
    cfg: config.Config,
    sha: str,
    *,
    github_client: Any,
    step: Callable[[str], None] = lambda _: None,
) -> tuple[str, str]:
    """(bump, where it came from): the commit's trailer, else its merged PR's label, else patch.

    The trailer wins: it is in git, written for this very commit, and read the
    same offline. Labels are asked of GitHub only when there is no trailer.
    """
    if bump := _trailer_bump(root, sha):
        return bump, "the commit's Release-Bump trailer"
    prefix = cfg.release.bump_label_prefix
    if not prefix:
        return "patch", "the default"
    if github_client is None:
        step("no GitHub token or GITHUB_REPOSITORY: bump from the Release-Bump trailer only")
        return "patch", "the default (PR labels not read: no GitHub token)"
    found = github_client.merged_pull_labels(sha)
    if found is None:
        return "patch", f"the default (no merged pull request for {sha[:8]})"
    number, labels = found
    if bump := _label_bump(labels, prefix):
        return bump, f"the label {prefix}{bump} of #{number}"
    return "patch", f"the default (#{number} has no {prefix}major/minor/patch label)"


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

    Only when the gates pass. The bump: `bump`, else `choose_bump` (trailer, PR
    label, patch). The tag is made and released in this same job: a tag pushed
    with a workflow's GITHUB_TOKEN starts no new workflow run.
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
    chosen: tuple[str, str] | None = (bump, "--bump") if bump else None
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
        if chosen is None:  # once, and only when a model is due: it may ask GitHub
            github_client = _github(token, ci.context(env))
            chosen = choose_bump(root, cfg, sha, github_client=github_client, step=step)
        tag = registry.register(root, name, bump=chosen[0], ref=sha, push=push)  # type: ignore[arg-type]
        step(f"registered {tag} ({chosen[0]} bump, from {chosen[1]})")
        result = release(root, cfg, tag, token=token, env=env, step=step)
        result.notes.append(f"{chosen[0]} bump, from {chosen[1]}")
        done.append(result)
    return done


@dataclass
class RollbackResult:
    name: str
    stage: str
    version: str  # holds the stage now
    previous: str  # held it before this rollback
    tag: str  # the stage tag that records it
    created: bool = False  # a new tag was written (False: the stage was rolled back already)
    pushed: bool = False
    mlflow_version: str | None = None
    alias: str | None = None
    deployment: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rollback(
    root: Path,
    cfg: config.Config,
    name: str,
    stage: str,
    *,
    push: bool = False,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> RollbackResult:
    """Give `stage` back to its previous holder: a stage tag, the MLflow alias, a deployment.

    Everything that can refuse is asked before anything is written: the tags
    (who held the stage), then MLflow (the previous holder must have been
    released there: its version is the one tagged `mlci.git_tag`). Then, inside
    a GitHub deployment: the tag (local), the alias, the push. A failure undoes
    what was done, in reverse, and the deployment says failure. Idempotent: when
    the stage is rolled back already, no tag is written, and only an alias left
    behind (a tag written by gto or by hand) is moved.
    """
    plan = registry.plan_rollback(root, name, stage)
    result = RollbackResult(name, stage, plan.version, plan.current, plan.current_tag)
    model_name = _model_name(cfg, name)
    target, before = _alias_move(cfg, plan, model_name, result)
    if plan.done and before == target:
        result.notes.append(
            f"{name} {stage} is rolled back to {plan.version} already "
            f"({plan.current_tag} rolled back {plan.rolled_back}): nothing to do"
        )
        return result

    context = ci.context(env)
    deployment = _rollback_deployment(_github(token, context), plan, result)
    tag = None
    moved = False
    try:
        if deployment is not None:
            deployment.status(
                "in_progress", f"rolling {name} back to {plan.version}", log_url=context.run_url
            )
        if not plan.done:
            tag = registry.apply_rollback(root, plan)
            step(f"tagged {tag}")
            result.tag, result.created = tag, True
        if target is not None:
            if before != target:
                step(f"moving the MLflow alias {stage} to version {target}")
                tracking.set_alias(cfg.tracking_uri, model_name, stage, target)
                moved = True
            result.alias = f"{model_name}@{stage} -> {target}"
        if tag and push:
            step(f"pushing {tag}")
            registry.push_tag(root, tag)
            result.pushed = True
    except (MlciError, KeyboardInterrupt) as exc:
        undone = _undo(root, cfg, model_name, stage, before, moved, tag)
        _report_failure(exc, undone, deployment, context.run_url, tag_made=tag is not None)
        raise
    if plan.done:
        result.notes.append(f"{plan.current_tag} was there already: the alias followed it")
    if deployment is not None:
        try:
            deployment.status(
                "success", f"{name} {plan.version} is {stage} again", log_url=context.run_url
            )
        except ServiceError as exc:
            exc.hint = "the rollback itself is done; only the deployment status is missing"
            raise
    return result


def _alias_move(
    cfg: config.Config, plan: registry.RollbackPlan, model_name: str, result: RollbackResult
) -> tuple[str | None, str | None]:
    """(MLflow version the alias goes to, where it is now); (None, None) without MLflow.

    The version is the one the release path registered for the previous holder's
    registration tag; a holder never released there is refused, nothing changed.
    """
    if not _in_mlflow(cfg):
        result.notes.append(
            "no MLflow model to move (tracking off or no [tool.mlci.model] loader): only the tag"
        )
        return None, None
    uri = cfg.tracking_uri
    found = tracking.find_version(uri, model_name, plan.version_tag)
    if found is None:
        raise UsageError(
            f"{plan.name} {plan.version} was never released to MLflow ({uri} has no version "
            f"of {model_name} tagged mlci.git_tag={plan.version_tag}): nothing changed",
            hint=f"run `mlci release {plan.version_tag}` first, then roll back again",
        )
    result.mlflow_version = found.version
    return found.version, tracking.get_alias(uri, model_name, plan.stage)


def _rollback_deployment(
    github_client: Any, plan: registry.RollbackPlan, result: RollbackResult
) -> Any:
    if github_client is None:
        result.notes.append("no GitHub token or GITHUB_REPOSITORY: no deployment recorded")
        return None
    from mlci import github

    deployment = github.create_deployment(
        github_client,
        plan.commit,
        plan.stage,
        f"roll {plan.name} {plan.stage} back to {plan.version}",
        {"artifact": plan.name, "version": plan.version, "rollback_of": plan.current_tag},
    )
    result.deployment = plan.stage
    return deployment


def _report_failure(
    exc: BaseException, undone: str, deployment: Any, log_url: str | None, *, tag_made: bool
) -> None:
    """The deployment says failure; the error says what was undone."""
    cause = exc.message if isinstance(exc, MlciError) else "interrupted"
    clean = "could not" not in undone
    if deployment is not None:
        # GitHub keeps 140 characters: the state things are in goes first
        summary = "undone, nothing changed" if clean else "NOT fully undone"
        with contextlib.suppress(MlciError):
            deployment.status("failure", f"{summary}: {cause}", log_url=log_url)
    if isinstance(exc, MlciError):
        exc.message = cause + undone
        exc.args = (exc.message,)
        if tag_made and clean:
            exc.hint = "nothing is left behind: roll back again once that is fixed"


def _undo(
    root: Path,
    cfg: config.Config,
    model_name: str,
    stage: str,
    before: str | None,
    moved: bool,
    tag: str | None,
) -> str:
    """Take back the alias move and the local tag; what could not be undone, as a sentence."""
    left = []
    if moved:
        try:
            if before is None:
                tracking.delete_alias(cfg.tracking_uri, model_name, stage)
            else:
                tracking.set_alias(cfg.tracking_uri, model_name, stage, before)
        except MlciError:
            left.append(f"the alias {model_name}@{stage} could not be moved back to {before}")
    if tag:
        try:
            registry.delete_tag(root, tag)
        except MlciError:
            left.append(f"the local tag {tag} could not be deleted")
    if left:
        return " (undone, but " + "; ".join(left) + ")"
    return " (undone: the tags and the alias are as they were)"
