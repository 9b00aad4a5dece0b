"""What a person sees for `run`, `config` and `doctor` in the terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci import console
from mlci.api import Progress
from mlci.console import escape

if TYPE_CHECKING:
    from mlci.config import Config
    from mlci.doctor import Check
    from mlci.dvc import StageRun
    from mlci.reproduce import RunResult
    from mlci.validate.results import Result

__all__ = ["RunProgress", "render_checks", "render_config", "render_run"]

_STAGE_MARK = {"ran": "[green]✓[/]", "cached": "[cyan]↺[/]", "unchanged": "[dim]·[/]"}
_STAGE_WORD = {"ran": "ran", "cached": "from run-cache", "unchanged": "unchanged"}
_CHECK_MARK = {
    "ok": "[green]✓[/]",
    "warn": "[yellow]![/]",
    "fail": "[red]✗[/]",
    "info": "[dim]·[/]",
}


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 60 else f"{int(value // 60)}m{value % 60:04.1f}s"


class RunProgress(Progress):
    """Stage-by-stage progress on stderr, so stdout stays clean for pipes."""

    def __init__(self, *, verbose: bool = False, root: Path | None = None) -> None:
        self.verbose = verbose
        self.root = f"{root}/" if root else None

    def step(self, message: str) -> None:
        if self.root:
            message = message.replace(self.root, "")
        console.err().print(f"[dim]›[/] {escape(message)}")

    def stage(self, stage: StageRun) -> None:
        timing = "" if stage.status == "unchanged" else f"  {_seconds(stage.seconds)}"
        console.err().print(
            f"  {_STAGE_MARK[stage.status]} {escape(stage.name):<16} {_STAGE_WORD[stage.status]}{timing}"
        )

    def output(self, line: str) -> None:
        if self.verbose:
            console.err().print(f"    [dim]{escape(line)}[/]")

    def warning(self, message: str) -> None:
        console.warn(message)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_run(result: RunResult) -> None:
    record = result.record
    out = console.out()
    root = f"{result.config.root}/"

    def rel(text: object) -> str:
        # paths inside the repository read better from its root, as the commands run there
        return escape(str(text).replace(root, ""))

    ran, cached = record.ran, record.cached
    unchanged = [s.name for s in record.stages if s.status == "unchanged"]
    total = sum(s.seconds for s in record.stages)
    parts = [f"{len(ran)} ran", f"{len(cached)} from run-cache", f"{len(unchanged)} unchanged"]
    out.print(f"[bold]pipeline[/]  {', '.join(parts)} ({_seconds(total)} in stages)")
    if record.remote:
        r = record.remote
        out.print(
            f"[bold]remote[/]    '{escape(r['name'])}' {rel(r['url'])}: "
            f"{r['pulled']} pulled, {r['pushed']} pushed"
        )
    top = {k: v for k, v in record.metrics.items() if "." not in k.split(":")[-1]}
    if top:
        shown = "  ".join(f"{escape(k)} {_short(v)}" for k, v in list(top.items())[:8])
        out.print(f"[bold]metrics[/]   {shown}")
    if record.mlflow:
        m = record.mlflow
        note = " (unchanged since the last run)" if result.mlflow_reused else ""
        out.print(f"[bold]mlflow[/]    run {m['run_id']} in experiment {m['experiment_id']}{note}")
        out.print(f"          open: {rel(m.get('ui', ''))}")
    out.print(f"[dim]details   {rel(result.record_path)}[/]")


def render_config(cfg: Config) -> None:
    """TOML-shaped, so a line can be pasted into pyproject.toml; the source of each value beside it."""
    out = console.out()
    out.print(
        f"[dim]# {escape('[tool.mlci]')} from {escape(str(cfg.file or 'defaults: no pyproject.toml'))}[/]"
    )
    rows = [(key, json.dumps(value), source) for key, value, source in cfg.effective()]
    width = max(len(f"{key} = {value}") for key, value, _ in rows)
    for key, value, source in rows:
        out.print(f"{escape(f'{key} = {value}'):<{width}}  [dim]# {escape(source)}[/]")
    out.print(f"[dim]# tracking URI in effect: {escape(cfg.tracking_uri)}[/]")
    out.print(f"[dim]# MLflow experiment: {escape(cfg.experiment_name)}[/]")


def render_checks(rows: list[Check]) -> None:
    out = console.out()
    width = max(len(row.name) for row in rows)
    for row in rows:
        out.print(f"{_CHECK_MARK[row.status]} {escape(row.name):<{width}}  {escape(row.detail)}")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        out.print("[dim](running in GitHub Actions)[/]")


_VERDICT = {
    "pass": "[green]✓ pass[/]",
    "fail": "[red]✗ fail[/]",
    "warn": "[yellow]! warn[/]",
    "no-baseline": "[dim]· no baseline[/]",
    "skipped": "[dim]· skipped[/]",
}


def render_validation(result: Result) -> None:
    """A verdict line per group, then the checks, failing first."""
    from rich.table import Table

    out = console.out()
    groups: dict[str, list[bool]] = {}
    for check in result.checks:
        groups.setdefault(check.group, []).append(not (check.failed and check.severity == "error"))
    for group, oks in groups.items():
        verdict = "[green]passed[/]" if all(oks) else "[red]failed[/]"
        out.print(f"{escape(group)}: {verdict} ({sum(oks)}/{len(oks)})")
    table = Table(show_edge=False)
    for column in ("", "check", "target", "observed", "expected", "details"):
        table.add_column(column)
    shown = sorted(result.checks, key=lambda c: (not c.failed, c.verdict != "warn"))
    if len(shown) > 20:
        # a suite has hundreds of expectations: the passing ones are in .mlci/validation/
        shown = [c for c in shown if c.verdict != "pass"]
    for check in shown:
        verdict = _VERDICT[check.verdict]
        if check.failed and check.severity == "warning":
            verdict = "[yellow]✗ fail (warning)[/]"
        table.add_row(
            verdict,
            escape(f"{check.group}: {check.name}"),
            escape(str(check.target or "")),
            escape(_short(check.observed) if check.observed is not None else ""),
            escape(check.expected or ""),
            escape(check.message if check.verdict != "pass" else ""),
        )
    if shown:
        out.print(table)
    if hidden := len(result.checks) - len(shown):
        out.print(
            f"[dim]{hidden} passing checks not listed: .mlci/validation/{result.kind}.json has them all[/]"
        )
    state = "[green]ok[/]" if result.success else "[red]failed[/]"
    out.print(f"validate {result.kind}: {state}: {escape(result.summary)}")
