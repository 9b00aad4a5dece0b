"""The runner labels each stage asks for.

A stage's dvc.yaml `meta: {mlci: {runs-on: [...]}}` wins; else the first pattern of
`[tool.mlci.runners]` (fnmatch on the stage's name) that matches; else that table's
`default`; else GitHub's `ubuntu-latest`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from mlci.errors import UsageError

__all__ = ["FALLBACK", "asked_for", "default_of", "union"]

FALLBACK = ("ubuntu-latest",)


def _from_meta(name: str, pipeline: str, meta: Any) -> list[str] | None:
    if not isinstance(meta, Mapping):
        return None
    section = meta.get("mlci")
    if section is None:
        return None
    where = f"{pipeline}: stage '{name}': meta.mlci.runs-on"
    if not isinstance(section, Mapping):
        raise UsageError(f"{pipeline}: stage '{name}': meta.mlci must be a mapping")
    value = section.get("runs-on")
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise UsageError(f"{where} must be a label or a non-empty list of labels (got {value!r})")
    return [v.strip() for v in value]


def asked_for(
    name: str, pipeline: str, meta: Any, table: Mapping[str, list[str]]
) -> list[str] | None:
    """The labels a stage asks for (its meta, else a pattern of the table), None when none."""
    if (labels := _from_meta(name, pipeline, meta)) is not None:
        return labels
    for pattern, labels in table.items():
        if pattern != "default" and fnmatchcase(name, pattern):
            return list(labels)
    return None


def default_of(table: Mapping[str, list[str]]) -> list[str]:
    return list(table.get("default") or FALLBACK)


def union(asked: Iterable[list[str] | None], default: list[str]) -> list[str]:
    """The labels of a job running several stages: all that its stages ask for, first seen
    first; the default when none asks (a stage asking nothing runs anywhere)."""
    labels = dict.fromkeys(label for each in asked if each for label in each)
    return list(labels) or list(default)
