"""What a DVC project declares, read as DVC reads it but without importing DVC.

dvc.yaml, dvc.lock, `.dvc` files and params files are YAML (1.2 core schema, as
DVC parses them) or JSON, so `mlci report` and `mlci config` never import DVC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlci.errors import UsageError

__all__ = ["Project", "flatten", "load_project", "load_yaml", "parse", "project_from"]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as DVC reads it (YAML 1.2 core schema): `1e-4` is a number, `on`/`yes` are strings."""


_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {_BOOL, "tag:yaml.org,2002:timestamp"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+0123456789."),
)


def parse(text: str, name: str = "") -> Any:
    """Parse YAML (or JSON) text; JSON files go through json, which is also much faster."""
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except ValueError:
            pass  # let YAML give the error with a line number
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader subclass)


def load_yaml(path: Path, *, root: Path | None = None) -> Any:
    """Parse a YAML file; a syntax error names the file and line (exit 2)."""
    shown = path.relative_to(root) if root and path.is_relative_to(root) else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        return parse(text, path.name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise UsageError(f"{shown}{where}: malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{shown}: malformed YAML: {exc}") from None


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys, the way DVC shows metrics and params."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


@dataclass
class Project:
    """What dvc.yaml declares, read without importing DVC."""

    root: Path
    stages: list[str] = field(default_factory=list)
    params: dict[str, list[str]] = field(default_factory=dict)  # file -> keys ([] = all)
    metrics: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def read_params(self) -> dict[str, Any]:
        """Flattened declared params, `file:key` for files other than params.yaml."""
        values: dict[str, Any] = {}
        for file, keys in self.params.items():
            path = self.root / file
            if not path.exists():
                raise UsageError(f"{file}: params file declared in dvc.yaml is missing")
            tree = load_yaml(path, root=self.root) or {}
            if not isinstance(tree, dict):
                raise UsageError(f"{file}: expected a mapping of params at the top level")
            flat = flatten(tree)
            if keys:
                flat = {k: v for k, v in flat.items() if any(_under(k, key) for key in keys)}
            prefix = "" if file == "params.yaml" else f"{file}:"
            values.update({f"{prefix}{k}": v for k, v in flat.items()})
        return values


def _under(key: str, declared: str) -> bool:
    return key == declared or key.startswith(declared + ".")


def _out_paths(entries: Any) -> Iterator[str]:
    for entry in entries or []:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            yield from (str(k) for k in entry)


def _add_params(params: dict[str, list[str]], entries: Any) -> None:
    for entry in entries or []:
        if isinstance(entry, str):
            params.setdefault("params.yaml", []).append(entry)
        elif isinstance(entry, dict):
            for file, keys in entry.items():
                params.setdefault(str(file), []).extend(keys or [])


def load_project(root: Path) -> Project:
    dvc_yaml = root / "dvc.yaml"
    if not dvc_yaml.is_file():
        raise UsageError(
            f"no dvc.yaml in {root}",
            hint="mlci runs a DVC pipeline: create one with `dvc stage add`",
        )
    return project_from(root, load_yaml(dvc_yaml, root=root) or {})


def project_from(root: Path, document: Any) -> Project:
    """The declarations of a parsed dvc.yaml (of the workspace or of any revision)."""
    try:
        return _project_from(root, document)
    except (AttributeError, TypeError, LookupError, ValueError, StopIteration):
        # an entry of a shape DVC's schema refuses (a number where a list goes...)
        raise UsageError(
            "dvc.yaml: not a pipeline as DVC reads it",
            hint="`dvc stage list` names the entry DVC refuses",
        ) from None


def _project_from(root: Path, document: Any) -> Project:
    if not isinstance(document, dict):
        raise UsageError("dvc.yaml: expected a mapping with a 'stages' key")
    project = Project(root=root)
    stages = document.get("stages") or {}
    if not isinstance(stages, dict):
        raise UsageError("dvc.yaml: 'stages' must be a mapping of stage names")
    for name, stage in stages.items():
        project.stages.append(str(name))
        if not isinstance(stage, dict):
            raise UsageError(f"dvc.yaml: stage '{name}' must be a mapping")
        _add_params(project.params, stage.get("params"))
        project.metrics.extend(_out_paths(stage.get("metrics")))
        project.plots.extend(_out_paths(stage.get("plots")))
    project.metrics.extend(_out_paths(document.get("metrics")))
    for entry in document.get("plots") or []:
        if isinstance(entry, str):
            project.plots.append(entry)
    artifacts = document.get("artifacts") or {}
    if isinstance(artifacts, dict):
        project.artifacts = {str(k): dict(v or {}) for k, v in artifacts.items()}
    # an empty key list in a dict entry means "the whole file", as in DVC
    if not project.params and (root / "params.yaml").exists():
        project.params["params.yaml"] = []
    project.metrics = list(dict.fromkeys(project.metrics))
    project.plots = list(dict.fromkeys(project.plots))
    return project
