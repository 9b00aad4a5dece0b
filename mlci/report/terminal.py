"""The report in a terminal: rich tables (plain text with NO_COLOR or when piped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlci import console
from mlci.console import escape
from mlci.data_diff import shown
from mlci.report import plots
from mlci.report.markdown import _change, _size
from mlci.report.model import Report

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["render"]

_RUN = {
    "ran": "[green]ran[/]",
    "cached": "[cyan]from run-cache[/]",
    "unchanged": "unchanged",
    "failed": "[red]failed[/]",
}
_SIGNIFICANCE = {True: "[bold]significant[/]", False: "[dim]within noise[/]", None: ""}


def _value(value: Any, precision: int) -> str:
    if isinstance(value, float):
        return f"{value:.{precision}g}"
    return "—" if value is None else escape(str(value))


def _table(title: str, *columns: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", title_style="bold", show_edge=False)
    for column in columns:
        table.add_column(column)
    return table


def _metrics(report: Report, precision: int) -> Table | str:
    if not report.metrics:
        return report.no_metrics_line
    table = _table("Metrics", "metric", "base", "head", "change", "")
    several = len({x.file for x in report.metrics}) > 1
    for m in report.metrics:
        verdict = _SIGNIFICANCE[m.significant]
        if m.interval:
            verdict += (
                f" [dim](95% CI {m.interval[0]:+.{precision}g} … {m.interval[1]:+.{precision}g})[/]"
            )
        table.add_row(
            escape(f"{m.file}: {m.name}" if several else m.name),
            _value(m.base, precision),
            _value(m.head, precision),
            _change(m, precision),
            verdict,
            style="" if m.changed else "dim",
        )
    return table


def _params(report: Report, precision: int) -> Table | str:
    if not report.params:
        return "[dim]No param changed.[/]"
    table = _table(
        "Params" + (" (all)" if report.all_params else " (changed)"), "param", "base", "head"
    )
    for p in report.params:
        name = p.name if p.file == "params.yaml" else f"{p.file}: {p.name}"
        table.add_row(escape(name), _value(p.base, precision), _value(p.head, precision))
    return table


def _data(report: Report) -> Table | str:
    if not report.data:
        return "[dim]No data or output changed.[/]"
    table = _table("Data and outputs", "path", "status", "base", "head")
    for d in shown(report.data):
        if isinstance(d, tuple):
            table.add_row(escape(f"… {d[1]} more in {d[0]}"), "", "", "")
            continue
        versions = [
            f"{(v.hash or '?')[:8]} {_size(v.size) if v.size is not None else ''}".rstrip()
            if v
            else "—"
            for v in (d.base, d.head)
        ]
        path = f"{d.old_path} → {d.path}" if d.old_path else d.path
        table.add_row(escape(path), d.status, *versions)
    return table


def _stages(report: Report) -> Table | str:
    if not report.stages:
        return "[dim]No stages.[/]"
    table = _table("Pipeline", "stage", "changed", "this run", "time")
    for s in report.stages:
        what = ["command"] * s.change.cmd + [f"dep {d}" for d in s.change.deps]
        what += [f"param {p}" for p in s.change.params]
        changed = (
            s.change.status if s.change.status in {"added", "deleted"} else ", ".join(what) or "—"
        )
        table.add_row(
            escape(s.change.name),
            escape(changed),
            _RUN.get(s.run or "", "—"),
            f"{s.seconds:.1f}s" if s.seconds and s.run in {"ran", "cached"} else "",
        )
    return table


def _sparklines(report: Report, precision: int) -> list[str]:
    lines = []
    for plot in report.plots:
        if plot.spec.template == "confusion":
            continue
        for file, raw in plot.head.items():
            try:
                rows = plots.load_rows(raw.decode("utf-8", "replace"), file)
            except ValueError:
                continue  # a plot file that cannot be read is left out; the markdown says why
            for name in plot.spec.ys.get(file) or ():
                values = [float(str(r[name])) for r in rows if _is_number(r.get(name))]
                if values:
                    lines.append(
                        f"[bold]{escape(plot.spec.title)}[/] {escape(name)} {plots.sparkline(values)}"
                        f" {values[0]:.{precision}g} → {values[-1]:.{precision}g}"
                    )
    return lines


def render(report: Report, *, precision: int = 4) -> None:
    out = console.out()
    base = report.base.label if report.base else "no baseline"
    out.print(
        f"[bold]mlci report[/] {escape(report.id)}: {escape(report.head.label)} vs {escape(base)}"
    )
    for part in (
        _metrics(report, precision),
        _params(report, precision),
        _data(report),
        _stages(report),
    ):
        out.print(part)
    for result in report.validation:
        mark = "[green]✓[/]" if result.get("success") else "[red]✗[/]"
        out.print(
            f"{mark} validation {escape(str(result.get('file')))}: {escape(str(result.get('summary', '')))}"
        )
    for line in _sparklines(report, precision):
        out.print(line)
    if report.runner:
        out.print(
            f"[dim]runner: {escape(str(report.runner.get('os')))}, {report.runner.get('cpu_count')} CPUs[/]"
        )
    if report.mlflow:
        where = report.mlflow.get("ui") or report.mlflow.get("url") or report.mlflow.get("run_id")
        out.print(f"[dim]mlflow: {escape(str(where))}[/]")
    for note in report.notes:
        console.warn(note)


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True
