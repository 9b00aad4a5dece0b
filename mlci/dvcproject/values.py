"""Params and metrics of one revision, collected and read the way DVC's
`dvc params show` / `dvc metrics show` collect and read them."""

from __future__ import annotations

import datetime
import fnmatch
import posixpath
from dataclasses import dataclass, field
from typing import Any

from mlci.dvcproject.files import Files
from mlci.dvcproject.formats import ParseFailure, load
from mlci.dvcproject.pipelines import Pipeline

__all__ = ["Values", "extract_metrics", "flatten", "read_metrics", "read_params"]


@dataclass
class Values:
    """Flat values by file, which dvc.yaml declares each file, and what went wrong."""

    by_file: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipeline: dict[str, str] = field(default_factory=dict)  # file -> its dvc.yaml
    problems: list[tuple[str, int | None, str]] = field(default_factory=list)  # exit 2
    notes: dict[str, str] = field(default_factory=dict)  # file -> why nothing shows


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys as DVC's diff flattens them: empty mappings vanish,
    lists stay whole."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, dotted) if value else {})
        else:
            flat[dotted] = value
    return flat


def extract_metrics(value: Any) -> Any:
    """What DVC keeps of a metrics document: numbers, booleans and strings, in mappings.

    Lists, nulls and empty mappings are dropped, as `dvc metrics show` drops them.
    """
    if isinstance(value, int | float | str):
        return value
    if not isinstance(value, dict):
        return None
    kept = {}
    for key, item in value.items():
        extracted = extract_metrics(item)
        if extracted is not None and extracted != {}:
            kept[key] = extracted
    return kept


def _search(tree: Any, parts: list[str]) -> Any:
    """The part of `tree` a dotted key (glob segments allowed) selects, nested as in `tree`."""
    if not parts:
        return tree
    if not isinstance(tree, dict):
        return None
    found: dict[Any, Any] = {}
    for key, value in tree.items():
        if fnmatch.fnmatchcase(str(key), parts[0]):
            sub = _search(value, parts[1:])
            if sub is not None:
                found[key] = sub
    return found or None


def _merge(into: dict[Any, Any], other: dict[Any, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _select(document: Any, keys: list[str]) -> Any:
    if not keys:
        return document
    selected: dict[Any, Any] = {}
    for key in dict.fromkeys(keys):
        found = _search(document, key.split("."))
        if isinstance(found, dict):
            _merge(selected, found)
    return selected


def _expand(files: Files, paths: dict[str, Any]) -> dict[str, Any]:
    """A declared directory stands for every file under it, as DVC expands it."""
    expanded: dict[str, Any] = {}
    for path, extra in paths.items():
        if files.isdir(path):
            expanded.update(dict.fromkeys(files.find(path), extra))
        else:
            expanded[path] = extra
    return expanded


def _parse(files: Files, path: str, values: Values) -> Any:
    raw = files.read(path)
    if raw is None:
        return None
    if not raw.strip():
        return {}  # DVC fails on an empty JSON file and shows nothing of an empty YAML one
    try:
        return load(path, raw)
    except ParseFailure as exc:
        values.problems.append((path, exc.line, exc.message))
        return None


def _reject_dates(file: str, flat: dict[str, Any], values: Values) -> None:
    """DVC loads each dvc.yaml's params.yaml for templating, and fails on a date in it."""
    for key, value in flat.items():
        if isinstance(value, datetime.date):
            values.problems.append(
                (
                    file,
                    None,
                    f"'{key}' is a date ({value}): DVC fails on the whole revision "
                    "(\"Unsupported value of type 'date'\"); quote it to make it text",
                )
            )
            return


def read_params(files: Files, pipelines: list[Pipeline]) -> Values:
    """`dvc params show`: every stage's params, top-level `params:`, the whole root
    params.yaml, and the vars templating took from other files."""
    values = Values()
    wanted: dict[str, list[str] | None] = {}  # None: the whole file

    def want(file: str, keys: list[str], pipeline: str) -> None:
        values.pipeline.setdefault(file, pipeline)
        current = wanted.get(file, [])
        wanted[file] = None if not keys or current is None else [*current, *keys]

    for pipeline in pipelines:
        for stage in pipeline.stages:
            for file, keys in stage.params:
                want(file, keys, pipeline.path)
        for file in pipeline.params:
            want(file, [], pipeline.path)
    if files.exists("params.yaml"):
        want("params.yaml", [], pipelines[0].path if pipelines else "")
    contexts = {posixpath.join(p.folder, "params.yaml") for p in pipelines}
    for file, keys in _expand(files, wanted).items():
        document = _parse(files, file, values)
        if document is None:
            continue
        values.by_file[file] = flatten(_select(document, keys or []))
        if file in contexts:
            _reject_dates(file, flatten(document), values)
    for pipeline in pipelines:
        for file, used in pipeline.tracked_vars.items():
            if file not in wanted:
                values.pipeline.setdefault(file, pipeline.path)
                values.by_file.setdefault(file, {}).update(flatten(used))
    return values


def read_metrics(files: Files, pipelines: list[Pipeline]) -> Values:
    """`dvc metrics show`: stages' `metrics:` outputs and top-level `metrics:` entries."""
    values = Values()
    declared: dict[str, str] = {}
    for pipeline in pipelines:
        for stage in pipeline.stages:
            for file in stage.metrics:
                declared.setdefault(file, pipeline.path)
    for pipeline in pipelines:
        for file in pipeline.metrics:
            declared.setdefault(file, pipeline.path)
    values.pipeline.update(declared)
    for file, pipeline_path in _expand(files, declared).items():
        values.pipeline[file] = pipeline_path
        document = _parse(files, file, values)
        if document is None:
            if file not in files.missing and not any(p == file for p, _, _ in values.problems):
                values.notes[file] = "not found"
            continue
        kept = extract_metrics(document)
        if kept in (None, {}):
            values.notes[file] = (
                "is empty"
                if document in ({}, [], None)
                else f"holds no metrics DVC shows (a {type(document).__name__}, "
                "not a mapping of numbers, booleans or strings)"
            )
            values.by_file[file] = {}
            continue
        values.by_file[file] = flatten(kept) if isinstance(kept, dict) else {"": kept}
    return values
