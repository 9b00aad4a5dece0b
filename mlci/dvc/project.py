"""DVC's files (dvc.yaml, dvc.lock, `.dvc` files, params) parsed as DVC parses them, without DVC.

They are YAML (1.2 core schema, as DVC parses them) or JSON. What the workspace's
pipelines declare is read by mlci.workspace, through mlci.dvcproject.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from mlci.errors import UsageError

__all__ = ["flatten", "load_yaml", "parse"]


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
