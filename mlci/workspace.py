"""What the workspace's DVC project declares, for the commands that act on the workspace.

`mlci run`, `mlci release --auto`, `mlci validate model`, `mlci init` and `mlci doctor`
read here the stages, params, metrics, plots and artifacts of every dvc.yaml (sub-folder
pipelines and templating included), with paths relative to the repository root as DVC
prints them. It is the reading the report takes of a revision (mlci.dvcproject), of the
working tree: one reading serves every command. DVC is imported only for a templated
dvc.yaml.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci import dvcproject, snapshot
from mlci.dvcproject import DvcProject, Problem
from mlci.errors import UsageError

__all__ = ["ROOT_PIPELINE", "Project", "find_project", "load_project"]

ROOT_PIPELINE = "dvc.yaml"  # what `dvc repro` runs without targets (from the root)


@dataclass
class Project:
    """Every dvc.yaml of the working tree, as DVC reads them; paths repo-relative."""

    root: Path
    reading: DvcProject = field(repr=False)
    pipelines: list[str] = field(default_factory=list)  # the dvc.yaml files, root first
    stages: list[str] = field(default_factory=list)  # DVC's addressing: `a/dvc.yaml:train`
    params: dict[str, list[str]] = field(default_factory=dict)  # file -> keys ([] = all)
    metrics: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)  # the plots' files
    # `name` in the root dvc.yaml, `dir:name` in dir/dvc.yaml (GTO's tags name it so;
    # DVC also takes `dir/dvc.yaml:name`); `path` repo-relative
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    declared_in: dict[str, str] = field(default_factory=dict)  # metrics or plots file -> dvc.yaml

    @property
    def locks(self) -> list[str]:
        """The dvc.lock beside each dvc.yaml that has one, repo-relative."""
        found = (posixpath.join(posixpath.dirname(p), "dvc.lock") for p in self.pipelines)
        return [lock for lock in found if (self.root / lock).is_file()]

    def refuse_without_targets(self, targets: Sequence[str], command: str) -> None:
        """`dvc repro` without targets takes the root dvc.yaml, and refuses when there is none:
        so do `mlci run` and `mlci plan`, naming the pipelines there are (exit 2)."""
        if targets or ROOT_PIPELINE in self.pipelines:
            return
        raise UsageError(
            f"no dvc.yaml in {self.root} to {command} without targets: "
            f"the pipelines are in {', '.join(self.pipelines)}",
            hint=f"name the pipelines to {command}: mlci {command} {' '.join(self.pipelines)}",
        )

    def read_params(self) -> dict[str, Any]:
        """Every param `dvc params show` shows, flattened: `key` in the root params.yaml,
        `file:key` elsewhere. A declared params file that is missing, or one that does not
        parse, is bad input (exit 2), named."""
        files = self.reading.files
        values = self.reading.params
        for file in self.params:
            if not files.exists(file):
                where = values.pipeline.get(file) or ROOT_PIPELINE
                raise UsageError(f"{file}: params file declared in {where} is missing")
        if values.problems:
            raise UsageError(_line(Problem(*values.problems[0])))
        flat: dict[str, Any] = {}
        for file, by_key in values.by_file.items():
            prefix = "" if file == "params.yaml" else f"{file}:"
            flat.update({f"{prefix}{k}": v for k, v in by_key.items()})
        return flat


def _line(problem: Problem) -> str:
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    return f"{where}: {problem.message}"


def _params(reading: DvcProject) -> dict[str, list[str]]:
    declared: dict[str, list[str] | None] = {}  # None: the whole file
    for pipeline in reading.pipelines:
        entries = [
            *(e for s in pipeline.stages for e in s.params),
            *((f, []) for f in pipeline.params),
        ]
        for file, keys in entries:
            current = declared.get(file, [])
            declared[file] = None if not keys or current is None else [*current, *keys]
    if not declared and reading.files.exists("params.yaml"):
        declared["params.yaml"] = None
    return {file: list(dict.fromkeys(keys or [])) for file, keys in declared.items()}


def _artifacts(reading: DvcProject) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for pipeline in reading.pipelines:
        folder = pipeline.folder
        for name, declared in pipeline.artifacts.items():
            meta = dict(declared)
            path = meta.get("path")
            if folder and isinstance(path, str) and "://" not in path:
                meta["path"] = posixpath.normpath(posixpath.join(folder, path))
            found[f"{folder}:{name}" if folder else name] = meta
    return found


def _project(root: Path, reading: DvcProject) -> Project:
    project = Project(root=root, reading=reading)
    for pipeline in reading.pipelines:
        project.pipelines.append(pipeline.path)
        prefix = "" if pipeline.path == ROOT_PIPELINE else f"{pipeline.path}:"
        project.stages += [f"{prefix}{stage.name}" for stage in pipeline.stages]
        for file in [*(m for s in pipeline.stages for m in s.metrics), *pipeline.metrics]:
            project.declared_in.setdefault(file, pipeline.path)
            project.metrics.append(file)
    for spec in reading.plots:
        for file in spec.files:
            project.declared_in.setdefault(file, spec.pipeline)
            project.plots.append(file)
    project.metrics = list(dict.fromkeys(project.metrics))
    project.plots = list(dict.fromkeys(project.plots))
    project.params = _params(reading)
    project.artifacts = _artifacts(reading)
    return project


def find_project(root: Path) -> Project | None:
    """The working tree's project; None when it has no dvc.yaml at all. A dvc.yaml that
    DVC would refuse or cannot parse is bad input (exit 2), named with its line."""
    reading = dvcproject.read(root, snapshot.Tree(root, None))
    broken = [p for p in reading.problems if posixpath.basename(p.file) == ROOT_PIPELINE]
    if broken:
        raise UsageError(_line(broken[0]))
    if not reading.pipelines:
        return None
    return _project(root, reading)


def load_project(root: Path) -> Project:
    """The working tree's project; no dvc.yaml anywhere is bad input (exit 2)."""
    project = find_project(root)
    if project is None:
        raise UsageError(
            f"no dvc.yaml in {root}",
            hint="mlci runs a DVC pipeline: create one with `dvc stage add`",
        )
    return project
