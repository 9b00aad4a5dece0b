"""Every dvc.yaml of a revision, resolved as DVC resolves it.

A dvc.yaml without templating is read here directly. One with `vars`, `${…}`,
`foreach` or `matrix` is resolved by DVC's own resolver (imported only then, through
mlci.dvc), so generated stage names (`train@small`) and interpolated values are DVC's.
Every path is made relative to the repository root, through the stage's `wdir`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from mlci.dvcproject.files import Files
from mlci.dvcproject.formats import ParseFailure, load_yaml

__all__ = ["Pipeline", "Problem", "Stage", "read_pipelines"]

_TOP = {"stages", "vars", "params", "metrics", "plots", "artifacts", "datasets"}
_STAGE = {
    "cmd", "wdir", "deps", "params", "outs", "metrics", "plots", "frozen", "meta", "desc",
    "always_changed", "vars",
}  # fmt: skip
_GENERATED = {"foreach", "matrix", "do"}


@dataclass(frozen=True)
class Problem:
    """A file DVC would reject or cannot parse: where, and why."""

    file: str
    line: int | None
    message: str


@dataclass
class Stage:
    name: str
    wdir: str  # repo-relative ("" for the root)
    cmd: Any
    params: list[tuple[str, list[str]]]  # repo-relative file, keys ([] = the whole file)
    metrics: list[str]
    plots: list[tuple[str, dict[str, Any]]]
    outs: list[str]


@dataclass
class Pipeline:
    path: str  # the dvc.yaml, repo-relative
    stages: list[Stage] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)  # top-level, repo-relative
    params: list[str] = field(default_factory=list)
    plots: list[str | dict[str, Any]] = field(default_factory=list)  # top-level, as written
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> as written
    tracked_vars: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> key -> value

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.path)


def _join(*parts: str) -> str:
    joined = posixpath.normpath(posixpath.join(*[p for p in parts if p]) if any(parts) else ".")
    return "" if joined == "." else joined


def _paths(entries: Any) -> list[tuple[str, dict[str, Any]]]:
    """Output entries as DVC accepts them: `path` or `{path: {options}}`, in a list or alone."""
    if isinstance(entries, str):
        entries = [entries]
    found: list[tuple[str, dict[str, Any]]] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str):
            found.append((entry, {}))
        elif isinstance(entry, dict):
            found += [(str(k), v if isinstance(v, dict) else {}) for k, v in entry.items()]
    return found


def _params(entries: Any, wdir: str) -> list[tuple[str, list[str]]]:
    """`params:` of a stage, merged the way DVC merges them (an empty key list = whole file)."""
    whole = {
        str(f) for e in entries or [] if isinstance(e, dict) for f, keys in e.items() if not keys
    }
    merged: dict[str, list[str]] = {}
    for entry in entries or []:
        if isinstance(entry, str):
            if "params.yaml" not in whole:
                merged.setdefault("params.yaml", []).append(entry)
            else:
                merged.setdefault("params.yaml", [])
        elif isinstance(entry, dict):
            for file, keys in entry.items():
                target = merged.setdefault(str(file), [])
                if str(file) not in whole and isinstance(keys, list):
                    target.extend(str(k) for k in keys)
    return [(_join(wdir, file), keys) for file, keys in merged.items()]


def _check_stage(name: str, stage: Any) -> str | None:  # noqa: PLR0911 (one return per rule)
    if not isinstance(stage, dict):
        return f"stage '{name}' must be a mapping"
    if {"foreach", "matrix"} & stage.keys():
        if "foreach" in stage and "do" not in stage:
            return f"stage '{name}': 'foreach' needs 'do'"
        return None
    extra = sorted(str(k) for k in stage if k not in _STAGE)
    if extra:
        return f"stage '{name}': extra keys not allowed: {', '.join(extra)}"
    if "cmd" not in stage:
        return f"stage '{name}': required key not provided: cmd"
    for key in ("deps", "params", "outs", "metrics", "plots"):
        if stage.get(key) is not None and not isinstance(stage[key], list):
            return f"stage '{name}': '{key}' must be a list"
    return None


def _check(document: Any) -> str | None:
    """Why DVC's schema would reject this dvc.yaml, or None."""
    if not isinstance(document, dict):
        return "expected a mapping at the top level"
    unknown = sorted(str(k) for k in document if k not in _TOP)
    if unknown:
        return f"extra keys not allowed: {', '.join(unknown)}"
    stages = document.get("stages") or {}
    if not isinstance(stages, dict):
        return "'stages' must be a mapping of stage names"
    for name, stage in stages.items():
        if why := _check_stage(str(name), stage):
            return why
    for key in ("metrics", "params", "plots"):
        if key in document and not isinstance(document[key], list):
            return f"'{key}' must be a list"
    return None


def _line_of(text: str, needles: list[str]) -> int | None:
    """The line of the last of `needles`, looked for in turn (a stage, then its key)."""
    found = None
    lines = text.splitlines()
    start = 0
    for needle in needles:
        for number in range(start, len(lines)):
            if lines[number].strip().startswith(needle):
                found, start = number + 1, number + 1
                break
    return found


def _templated(text: str, document: dict[str, Any]) -> bool:
    if "${" in text or "vars" in document:
        return True
    stages = document.get("stages") or {}
    return any(isinstance(s, dict) and _GENERATED & s.keys() for s in stages.values())


def _stage(name: str, stage: dict[str, Any], folder: str) -> Stage:
    wdir = _join(folder, str(stage.get("wdir") or ""))
    return Stage(
        name=name,
        wdir=wdir,
        cmd=stage.get("cmd"),
        params=_params(stage.get("params"), wdir),
        metrics=[_join(wdir, p) for p, _ in _paths(stage.get("metrics"))],
        plots=[(_join(wdir, p), props) for p, props in _paths(stage.get("plots"))],
        outs=[_join(wdir, p) for p, _ in _paths(stage.get("outs"))],
    )


def _top_paths(entries: Any, folder: str) -> list[str]:
    if isinstance(entries, str):
        entries = [entries]
    return [_join(folder, str(e)) for e in entries or [] if isinstance(e, str)]


def read_pipeline(files: Files, path: str) -> Pipeline | Problem:
    raw = files.tree.read(path) or b""
    try:
        text = raw.decode("utf-8")
        document = load_yaml(text)
    except UnicodeDecodeError:
        return Problem(path, None, "is not valid UTF-8")
    except ParseFailure as exc:
        return Problem(path, exc.line, exc.message)
    document = document if document is not None else {}
    if why := _check(document):
        keys = why.split("'")[1::2]  # the stage and key it names, innermost last
        return Problem(path, _line_of(text, [f"{k}:" for k in keys]), why)
    folder = posixpath.dirname(path)
    pipeline = Pipeline(path=path)
    if _templated(text, document):
        from mlci import dvc

        try:
            resolved, pipeline.tracked_vars = dvc.resolve_templates(document, files, folder)
        except dvc.TemplateError as exc:
            return Problem(path, None, str(exc))
        document = {**document, **resolved}
    for name, stage in (document.get("stages") or {}).items():
        pipeline.stages.append(_stage(str(name), stage, folder))
    pipeline.metrics = _top_paths(document.get("metrics"), folder)
    pipeline.params = _top_paths(document.get("params"), folder)
    pipeline.plots = [p for p in document.get("plots") or [] if isinstance(p, str | dict)]
    artifacts = document.get("artifacts")
    if isinstance(artifacts, dict):
        pipeline.artifacts = {
            str(k): dict(v) if isinstance(v, dict) else {} for k, v in artifacts.items()
        }
    return pipeline


def read_pipelines(files: Files) -> tuple[list[Pipeline], list[Problem]]:
    """The revision's dvc.yaml files, root first, then by path (as DVC collects them)."""
    paths = sorted(
        (p for p in files.listing if posixpath.basename(p) == "dvc.yaml"),
        key=lambda p: (p.count("/"), p),
    )
    pipelines: list[Pipeline] = []
    problems: list[Problem] = []
    for path in paths:
        found = read_pipeline(files, path)
        (problems if isinstance(found, Problem) else pipelines).append(found)  # type: ignore[arg-type]
    return pipelines, problems
