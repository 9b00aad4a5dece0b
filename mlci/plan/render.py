"""`mlci plan` in the terminal: a table of jobs and their stages, then one line of verdict."""

from __future__ import annotations

from mlci import console, layout
from mlci.console import escape
from mlci.plan.document import Group, Plan

__all__ = ["render_plan"]

_ACTION = {"run": "[yellow]run[/]", "restore": "[cyan]restore[/]", "unchanged": "[dim]unchanged[/]"}


def _rows(title: str, group: Group) -> list[list[str]]:
    runs_on = escape(", ".join(group.runs_on))
    rows = []
    for i, stage in enumerate(group.stages):
        rows.append(
            [
                f"[bold]{escape(title)}[/]" if i == 0 else "",
                escape(stage.name),
                _ACTION.get(stage.action, escape(stage.action)),
                runs_on if i == 0 else "",
            ]
        )
    return rows


def render_plan(plan: Plan) -> None:
    out = console.out()
    rows = _rows("upstream", plan.upstream)
    for i, branch in enumerate(plan.branches):
        rows += _rows(f"branch {i}", branch)
    rows += _rows("join", plan.join)
    columns = [
        layout.Col("job"),
        layout.Col("stage", key=True),
        layout.Col("action"),
        layout.Col("runs on"),
    ]
    out.print(layout.table(columns, rows, width=out.width))
    working = sum(1 for b in plan.branches if b.action == "run")
    where = f"local and remote '{plan.remote}'" if plan.remote else "local only"
    verdict = (
        f"fan-out: {working} branches run at once"
        if plan.fan_out
        else f"no fan-out: {working} branch{'es' if working != 1 else ''} to run"
    )
    console.info(f"{verdict}; run-cache read: {where}")
