"""A DVC project at one revision, read as DVC reads it: every dvc.yaml (templating
included), params, metrics and plots, from git objects (or the workspace) and DVC's cache.

Modules, by concern:
- `formats`: params and metrics files parsed by suffix, with DVC's YAML 1.2 scalars.
- `files`: a revision's files, through git and DVC's cache (`.dir` manifests too).
- `pipelines`: the dvc.yaml files, checked and resolved (`wdir`, templating by DVC).
- `values`: params and metrics as `dvc params show` / `dvc metrics show` collect them.
- `plots`: plot declarations and their files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlci.dvcproject.files import Cache, Files, TreeLike
from mlci.dvcproject.pipelines import Pipeline, Problem, read_pipelines
from mlci.dvcproject.plots import PlotSpec, plot_specs
from mlci.dvcproject.values import Values, read_metrics, read_params

__all__ = ["DvcProject", "PlotSpec", "Problem", "read"]


@dataclass
class DvcProject:
    files: Files
    pipelines: list[Pipeline]
    params: Values
    metrics: Values
    plots: list[PlotSpec]
    problems: list[Problem] = field(default_factory=list)  # DVC would reject or cannot parse

    @property
    def has_pipeline(self) -> bool:
        return bool(self.pipelines or any(p.file.endswith("dvc.yaml") for p in self.problems))


def read(root: Path, tree: TreeLike, cache: Cache | None = None) -> DvcProject:
    """The project at `tree`'s revision (the workspace when its sha is None)."""
    files = Files.open(tree, cache or Cache(root), workspace=root if tree.sha is None else None)
    pipelines, problems = read_pipelines(files)
    params = read_params(files, pipelines)
    metrics = read_metrics(files, pipelines)
    project = DvcProject(files, pipelines, params, metrics, plot_specs(files, pipelines))
    for file, line, message in [*files.problems, *params.problems, *metrics.problems]:
        project.problems.append(Problem(file, line, message))
    project.problems[:0] = problems
    return project
