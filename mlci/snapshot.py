"""Everything known about one revision: params, metrics, plots data, data versions, stages.

Read from git objects and DVC's cache by hash, never through DVC itself, so a
report costs a few file reads per revision whatever the length of history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlci import dvc, git
from mlci.errors import UsageError

__all__ = ["WORKSPACE", "DataVersion", "PlotSpec", "Snapshot", "StageState", "Tree", "take"]

WORKSPACE = "workspace"


class Tree:
    """Files of one revision: the working tree, or a commit read from git objects."""

    def __init__(self, root: Path, sha: str | None) -> None:
        self.root = root
        self.sha = sha
        self._git = git.CommitReader(root, sha) if sha else None

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
            return self._git.files(suffix)
        found = []
        for path in self.root.rglob(f"*{suffix}"):
            rel = path.relative_to(self.root)
            if not any(part.startswith(".") or part in {"node_modules"} for part in rel.parts[:-1]):
                found.append(rel.as_posix())
        return sorted(found)


@dataclass(frozen=True)
class DataVersion:
    path: str
    hash: str | None
    size: int | None
    files: int | None
    source: str  # the .dvc file, or "dvc.lock:<stage>"


@dataclass(frozen=True)
class StageState:
    name: str
    cmd: str
    deps: dict[str, str | None]
    params: dict[str, Any]
    outs: dict[str, str | None]


@dataclass(frozen=True)
class PlotSpec:
    id: str
    files: tuple[str, ...]
    x: str | None
    ys: dict[str, tuple[str, ...]]  # file -> fields
    template: str
    title: str


@dataclass
class Snapshot:
    rev: str
    sha: str | None
    params: dict[str, Any] = field(default_factory=dict)  # "file:key" ("key" for params.yaml)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> flat values
    unavailable: dict[str, str] = field(default_factory=dict)  # metrics or plots file -> why
    data: dict[str, DataVersion] = field(default_factory=dict)
    stages: dict[str, StageState] = field(default_factory=dict)
    plots: list[PlotSpec] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # plots and extra files -> raw contents
    cached: dict[str, str] = field(default_factory=dict)  # out path -> md5, from dvc.lock
    has_pipeline: bool = True


def _parse(raw: bytes, name: str) -> Any:
    try:
        return dvc.parse(raw.decode("utf-8"), name.split(" at ", maxsplit=1)[0])
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{name}: cannot parse: {str(exc).splitlines()[0]}") from None


def _out_hash(entry: dict[str, Any]) -> str | None:
    value = entry.get("md5") or entry.get("etag") or entry.get("checksum")
    return str(value) if value else None


def _add_output(snap: Snapshot, path: str, out: dict[str, Any], source: str) -> None:
    """One output of dvc.lock or of a .dvc file: its version, and where the cache has it."""
    digest = _out_hash(out)
    if digest:
        snap.cached[path] = digest
    snap.data[path] = DataVersion(
        path=path, hash=digest, size=out.get("size"), files=out.get("nfiles"), source=source
    )


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


def _read_lock(tree: Tree, snap: Snapshot) -> None:
    raw = tree.read("dvc.lock")
    if raw is None:
        return
    with _shaped(f"dvc.lock at {snap.rev}", "lock file"):
        _read_lock_document(_parse(raw, f"dvc.lock at {snap.rev}") or {}, snap)


def _read_lock_document(lock: Any, snap: Snapshot) -> None:
    for name, stage in (lock.get("stages") or {}).items():
        deps = {str(d["path"]): _out_hash(d) for d in stage.get("deps") or [] if "path" in d}
        outs = {str(o["path"]): _out_hash(o) for o in stage.get("outs") or [] if "path" in o}
        snap.stages[str(name)] = StageState(
            name=str(name),
            cmd=str(stage.get("cmd", "")),
            deps=deps,
            params=_lock_params(stage.get("params") or {}),
            outs=outs,
        )
        for out in stage.get("outs") or []:
            _add_output(snap, str(out.get("path", "")), out, f"dvc.lock:{name}")


def _read_dvc_files(tree: Tree, snap: Snapshot) -> None:
    for relpath in tree.files(".dvc"):
        raw = tree.read(relpath)
        if raw is None:
            continue
        document = _parse(raw, f"{relpath} at {snap.rev}") or {}
        folder = str(Path(relpath).parent)
        with _shaped(f"{relpath} at {snap.rev}", ".dvc file"):
            for out in document.get("outs") or []:
                path = str(out.get("path", ""))
                _add_output(snap, path if folder == "." else f"{folder}/{path}", out, relpath)


def _plot_specs(document: dict[str, Any]) -> list[PlotSpec]:
    specs: list[PlotSpec] = []
    for stage in (document.get("stages") or {}).values():
        for entry in (stage or {}).get("plots") or []:
            path, props = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            props = props or {}
            y = props.get("y")
            ys = (y,) if isinstance(y, str) else tuple(y or ())
            specs.append(
                PlotSpec(
                    id=str(path),
                    files=(str(path),),
                    x=props.get("x"),
                    ys={str(path): ys},
                    template=str(props.get("template", "linear")),
                    title=str(props.get("title", path)),
                )
            )
    for entry in document.get("plots") or []:
        if isinstance(entry, str):
            specs.append(PlotSpec(entry, (entry,), None, {entry: ()}, "linear", entry))
            continue
        plot_id, props = next(iter(entry.items()))
        props = props or {}
        y = props.get("y")
        fields: dict[str, tuple[str, ...]]
        if isinstance(y, dict):
            fields = {str(f): tuple([v] if isinstance(v, str) else v) for f, v in y.items()}
        else:
            fields = {str(plot_id): (y,) if isinstance(y, str) else tuple(y or ())}
        x = props.get("x")
        specs.append(
            PlotSpec(
                id=str(plot_id),
                files=tuple(fields),
                x=x if isinstance(x, str) else None,
                ys=fields,
                template=str(props.get("template", "linear")),
                title=str(props.get("title", plot_id)),
            )
        )
    return specs


class _Cache:
    """DVC's local cache, read by hash: `<cache>/files/md5/ab/cdef…` (DVC 3 layout)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / ".dvc" / "cache" / "files" / "md5"

    def read(self, digest: str) -> bytes | None:
        if digest.endswith(".dir"):
            return None
        try:
            return (self.dir / digest[:2] / digest[2:]).read_bytes()
        except OSError:
            return None


def _read_output(tree: Tree, cache: _Cache, snap: Snapshot, relpath: str) -> bytes | None:
    """A file at this revision: the working tree, git objects, or DVC's cache by its lock hash."""
    raw = tree.read(relpath)
    if raw is not None:
        return raw
    digest = snap.cached.get(relpath)
    if digest:
        raw = cache.read(digest)
        if raw is None:
            snap.unavailable[relpath] = (
                f"not in the local DVC cache ({digest[:8]}); --pull fetches it"
            )
        return raw
    snap.unavailable[relpath] = "not found"
    return None


def take(root: Path, rev: str, sha: str | None, *, extra: tuple[str, ...] = ()) -> Snapshot:
    """The snapshot of `rev`; `sha` None means the working tree. `extra` files are read too."""
    tree = Tree(root, sha)
    snap = Snapshot(rev=rev, sha=sha)
    raw = tree.read("dvc.yaml")
    if raw is None:
        # data tracked with `dvc add` alone, no pipeline yet
        _read_dvc_files(tree, snap)
        snap.has_pipeline = False
        return snap
    document = _parse(raw, f"dvc.yaml at {rev}") or {}
    if not isinstance(document, dict):
        raise UsageError(f"dvc.yaml at {rev}: expected a mapping")
    project = dvc.project_from(root, document)
    _read_lock(tree, snap)
    _read_dvc_files(tree, snap)
    cache = _Cache(root)

    for file, keys in project.params.items():
        params_raw = tree.read(file)
        if params_raw is None:
            continue
        values = dvc.flatten(_parse(params_raw, f"{file} at {rev}") or {})
        if keys:
            values = {
                k: v
                for k, v in values.items()
                if any(k == d or k.startswith(d + ".") for d in keys)
            }
        prefix = "" if file == "params.yaml" else f"{file}:"
        snap.params.update({f"{prefix}{k}": v for k, v in values.items()})

    for file in project.metrics:
        metrics_raw = _read_output(tree, cache, snap, file)
        if metrics_raw is not None:
            parsed = _parse(metrics_raw, f"{file} at {rev}")
            snap.metrics[file] = dvc.flatten(parsed) if isinstance(parsed, dict) else {}

    for file in extra:
        if (content := _read_output(tree, cache, snap, file)) is not None:
            snap.files[file] = content

    with _shaped(f"dvc.yaml at {rev}", "pipeline"):
        snap.plots = _plot_specs(document)
    for spec in snap.plots:
        for file in spec.files:
            if (
                file not in snap.files
                and (data := _read_output(tree, cache, snap, file)) is not None
            ):
                snap.files[file] = data
    return snap


def to_json(value: Any) -> Any:
    """Values as JSON can hold them (YAML may give dates and such)."""
    return json.loads(json.dumps(value, default=str))
