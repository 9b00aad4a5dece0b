"""Two snapshots in, a diff out. Pure functions: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from mlci import data_diff
from mlci.data_diff import DataChange, Manifest
from mlci.snapshot import Snapshot

__all__ = [
    "DataChange",
    "MetricChange",
    "ParamChange",
    "StageChange",
    "data",
    "metrics",
    "params",
    "same",
    "stages",
]

Status = Literal["added", "deleted", "modified", "unchanged"]
Side = Literal["base", "head"]


def same(a: Any, b: Any) -> bool:
    """Equal values; NaN equals NaN here (DVC lists NaN -> NaN as changed: docs/report.md)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class MetricChange:
    file: str
    name: str
    base: Any
    head: Any
    change: float | None
    significant: bool | None = None
    interval: tuple[float, float] | None = None
    pipeline: str | None = None  # the dvc.yaml that declares the file
    unread: Side | None = None  # the side whose file is recorded but not in the local cache

    @property
    def changed(self) -> bool:
        """Known to differ: a side that could not be read is unknown, not a change."""
        return self.unread is None and not same(self.base, self.head)


def _unread(file: str, base: Snapshot | None, head: Snapshot) -> Side | None:
    """Which side recorded `file` without the local cache holding it (its values unknown)."""
    if base is not None and file in base.unread:
        return "base"
    return "head" if file in head.unread else None


def metrics(base: Snapshot | None, head: Snapshot) -> list[MetricChange]:
    rows: list[MetricChange] = []
    base_metrics = base.metrics if base else {}
    for file in list(dict.fromkeys([*head.metrics, *base_metrics])):
        old, new = base_metrics.get(file, {}), head.metrics.get(file, {})
        unread = _unread(file, base, head)
        for name in list(dict.fromkeys([*new, *old])):
            b, h = old.get(name), new.get(name)
            nb, nh = _number(b), _number(h)
            change = nh - nb if nb is not None and nh is not None else None
            rows.append(
                MetricChange(
                    file=file,
                    name=name,
                    base=b,
                    head=h,
                    change=change,
                    pipeline=head.declared_in.get(file)
                    or (base.declared_in.get(file) if base else None),
                    unread=unread,
                )
            )
    return rows


@dataclass
class ParamChange:
    file: str
    name: str
    base: Any
    head: Any
    pipeline: str | None = None  # the dvc.yaml that declares the file
    unread: Side | None = None  # the side whose file is recorded but not in the local cache

    @property
    def changed(self) -> bool:
        """Known to differ: a side that could not be read is unknown, not a change."""
        return self.unread is None and not same(self.base, self.head)


def _split(key: str) -> tuple[str, str]:
    if ":" in key:
        file, name = key.split(":", 1)
        return file, name
    return "params.yaml", key


def params(
    base: Snapshot | None, head: Snapshot, *, include_unchanged: bool = False
) -> list[ParamChange]:
    rows = []
    if head.param_files or (base and base.param_files):
        before = base.param_files if base else {}
        for file in list(dict.fromkeys([*head.param_files, *before])):
            old, new = before.get(file, {}), head.param_files.get(file, {})
            where = head.declared_in.get(file) or (base.declared_in.get(file) if base else None)
            unread = _unread(file, base, head)
            for name in list(dict.fromkeys([*new, *old])):
                row = ParamChange(file, name, old.get(name), new.get(name), where, unread)
                if include_unchanged or row.changed:
                    rows.append(row)
        return rows
    flat = base.params if base else {}
    for key in list(dict.fromkeys([*head.params, *flat])):
        file, name = _split(key)
        row = ParamChange(file=file, name=name, base=flat.get(key), head=head.params.get(key))
        if include_unchanged or row.changed:
            rows.append(row)
    return rows


def data(
    base: Snapshot | None,
    head: Snapshot,
    *,
    manifest: Manifest | None = None,
    include_unchanged: bool = False,
) -> list[DataChange]:
    """Data versions as `dvc diff --json BASE HEAD` compares them (mlci.data_diff)."""
    return data_diff.diff(
        base.data.values() if base else (),
        head.data.values(),
        manifest=manifest,
        include_unchanged=include_unchanged,
    )


@dataclass
class StageChange:
    name: str
    status: Status
    cmd: bool = False
    deps: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)


def stages(base: Snapshot | None, head: Snapshot) -> list[StageChange]:
    """Which stages' command, dependencies or params differ between the two locks."""
    old = base.stages if base else {}
    rows = []
    for name in list(dict.fromkeys([*head.stages, *old])):
        b, h = old.get(name), head.stages.get(name)
        if b is None or h is None:
            rows.append(StageChange(name=name, status="added" if b is None else "deleted"))
            continue
        row = StageChange(
            name=name,
            status="unchanged",
            cmd=b.cmd != h.cmd,
            deps=sorted(p for p in {*b.deps, *h.deps} if b.deps.get(p) != h.deps.get(p)),
            params=sorted(k for k in {*b.params, *h.params} if b.params.get(k) != h.params.get(k)),
            outs=sorted(p for p in {*b.outs, *h.outs} if b.outs.get(p) != h.outs.get(p)),
        )
        if row.cmd or row.deps or row.params or row.outs:
            row.status = "modified"
        rows.append(row)
    return rows
