"""Everything known about one revision: params, metrics, plots data, data versions, stages.

Read from git objects and DVC's cache by hash (mlci.dvcproject), not through DVC's
repository machinery, so a report costs a few file reads per revision whatever the
length of history. Only a templated dvc.yaml brings in DVC's resolver.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlci import data_versions, dvc, dvcproject, git
from mlci.data_versions import DataVersion
from mlci.dvcproject import PlotSpec
from mlci.errors import UsageError

__all__ = [
    "WORKSPACE",
    "DataVersion",
    "PlotSpec",
    "Snapshot",
    "StageState",
    "Tree",
    "from_json_value",
    "take",
    "to_json",
]

WORKSPACE = "workspace"


class Tree:
    """Files of one revision: the working tree, or a commit read from git objects."""

    def __init__(self, root: Path, sha: str | None) -> None:
        self.root = root
        self.sha = sha
        self._git = git.CommitReader(root, sha) if sha else None
        self._listing: list[str] | None = None

    def read(self, relpath: str) -> bytes | None:
        if self._git is not None:
            return self._git.read(relpath)
        path = self.root / relpath
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def files(self, suffix: str) -> list[str]:
        if self._git is not None:
            if self._listing is None:  # one `git ls-tree` per revision, whoever asks
                self._listing = self._git.files("")
            return [name for name in self._listing if name.endswith(suffix)]
        found = []
        for path in self.root.rglob(f"*{suffix}"):
            rel = path.relative_to(self.root)
            if not any(part.startswith(".") or part in {"node_modules"} for part in rel.parts[:-1]):
                found.append(rel.as_posix())
        return sorted(found)


@dataclass(frozen=True)
class StageState:
    name: str
    cmd: str
    deps: dict[str, str | None]
    params: dict[str, Any]
    outs: dict[str, str | None]


@dataclass
class Snapshot:
    rev: str
    sha: str | None
    params: dict[str, Any] = field(default_factory=dict)  # "file:key" ("key" for params.yaml)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> flat values
    unavailable: dict[str, str] = field(default_factory=dict)  # metrics or plots file -> why
    # files recorded at this revision whose contents the local DVC cache lacks: unknown, not absent
    unread: set[str] = field(default_factory=set)
    data: dict[str, DataVersion] = field(default_factory=dict)
    stages: dict[str, StageState] = field(default_factory=dict)
    plots: list[PlotSpec] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # plots and extra files -> raw contents
    cached: dict[str, str] = field(default_factory=dict)  # out path -> md5, from dvc.lock
    has_pipeline: bool = True
    param_files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> flat values
    declared_in: dict[str, str] = field(default_factory=dict)  # params/metrics file -> dvc.yaml
    pipelines: list[str] = field(default_factory=list)  # the dvc.yaml files read
    problems: list[str] = field(default_factory=list)  # "file:line at rev: why" (bad input)
    metrics_declared: bool = False  # some dvc.yaml declares a metrics file


def _parse(raw: bytes, name: str) -> Any:
    try:
        return dvc.parse(raw.decode("utf-8"), name.split(" at ", maxsplit=1)[0])
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{name}: cannot parse: {str(exc).splitlines()[0]}") from None


def _out_hash(entry: dict[str, Any]) -> str | None:
    value = entry.get("md5") or entry.get("etag") or entry.get("checksum")
    return str(value) if value else None


def _add_output(snap: Snapshot, out: DataVersion) -> None:
    """One output of a dvc.lock or of a .dvc file: its version, and where the cache has it."""
    if out.hash:
        snap.cached[out.path] = out.hash
    snap.data[out.path] = out


def _lock_params(by_file: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for file, values in by_file.items():
        prefix = "" if file == "params.yaml" else f"{file}:"
        flat.update({f"{prefix}{k}": v for k, v in dvc.flatten(values or {}).items()})
    return flat


@contextmanager
def _shaped(where: str, kind: str) -> Iterator[None]:
    """A document of another shape than DVC writes (a list, a number...) is bad input, named."""
    try:
        yield
    except (AttributeError, TypeError, LookupError, ValueError, StopIteration):
        raise UsageError(f"{where}: not a {kind} as DVC writes one") from None


def _read_data(tree: Tree, snap: Snapshot, project: dvcproject.DvcProject) -> None:
    """Stages of every dvc.lock that its dvc.yaml still has (DVC ignores the others), and
    the outputs of those and of the .dvc files."""

    def parse(raw: bytes, name: str) -> Any:
        return _parse(raw, f"{name} at {snap.rev}")

    known = {p.path: frozenset(s.name for s in p.stages) for p in project.pipelines}
    stages, outputs = data_versions.read(tree, parse, known)
    for stage in stages:
        lock = stage.lock

        def paths(entries: Any, wdir: str = stage.wdir) -> dict[str, str | None]:
            return {
                data_versions.join(wdir, str(e["path"])): _out_hash(e)
                for e in entries or []
                if isinstance(e, dict) and "path" in e
            }

        snap.stages[stage.name] = StageState(
            name=stage.name,
            cmd=str(lock.get("cmd", "")),
            deps=paths(lock.get("deps")),
            params=_lock_params(lock.get("params") or {}),
            outs=paths(lock.get("outs")),
        )
    for out in outputs:
        _add_output(snap, out)


def _problem_line(problem: dvcproject.Problem, rev: str) -> str:
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    return f"{where} at {rev}: {problem.message}"


def take(root: Path, rev: str, sha: str | None, *, extra: tuple[str, ...] = ()) -> Snapshot:
    """The snapshot of `rev`; `sha` None means the working tree. `extra` files are read too.

    Every dvc.yaml of the revision is read (mlci.dvcproject). A file DVC would reject or
    cannot parse becomes a `problems` line, and the rest is still read.
    """
    tree = Tree(root, sha)
    snap = Snapshot(rev=rev, sha=sha)
    project = dvcproject.read(root, tree)
    snap.problems = [_problem_line(p, rev) for p in project.problems]
    try:
        with _shaped(f"dvc.lock or a .dvc file at {rev}", "DVC file"):
            _read_data(tree, snap, project)
    except UsageError as exc:
        # a dvc.lock or .dvc file that does not parse; a bad dvc.yaml is named above already
        if not project.problems:
            snap.problems.append(exc.message)
    if not project.has_pipeline:
        # data tracked with `dvc add` alone, no pipeline yet
        snap.has_pipeline = False
        return snap
    snap.pipelines = [p.path for p in project.pipelines]
    snap.param_files = project.params.by_file
    for file, values in project.params.by_file.items():
        prefix = "" if file == "params.yaml" else f"{file}:"
        snap.params.update({f"{prefix}{k}": v for k, v in values.items()})
    snap.metrics = project.metrics.by_file
    snap.metrics_declared = bool(project.metrics.pipeline)
    snap.declared_in = {**project.params.pipeline, **project.metrics.pipeline}
    snap.unavailable.update(project.metrics.notes)
    files = project.files
    for file in extra:
        if (content := files.read(file)) is not None:
            snap.files[file] = content
        elif file not in files.missing:
            snap.unavailable[file] = "not found"
    snap.plots = project.plots
    for spec in snap.plots:
        for file in spec.files:
            if file not in snap.files and (data := files.read(file)) is not None:
                snap.files[file] = data
            elif file not in snap.files and file not in files.missing:
                snap.unavailable[file] = "not found"
    snap.unavailable.update(files.missing)
    snap.unread = set(files.missing)
    return snap


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def to_json(value: Any) -> Any:
    """Values as strict JSON can hold them: dates and such as text, and the floats JSON has
    no literal for as the strings "NaN", "Infinity" and "-Infinity" (docs/report.md)."""
    return _finite(json.loads(json.dumps(value, default=str)))


def from_json_value(value: Any) -> Any:
    """A metric or param value read back from mlci's JSON: "NaN" and the infinities are floats."""
    if isinstance(value, float):
        return value
    return _NON_FINITE.get(value, value) if isinstance(value, str) else value
