"""Plot declarations of every dvc.yaml, as DVC resolves them into plots and their files."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from mlci.dvcproject.files import Files
from mlci.dvcproject.pipelines import Pipeline

__all__ = ["PlotSpec", "plot_specs"]


@dataclass(frozen=True)
class PlotSpec:
    id: str
    files: tuple[str, ...]  # repo-relative
    x: str | None
    ys: dict[str, tuple[str, ...]]  # file -> fields
    template: str
    title: str
    pipeline: str = "dvc.yaml"  # the dvc.yaml that declares it


def _fields(y: Any) -> tuple[str, ...]:
    if isinstance(y, str):
        return (y,)
    return tuple(str(v) for v in y) if isinstance(y, list) else ()


def _expand(files: Files, path: str) -> list[str]:
    return files.find(path) if files.isdir(path) else [path]


def _join(folder: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(folder, path)) if folder else posixpath.normpath(path)


def _x(props: dict[str, Any], file: str) -> str | None:
    x = props.get("x")
    if isinstance(x, dict):  # {file: field}
        value = x.get(file)
        return str(value) if value is not None else None
    return str(x) if isinstance(x, str) else None


def _spec(plot_id: str, found: list[str], props: dict[str, Any], ys: Any, where: str) -> PlotSpec:
    return PlotSpec(
        id=plot_id,
        files=tuple(found),
        x=_x(props, found[0]) if found else None,
        ys={f: ys.get(f, ()) if isinstance(ys, dict) else ys for f in found},
        template=str(props.get("template", "linear")),
        title=str(props.get("title", plot_id)),
        pipeline=where,
    )


def plot_specs(files: Files, pipelines: list[Pipeline]) -> list[PlotSpec]:
    specs: list[PlotSpec] = []
    for pipeline in pipelines:
        for stage in pipeline.stages:
            for path, props in stage.plots:
                for file in _expand(files, path):
                    specs.append(_spec(file, [file], props, _fields(props.get("y")), pipeline.path))
        for entry in pipeline.plots:
            if isinstance(entry, str):
                path = _join(pipeline.folder, entry)
                specs += [_spec(f, [f], {}, (), pipeline.path) for f in _expand(files, path)]
                continue
            for plot_id, raw_props in entry.items():
                props = raw_props if isinstance(raw_props, dict) else {}
                y = props.get("y")
                if isinstance(y, dict):
                    ys = {
                        f: _fields(fields)
                        for name, fields in y.items()
                        for f in _expand(files, _join(pipeline.folder, str(name)))
                    }
                    specs.append(_spec(str(plot_id), list(ys), props, ys, pipeline.path))
                else:
                    path = _join(pipeline.folder, str(plot_id))
                    found = _expand(files, path)
                    specs.append(_spec(str(plot_id), found, props, _fields(y), pipeline.path))
    return specs
