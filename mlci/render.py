"""What a person sees for `run`, `config` and `doctor` in the terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci import console, layout
from mlci.console import escape
from mlci.progress import Progress
from mlci.validate.results import drift, tally

if TYPE_CHECKING:
    from mlci.config import Config
    from mlci.doctor import Check
    from mlci.dvc import StageRun
    from mlci.reproduce import RunResult
    from mlci.validate.results import Result

__all__ = [
    "RunProgress",
    "render_checks",
    "render_config",
    "render_run",
    "render_steps",
    "render_validation",
]

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
    rows: list[tuple[str, str]] = [
        ("[bold]pipeline[/]", f"{', '.join(parts)} ({_seconds(total)} in stages)")
    ]
    if record.remote:
        r = record.remote
        rows.append(
            (
                "[bold]remote[/]",
                f"'{escape(r['name'])}' {rel(r['url'])}: {r['pulled']} pulled, {r['pushed']} pushed",
            )
        )
    top = {k: v for k, v in record.metrics.items() if "." not in k.split(":")[-1]}
    if top:
        shown = ", ".join(f"{escape(k)} {_short(v)}" for k, v in list(top.items())[:8])
        rows.append(("[bold]metrics[/]", shown))
    link = ""
    if record.mlflow:
        m = record.mlflow
        note = " (unchanged since the last run)" if result.mlflow_reused else ""
        rows.append(
            ("[bold]mlflow[/]", f"run {m['run_id']} in experiment {m['experiment_id']}{note}")
        )
        command, _, link = str(m.get("ui", "")).partition("  then ")
        if command.startswith(("http://", "https://")):
            command, link = "", command
        rows.append(
            ("", f"open: {rel(command)}, then" if command and link else f"open: {rel(command)}")
        )
    details = ("[dim]details[/]", f"[dim]{rel(result.record_path)}[/]")
    if not link:
        layout.labelled(out, [*rows, details])
        return
    # the link on a line of its own from the first column, so that it stays whole where it fits
    layout.labelled(out, rows, label_width=8)
    out.print(escape(link))
    layout.labelled(out, [details], label_width=8)


def render_config(cfg: Config) -> None:
    """TOML-shaped, so a line can be pasted into pyproject.toml; the source of each value beside it.

    A source that does not fit beside its line goes on the line above it, as a comment.
    """
    from rich.cells import cell_len

    out = console.out()
    _comment(f"{'[tool.mlci]'} from {cfg.file or 'defaults: no pyproject.toml'}")
    rows = [
        (f"{key} = {json.dumps(value)}", f"# {source}") for key, value, source in cfg.effective()
    ]
    widest = max(cell_len(source) for _, source in rows)
    column = max(
        (cell_len(line) for line, _ in rows if cell_len(line) + 2 + widest <= out.width), default=0
    )
    for line, source in rows:
        if cell_len(line) <= column:
            out.print(f"{escape(line)}{' ' * (column - cell_len(line))}  [dim]{escape(source)}[/]")
        else:
            out.print(f"[dim]{escape(source)}[/]")
            out.print(escape(line))
    _comment(f"tracking URI in effect: {cfg.tracking_uri}")
    _comment(f"MLflow experiment: {cfg.experiment_name}")


def _comment(text: str) -> None:
    """A TOML comment, wrapped with `# ` starting each line."""
    from rich.text import Text

    out = console.out()
    for line in Text(text).wrap(out, max(8, out.width - 2)):
        out.print(f"[dim]# {escape(line.plain.rstrip())}[/]")


def render_checks(rows: list[Check]) -> None:
    out = console.out()
    layout.labelled(
        out, [(f"{_CHECK_MARK[r.status]} {escape(r.name)}", escape(r.detail)) for r in rows]
    )
    if os.environ.get("GITHUB_ACTIONS") == "true":
        out.print("[dim](running in GitHub Actions)[/]")


def render_steps(steps: list[str]) -> None:
    """Numbered steps on stderr, each wrapping under its own text."""
    err = console.err()
    layout.labelled(err, [(f"  {n}.", escape(step)) for n, step in enumerate(steps, 1)])


def _stacked(rows: list[list[str]]) -> list[tuple[str, str]]:
    """A check per block, for a terminal too narrow for the table: verdict, check and target,
    then what was observed and expected, then the details."""
    lines = []
    for verdict, name, target, observed, expected, details in rows:
        lines.append((verdict, f"[bold]{name}[/]" + (f"  {target}" if target else "")))
        seen = [f"observed {observed}"] * bool(observed) + [f"expected {expected}"] * bool(expected)
        lines += [("", "; ".join(seen))] if seen else []
        lines += [("", details)] if details else []
    return lines


_VERDICT = {
    "pass": "[green]✓ pass[/]",
    "fail": "[red]✗ fail[/]",
    "warn": "[yellow]! warn[/]",
    "no-baseline": "[dim]· no baseline[/]",
    "skipped": "[dim]· skipped[/]",
}


def render_validation(result: Result) -> None:
    """A line per group of checks, the drift of the data, then the checks, failing first."""
    out = console.out()
    lines = []
    for group, checks in result.groups().items():
        ok = not any(c.failed and c.severity == "error" for c in checks)
        verdict = "[green]ok[/]" if ok else "[red]failed[/]"
        lines.append(f"{escape(result.group_label(group))}: {verdict} ({tally(checks)})")
    lines += [f"drift: {escape(line)}" for line in drift(result.extra)]
    for line in lines:
        out.print(line)
    shown = sorted(result.checks, key=lambda c: (not c.failed, c.verdict != "warn"))
    if len(shown) > 20:
        # a suite has hundreds of expectations: the passing ones are in .mlci/validation/
        shown = [c for c in shown if c.verdict != "pass"]
    several = len(result.groups()) > 1
    rows = []
    for check in shown:
        verdict = _VERDICT[check.verdict]
        if check.failed and check.severity == "warning":
            verdict = "[yellow]✗ fail (warning)[/]"
        rows.append(
            [
                verdict,
                escape(f"{check.group}: {check.name}" if several else check.name),
                escape(str(check.target or "")),
                escape(_short(check.observed) if check.observed is not None else ""),
                escape(check.expected or ""),
                escape(check.message if check.verdict != "pass" else ""),
            ]
        )
    columns = (
        layout.Col("result"),
        layout.Col("check", key=True),
        layout.Col("target", key=result.kind == "data"),
        layout.Col("observed"),
        layout.Col("expected"),
        layout.Col("details"),
    )
    if rows and layout.fits(columns, rows, width=out.width):
        out.print(layout.table(columns, rows, width=out.width))
    elif rows:
        layout.labelled(out, _stacked(rows))
    if hidden := len(result.checks) - len(shown):
        out.print(
            f"[dim]{hidden} passing checks not listed: .mlci/validation/{result.kind}.json has them all[/]"
        )
    state = "[green]ok[/]" if result.success else "[red]failed[/]"
    out.print(f"validate {result.kind}: {state}: {escape(result.summary)}")
