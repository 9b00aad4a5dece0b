"""The report in a terminal: rich tables (plain text with NO_COLOR or when piped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlci import console, layout
from mlci.console import escape
from mlci.data_diff import shown
from mlci.layout import Col
from mlci.report import branches, plot_rows, plots
from mlci.report.markdown import _change, _size
from mlci.report.model import Report
from mlci.validate.results import drift

if TYPE_CHECKING:
    from rich.table import Table

    from mlci.diff import MetricChange, ParamChange, Side

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


def _side(row: MetricChange | ParamChange, which: Side, precision: int) -> str:
    """A row's base or head value; `?` where that side's file is not in the local cache."""
    return "?" if row.unread == which else _value(getattr(row, which), precision)


def _metrics(report: Report, precision: int, width: int) -> Table | str:
    if not report.metrics:
        return report.no_metrics_line
    several = len({x.file for x in report.metrics}) > 1
    rows, styles = [], []
    for m in report.metrics:
        verdict = _SIGNIFICANCE[m.significant]
        if m.interval:
            verdict += (
                f" [dim](95% CI {m.interval[0]:+.{precision}g} … {m.interval[1]:+.{precision}g})[/]"
            )
        rows.append(
            [
                escape(f"{m.file}: {m.name}" if several else m.name),
                _side(m, "base", precision),
                _side(m, "head", precision),
                escape(_change(m, precision)),
                verdict,
            ]
        )
        styles.append("" if m.changed else "dim")
    columns = (
        Col("metric", key=True),
        Col("base"),
        Col("head"),
        Col("change"),
        Col("significance"),
    )
    return layout.table(columns, rows, width=width, title="Metrics", row_styles=styles)


def _params(report: Report, precision: int, width: int) -> Table | str:
    if not report.params:
        return "[dim]No param changed.[/]"
    rows = [
        [
            escape(p.name if p.file == "params.yaml" else f"{p.file}: {p.name}"),
            _side(p, "base", precision),
            _side(p, "head", precision),
        ]
        for p in report.params
    ]
    title = "Params" + (" (all)" if report.all_params else " (changed)")
    columns = (Col("param", key=True), Col("base"), Col("head"))
    return layout.table(columns, rows, width=width, title=title)


def _data(report: Report, width: int) -> Table | str:
    if not report.data:
        return "[dim]No data or output changed.[/]"
    rows = []
    for d in shown(report.data):
        if isinstance(d, tuple):
            rows.append([escape(f"… {d[1]} more in {d[0]}"), "", "", ""])
            continue
        versions = [
            f"{(v.hash or '?')[:8]} {_size(v.size) if v.size is not None else ''}".rstrip()
            if v
            else "—"
            for v in (d.base, d.head)
        ]
        path = f"{d.old_path} → {d.path}" if d.old_path else d.path
        rows.append([escape(path), escape(d.status), *versions])
    columns = (Col("path", key=True), Col("status"), Col("base"), Col("head"))
    return layout.table(columns, rows, width=width, title="Data and outputs")


def _stages(report: Report, width: int) -> Table | str:
    if not report.stages:
        return "[dim]No stages.[/]"
    rows = []
    for s in report.stages:
        what = ["command"] * s.change.cmd + [f"dep {d}" for d in s.change.deps]
        what += [f"param {p}" for p in s.change.params]
        changed = (
            s.change.status if s.change.status in {"added", "deleted"} else ", ".join(what) or "—"
        )
        rows.append(
            [
                escape(s.change.name),
                escape(changed),
                _RUN.get(s.run or "", "—"),
                f"{s.seconds:.1f}s" if s.seconds and s.run in {"ran", "cached"} else "",
            ]
        )
    columns = (Col("stage", key=True), Col("changed"), Col("this run"), Col("time"))
    return layout.table(columns, rows, width=width, title="Pipeline")


_TAIL_LINES = 10  # of a failed branch's log; the whole tail is in the markdown and JSON


def _branches(report: Report, width: int) -> list[Table | str]:
    """A fanned-out run's jobs (runner, GPU, status), then each failed one's log tail."""
    found = branches.lines(report.branches)
    if not found:
        return []
    rows = [
        [
            escape(b.name),
            escape(b.stages),
            escape(b.runs_on),
            escape(b.gpu),
            f"finished, {b.ran} ran" if b.status == "finished" else f"[red]{escape(b.status)}[/]",
            f"{b.seconds:.1f}s" if b.seconds else "",
        ]
        for b in found
    ]
    columns = (Col("job", key=True), Col("stages"), Col("runs on"), Col("GPU"), Col("status"))
    parts: list[Table | str] = [
        layout.table((*columns, Col("time")), rows, width=width, title="Jobs")
    ]
    for b in found:
        if b.status == "finished":
            continue
        tail = b.log_tail.splitlines()[-_TAIL_LINES:]
        what = "failed" if b.status == "failed" else "left no record"
        parts.append(f"[red]✗[/] {escape(b.name)} {what}" + (": its log ends" if tail else ""))
        parts += [f"  [dim]{escape(line)}[/]" for line in tail]
    return parts


def _validation(report: Report) -> list[str]:
    lines = []
    for result in report.validation:
        mark = "[green]✓[/]" if result.get("success") else "[red]✗[/]"
        summary = result.get("summary") or result.get("error") or ""
        lines.append(f"{mark} validation {escape(str(result.get('file')))}: {escape(str(summary))}")
        lines += [f"  drift: {escape(line)}" for line in drift(result.get("extra"))]
    return lines


def _sparklines(report: Report, precision: int, width: int) -> list[str]:
    """Per plot its title, then a line per curve: name, sparkline, first → last value."""
    from rich.cells import cell_len

    lines: list[str] = []
    for plot in report.plots:
        if plot.spec.template == "confusion":
            continue
        curves = []
        for file, raw in plot.head.items():
            try:
                rows = plot_rows.load_rows(raw.decode("utf-8", "replace"), file)
            except ValueError:
                continue  # a plot file that cannot be read is left out; the markdown says why
            for name in plot_rows.y_fields(plot.spec.ys.get(file) or (), rows):
                values = [float(str(r[name])) for r in rows if _is_number(r.get(name))]
                if values:
                    span = f"{values[0]:.{precision}g} → {values[-1]:.{precision}g}"
                    curves.append((name, values, span))
        if not curves:
            continue
        lines.append(f"[bold]{escape(plot.spec.title)}[/]")
        names = max(cell_len(name) for name, _, _ in curves)
        spans = max(cell_len(span) for _, _, span in curves)
        # the names keep up to half the line; the sparkline takes what is left, thinned to fit
        column = min(names, (width - 2) // 2)
        room = width - 2 - column - 1 - spans - 1
        for name, values, span in curves:
            if room < 4:  # too narrow for one line: name, sparkline and span each on their own
                spark = plots.sparkline(values, width=max(1, min(len(values), width - 4)))
                lines += [f"  {escape(name)}", f"    {spark}", f"    {escape(span)}"]
                continue
            spark = plots.sparkline(values, width=min(len(values), room))
            label = name
            if cell_len(name) > column:  # the name on a line of its own, the curve under it
                lines.append(f"  {escape(name)}")
                label = ""
            pad = " " * (column - cell_len(label))
            lines.append(f"  {escape(label)}{pad} {spark} {escape(span)}")
    return lines


def render(report: Report, *, precision: int = 4) -> None:
    out = console.out()
    width = out.width
    base = report.base.label if report.base else "no baseline"
    out.print(
        f"[bold]mlci report[/] {escape(report.id)}: {escape(report.head.label)} vs {escape(base)}"
    )
    for part in (
        _metrics(report, precision, width),
        _params(report, precision, width),
        _data(report, width),
        _stages(report, width),
        *_branches(report, width),
    ):
        out.print(part)
    for line in _validation(report):
        out.print(line)
    for line in _sparklines(report, precision, width):
        out.print(line)
    if report.runner:
        out.print(
            f"[dim]runner: {escape(str(report.runner.get('os')))}, {report.runner.get('cpu_count')} CPUs[/]"
        )
    if report.mlflow:
        where = report.mlflow.get("ui") or report.mlflow.get("url") or report.mlflow.get("run_id")
        # a link on a line of its own, so that it stays whole where it fits
        command, _, link = str(where).partition("  then ")
        out.print(f"[dim]mlflow: {escape(command)}{', then' if link else ''}[/]")
        if link:
            out.print(f"[dim]{escape(link)}[/]")
    for note in report.notes:
        if note not in report.problems:  # bad input ends the command as `error:` lines
            console.warn(note)


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True
