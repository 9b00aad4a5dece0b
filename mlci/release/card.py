"""The model card of a GitHub Release: metrics against the previous version, params, data.

Everything from the repository is escaped for markdown (mlci.report.safe).
"""

from __future__ import annotations

from typing import Any

from mlci import hardware, snapshot
from mlci.report import safe

__all__ = ["model_card"]


def model_card(
    name: str,
    version: str,
    commit: str,
    head: snapshot.Snapshot,
    base: snapshot.Snapshot | None,
    base_version: str | None,
    mlflow: dict[str, Any] | None,
) -> str:
    lines = [
        f"## {safe.inline(name)} {safe.inline(version)}",
        "",
        f"Trained at commit {safe.code(commit[:12])}.",
    ]
    lines += [
        "",
        "### Metrics",
        "",
        f"| metric | {safe.cell(version)} | {safe.cell(base_version or 'previous')} | change |",
        "|---|---|---|---|",
    ]
    for file, values in head.metrics.items():
        old = base.metrics.get(file, {}) if base else {}
        for key, value in values.items():
            before = old.get(key)
            change = (
                f"{value - before:+.4g}"
                if isinstance(value, int | float)
                and isinstance(before, int | float)
                and not isinstance(value, bool)
                else ""
            )
            lines.append(
                f"| {safe.cell(key)} | {safe.cell(value)} | {safe.cell(before)} | {change} |"
            )
    lines += ["", "### Params", "", "| param | value |", "|---|---|"]
    lines += [f"| {safe.cell(k)} | {safe.cell(v)} |" for k, v in head.params.items()]
    lines += ["", "### Data", "", "| path | version | size |", "|---|---|---|"]
    lines += [
        f"| {safe.cell(d.path)} | {safe.code((d.hash or '?')[:12])} | {safe.cell(d.size)} |"
        for d in head.data.values()
        if d.source.endswith(".dvc")
    ]
    lines += ["", f"Released on: {safe.inline(hardware.current().summary())}"]
    if mlflow:
        lines.append(
            f"MLflow: model {safe.code(mlflow['name'])} version {safe.code(mlflow['version'])}"
        )
    return "\n".join(lines) + "\n"
