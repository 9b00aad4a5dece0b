"""The report as GitHub-flavoured markdown: one PR comment, the job summary, `--format markdown`.

Everything that comes from the repository (names, values, paths, branches)
goes through `safe`, so a pull request cannot inject HTML, mentions or broken
tables into the comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlci.data_diff import shown
from mlci.diff import DataChange, MetricChange, ParamChange, Side
from mlci.report import branches, confusion, plot_rows, plots, safe
from mlci.report.model import Report
from mlci.validate.results import drift

__all__ = ["COMMENT_LIMIT", "marker", "render"]

COMMENT_LIMIT = 65_536  # GitHub rejects longer comment bodies with 422
_SIGNIFICANCE = {True: "significant", False: "within noise", None: ""}


def marker(report_id: str) -> str:
    # the id is ours or the workflow's name: keep it to characters that cannot end the comment
    clean = "".join(c for c in report_id if c.isalnum() or c in "-_.:/ ")[:100]
    while "--" in clean:
        clean = clean.replace("--", "-")
    return f"<!-- mlci-report:{clean} -->"


def number(value: Any, precision: int) -> str:
    if isinstance(value, bool) or value is None:
        return safe.cell(value)
    if isinstance(value, float):
        return f"{value:.{precision}g}"
    if isinstance(value, int):
        return str(value)
    return safe.cell(value)


def side(row: MetricChange | ParamChange, which: Side, precision: int) -> str:
    """A row's base or head value; `?` where that side's file is not in the local cache."""
    return "?" if row.unread == which else number(getattr(row, which), precision)


def _change(row: MetricChange, precision: int) -> str:
    if row.unread:
        return "not read"
    if row.change is None:
        return "" if row.base == row.head else "changed"
    if row.change == 0:
        return "0"
    text = f"{row.change:+.{precision}g}"
    if isinstance(row.base, int | float) and row.base:
        text += f" ({row.change / abs(row.base):+.1%})"
    return text


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _metrics(report: Report, precision: int, max_rows: int | None = None) -> str:
    if not report.metrics:
        return report.no_metrics_line
    several = len({m.file for m in report.metrics}) > 1

    def row(m: MetricChange) -> list[str]:
        verdict = _SIGNIFICANCE[m.significant]
        if m.interval:
            verdict += f" (95% CI {m.interval[0]:+.{precision}g} … {m.interval[1]:+.{precision}g})"
        name = f"{safe.cell(m.file)}: {safe.cell(m.name)}" if several else safe.cell(m.name)
        return [
            name,
            side(m, "base", precision),
            side(m, "head", precision),
            _change(m, precision),
            verdict,
        ]

    header = ["metric", "base", "head", "change", ""]
    # shown: the changed ones, and those one side of which could not be read (the notes say why)
    changed = [row(m) for m in report.metrics if m.changed or m.unread]
    same = [row(m) for m in report.metrics if not (m.changed or m.unread)]
    if max_rows is not None and len(changed) > max_rows:
        hidden = len(changed) - max_rows
        kind = "changed or unread" if any(m.unread for m in report.metrics) else "changed"
        return (
            _table(header, changed[:max_rows])
            + f"\n\n{hidden} more {kind} metrics and {len(same)} unchanged ones are in the full report."
        )
    parts = [_table(header, changed)] if changed else ["No metric changed."]
    if same and max_rows is None:
        parts.append(safe.details(f"{len(same)} unchanged metrics", _table(header, same)))
    elif same:
        parts.append(f"{len(same)} unchanged metrics are in the full report.")
    return "\n\n".join(parts)


def _params(report: Report, precision: int) -> str:
    if not report.params:
        return "No param changed." if not report.all_params else "No params declared."
    rows = [
        [
            safe.cell(f"{p.file}: {p.name}" if p.file != "params.yaml" else p.name),
            side(p, "base", precision),
            side(p, "head", precision),
        ]
        for p in report.params
    ]
    return _table(["param", "base", "head"], rows)


def _size(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)


def _version(d: DataChange, side: str) -> str:
    version = d.base if side == "base" else d.head
    if version is None:
        return "—"
    files = f", {version.files} files" if version.files is not None else ""
    size = f" {_size(version.size)}" if version.size is not None else ""
    return f"{safe.code((version.hash or '?')[:8])}{size}{files}"


def _data(report: Report) -> str:
    if not report.data:
        return "No data or output changed."
    rows = []
    for d in shown(report.data):
        if isinstance(d, tuple):
            rows.append([safe.cell(f"… {d[1]} more in {d[0]}"), "", "", ""])
            continue
        path = f"{d.old_path} → {d.path}" if d.old_path else d.path
        rows.append([safe.cell(path), d.status, _version(d, "base"), _version(d, "head")])
    return _table(["path", "status", "base", "head"], rows)


def _stages(report: Report) -> str:
    rows = []
    for s in report.stages:
        what = [
            *(["command"] if s.change.cmd else []),
            *(f"dep {safe.cell(d)}" for d in s.change.deps),
            *(f"param {safe.cell(p)}" for p in s.change.params),
        ]
        changed = (
            s.change.status if s.change.status in {"added", "deleted"} else ", ".join(what) or "—"
        )
        run = {
            "ran": "ran",
            "cached": "from run-cache",
            "unchanged": "unchanged",
            "failed": "failed",
        }.get(s.run or "", "—")
        seconds = f"{s.seconds:.1f}s" if s.seconds and s.run in {"ran", "cached"} else ""
        rows.append([safe.cell(s.change.name), changed, run, seconds])
    if not rows:
        return "No stages."
    return _table(["stage", "changed", "this run", "time"], rows)


def _runner(report: Report) -> str:
    lines = []
    if report.runner:
        gpus = report.runner.get("gpus") or []
        gpu = ", ".join(safe.inline(g.get("name")) for g in gpus) or "no GPU"
        lines.append(
            f"Runner: {safe.inline(report.runner.get('os'))}, {report.runner.get('cpu_count')} CPUs, {gpu}"
        )
    if report.mlflow:
        url = str(report.mlflow.get("url") or "")
        run_id = safe.code(report.mlflow.get("run_id"))
        # a link only for a plain http(s) URL: the tracking URI can come from the PR's own config
        if re.fullmatch(r"https?://[\w.:/#%?=&~+-]+", url):
            lines.append(f"MLflow run [{run_id}]({url})")
        else:
            lines.append(f"MLflow run {run_id}")
    return "\n\n".join(lines)


def _validation(report: Report) -> str:
    rows = []
    for result in report.validation:
        verdict = "passed" if result.get("success") else "**failed**"
        summary = result.get("summary") or result.get("error") or ""
        rows.append([safe.cell(result.get("file")), verdict, safe.cell(summary)])
    lines = [
        f"Drift: {safe.inline(line)}" for r in report.validation for line in drift(r.get("extra"))
    ]
    return "\n\n".join([_table(["result", "verdict", "summary"], rows), *lines])


def _rows(files: dict[str, bytes], file: str) -> list[dict[str, object]] | None:
    return (
        plot_rows.load_rows(files[file].decode("utf-8", "replace"), file) if file in files else None
    )


def _plots(report: Report) -> str:
    blocks = []
    for plot in report.plots:
        spec = plot.spec
        for file in spec.files:
            try:
                head_rows, base_rows = _rows(plot.head, file), _rows(plot.base, file)
            except ValueError as exc:
                blocks.append(
                    f"> {safe.inline(spec.title)}: cannot read {safe.inline(file)}: {safe.inline(exc)}"
                )
                continue
            if spec.template == "confusion" and head_rows and spec.x and spec.ys.get(file):
                table = confusion.confusion_markdown(
                    head_rows, spec.x, spec.ys[file][0], base=base_rows
                )
                blocks.append(safe.details(f"{spec.title} (head)", table))
                continue
            fields = list(plot_rows.y_fields(spec.ys.get(file) or (), head_rows or base_rows or []))
            if not fields:
                continue
            x = spec.x
            if x is None:  # DVC's default x: the row's position
                x = plot_rows.INDEX
                head_rows = plot_rows.with_index(head_rows) if head_rows is not None else None
                base_rows = plot_rows.with_index(base_rows) if base_rows is not None else None
            chart = plots.xychart(spec.title, x, fields, base_rows, head_rows)
            if chart:
                blocks.append(safe.details(spec.title, chart))
    return "\n\n".join(blocks)


@dataclass
class _Section:
    title: str
    body: str
    droppable: bool = True


def _headline(report: Report) -> str:
    head = safe.code(report.head.label)
    base = safe.code(report.base.label) if report.base else "no baseline"
    changed = len(report.changed_metrics)
    ran = sum(1 for s in report.stages if s.run == "ran")
    cached = sum(1 for s in report.stages if s.run == "cached")
    unread = sum(1 for m in report.metrics if m.unread)
    parts = [
        f"{changed} metric{'s' if changed != 1 else ''} changed",
        *([f"{unread} not read"] if unread else []),
        f"{sum(1 for p in report.params if p.changed)} params changed",
        f"{len(report.data)} data/outputs changed",
    ]
    if report.run is not None:
        parts.append(f"{ran} stages ran, {cached} from run-cache")
    failed = [r for r in report.validation if not r.get("success", True)]
    if failed:
        parts.append(f"**{len(failed)} validation failed**")
    return f"{head} vs {base} · " + " · ".join(parts)


def render(
    report: Report, *, precision: int = 4, limit: int | None = None, full_report: str = ""
) -> str:
    """The markdown; with `limit`, sections collapse, then drop (largest first) to fit."""
    sections = [
        _Section("Metrics", _metrics(report, precision), droppable=False),
        _Section("Params", _params(report, precision)),
        _Section("Data and outputs", _data(report)),
        _Section(
            "Pipeline",
            "\n\n".join(
                filter(None, [_stages(report), branches.markdown(report.branches), _runner(report)])
            ),
        ),
    ]
    if report.validation:
        sections.insert(1, _Section("Validation", _validation(report), droppable=False))
    if plot_text := _plots(report):
        sections.append(_Section("Plots", plot_text))
    head = [marker(report.id), f"## mlci report: {safe.inline(report.id)}", "", _headline(report)]
    notes = [f"> {safe.inline(n)}" for n in report.notes]

    def assemble(parts: list[_Section], dropped: list[str]) -> str:
        lines = [*head]
        for section in parts:
            lines += ["", f"### {section.title}", "", section.body]
        extra = [*notes]
        if dropped:
            where = full_report or "the job summary and the report artifact"
            extra.append(
                f"> Left out to fit GitHub's comment limit: {', '.join(dropped)}. The full report is in {where}."
            )
        if extra:
            lines += ["", *extra]
        return "\n".join(lines) + "\n"

    text = assemble(sections, [])
    if limit is None or len(text) <= limit:
        return text
    dropped: list[str] = []
    kept = list(sections)
    for section in sorted(
        (s for s in sections if s.droppable), key=lambda s: len(s.body), reverse=True
    ):
        kept.remove(section)
        dropped.append(section.title)
        text = assemble(kept, dropped)
        if len(text) <= limit:
            return text
    # the metrics alone are too long: fewer rows, halving until they fit
    rows = sum(1 for m in report.metrics if m.changed)
    while rows > 0:
        kept[0] = _Section("Metrics", _metrics(report, precision, max_rows=rows), droppable=False)
        text = assemble(kept, dropped)
        if len(text) <= limit:
            return text
        rows //= 2
    raise ValueError(f"a report cannot fit in {limit} characters")


def headline(report: Report, precision: int = 4) -> str:
    """One line for the comment's history: the head and its changed metrics."""
    sha = report.head.sha[:8] if report.head.sha else report.head.rev
    changed = report.changed_metrics[:4]
    values = ", ".join(
        f"{safe.inline(m.name)} {number(m.head, precision)}"
        + (f" ({m.change:+.{precision}g})" if m.change is not None else "")
        for m in changed
    )
    return f"{safe.code(sha)}: {values or 'no metric changed'}"


def status_line(report: Report, precision: int = 4) -> str:
    """The commit status description (140 characters at most; plain text)."""
    failed = sum(1 for r in report.validation if not r.get("success", True))
    changed = report.changed_metrics
    first = changed[0] if changed else None
    text = f"{len(changed)} metrics changed"
    if first is not None and first.change is not None:
        text += f"; {first.name} {first.change:+.{precision}g}"
    if failed:
        text = f"{failed} validation failed; " + text
    return text[:140]
