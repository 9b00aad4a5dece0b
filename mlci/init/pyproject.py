"""`[tool.mlci]` of `mlci init`: the tables it writes (settings, tracking, each --data
dataset), merged into pyproject.toml as text, and the result validated as mlci reads it.

init inserts its tables and keys (and, with `force`, replaces the lines of its own keys);
every other byte stays as it was, and the result is parsed again to prove it.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci import config
from mlci.dvc import load_yaml
from mlci.errors import UsageError
from mlci.init.changes import FileChange
from mlci.init.datasets import Dataset
from mlci.init.toml_text import TomlText, entry, header, toml_key, toml_value
from mlci.workspace import load_project


@dataclass(frozen=True)
class Table:
    keys: tuple[str, ...]
    values: dict[str, Any]
    soft: bool = False  # a suggestion: a value already set stays as it is
    comment: tuple[str, ...] = ()  # lines written below a new table's header


def config_tables(project: Path, datasets: list[Dataset]) -> list[Table]:
    """The tables init writes: [tool.mlci] with a commented example gate, the tracking
    experiment (both kept as they are when set) and one table per dataset."""
    tables = [
        Table(("tool", "mlci"), {}, soft=True, comment=_settings_comment(project)),
        Table(("tool", "mlci", "tracking"), {"experiment": project.name}, soft=True),
    ]
    for dataset in datasets:
        values: dict[str, Any] = {"path": dataset.shown, "suite": dataset.name}
        if dataset.format != "csv":
            values["format"] = dataset.format
        if dataset.delimiter != ",":
            values["delimiter"] = dataset.delimiter
        tables.append(Table(("tool", "mlci", "data", dataset.name), values))
    return tables


def _settings_comment(project: Path) -> tuple[str, ...]:
    metric = _a_metric(project) or "accuracy"
    key = toml_key(metric)
    return (
        "# mlci's settings; every key is optional (`mlci config` shows them all).",
        "# Gates fail `mlci validate model`, and the pull request's check, when a metric",
        "# of dvc.yaml gets worse, e.g.:",
        f"# [tool.mlci.gates.{key}]",
        "# min = 0.9",
        '# max_drop = "2%"',
    )


def _a_metric(project: Path) -> str | None:
    """The first numeric metric in the workspace's metrics files, for the example gate."""
    from mlci.dvc import flatten

    try:
        files = load_project(project).metrics
    except UsageError:
        return None
    for file in files:
        path = project / file
        if not path.is_file():
            continue
        try:
            values = flatten(load_yaml(path, root=project))
        except UsageError:
            continue
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                return key
    return None


@dataclass
class Merged:
    """pyproject.toml with init's tables merged in, and what that adds or differs in."""

    shown: str
    text: str
    added: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)  # each addition, as TOML: for the hint

    def change(self, old: str | None) -> FileChange:
        if old is None:
            return FileChange(self.shown, "create", None, self.text)
        if self.conflicts:
            return FileChange(self.shown, "conflict", old, self.text, "; ".join(self.conflicts))
        if self.text == old:
            return FileChange(self.shown, "unchanged", old, old)
        return FileChange(self.shown, "update", old, self.text, ", ".join(self.added) + " added")


def merge_pyproject(shown: str, old: str | None, tables: list[Table]) -> Merged:
    """`old` (None: no file) with `tables` merged in as text; exit 2 when the text cannot
    take them so that it parses to what it should."""
    merger = _Merger(shown, old or "")
    for table in tables:
        merger.merge(table)
    merged = merger.merged
    merged.text = merger.edits.render()
    try:
        check = tomllib.loads(merged.text)
    except tomllib.TOMLDecodeError:
        check = None
    if check != merger.expected:
        raise UsageError(
            f"{shown}: cannot merge [tool.mlci] into it as text",
            hint=("add these settings by hand: " + "; ".join(merged.settings))
            if merged.settings
            else None,
        )
    return merged


class _Merger:
    """init's tables merged one by one into the text, and into what it must parse to."""

    def __init__(self, shown: str, text: str) -> None:
        try:
            self.document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{shown}: not valid TOML: {exc}") from None
        self.edits = TomlText(text)
        self.expected = copy.deepcopy(self.document)  # what the merged text must parse to
        self.merged = Merged(shown, text)

    def merge(self, table: Table) -> None:
        merged, edits = self.merged, self.edits
        existing = _lookup(self.document, table.keys)
        if existing is not None and not isinstance(existing, dict):
            raise UsageError(f"{merged.shown}: {'.'.join(table.keys)} is not a table")
        target = self.expected
        for key in table.keys:
            target = target.setdefault(key, {})
        name = header(table.keys)
        if existing is None:
            edits.add_table(
                table.keys, [*table.comment, *(entry(k, v) for k, v in table.values.items())]
            )
            target.update(table.values)
            merged.added.append(name)
            merged.settings += [f"{name} {entry(k, v)}" for k, v in table.values.items()]
            return
        missing = {k: v for k, v in table.values.items() if k not in existing}
        differ = {
            k: v
            for k, v in table.values.items()
            if k in existing and existing[k] != v and not table.soft
        }
        merged.conflicts += [
            f"{name} {k} is {existing[k]!r}, init writes {v!r}" for k, v in differ.items()
        ]
        at = edits.header_at(table.keys)
        if (not missing and not differ) or (at is None and table.soft):
            return  # a suggestion goes nowhere but into a table of its own header
        target.update(missing)
        target.update(differ)
        merged.added += [f"{name} {k}" for k in missing]
        merged.settings += [f"{name} {entry(k, v)}" for k, v in {**missing, **differ}.items()]
        if at is None:
            if differ:
                raise _cannot_merge(merged.shown, table, differ)
            edits.add_table(table.keys, [entry(k, v) for k, v in missing.items()])
            return
        if missing:
            edits.add_keys(at, missing)
        for key, value in differ.items():
            if not edits.replace_key(at, key, value):
                raise _cannot_merge(merged.shown, table, differ)


def _lookup(document: dict[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = document
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _cannot_merge(shown: str, table: Table, values: dict[str, Any]) -> UsageError:
    keys = ", ".join(values)
    return UsageError(
        f"{shown}: {'.'.join(table.keys)} {keys} differs from what init writes and is not "
        "a line of its own table that init can replace",
        hint="edit it by hand: " + "; ".join(f"{k} = {toml_value(v)}" for k, v in values.items()),
    )


def validated(shown: str, text: str) -> config.Config:
    """The merged pyproject.toml's [tool.mlci] as mlci reads it; exit 2 naming what is wrong."""
    from pydantic import ValidationError

    table = tomllib.loads(text).get("tool", {}).get("mlci", {})
    try:
        return config.Config.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(
            f"{shown}: [tool.mlci] {where}: {first['msg']}",
            hint="fix it, then run mlci init again (`mlci config` checks it)",
        ) from None
