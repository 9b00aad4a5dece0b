"""`mlci models` in the terminal: the tables `gto show` and `gto show NAME` print.

The data comes from `Registry.show()` (state.py: what `gto show --json` gives); this module
only lays it out, with GTO's columns and conventions: `#STAGE` headers, `-` for nothing,
`*NAME` for an artifact with stage tags but no registered version, commits cut to 7 digits.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from mlci import console
from mlci.console import escape

__all__ = ["registry_table", "render", "versions_table"]

Table = tuple[list[str], list[list[str]]]

_MISSING = "-"
_HEXSHA = re.compile(r"[0-9a-f]{40}")


def _cell(value: Any) -> str:
    return _MISSING if value is None or value == "" else str(value)


def _short(text: str) -> str:
    return text[:7] if _HEXSHA.fullmatch(text) else text


def registry_table(state: dict[str, dict[str, Any]]) -> Table:
    """`gto show`: one row per artifact, its latest version and the holder of each stage."""
    stages = list(next(iter(state.values()))["stage"]) if state else []
    header = ["name", "latest", *(f"#{stage}" for stage in stages)]
    rows = [
        [
            name if info.get("registered", True) else f"*{name}",
            _cell(info.get("version")),
            *(_cell((info.get("stage") or {}).get(stage)) for stage in stages),
        ]
        for name, info in sorted(state.items())
    ]
    return header, rows


def _when(iso: str) -> str:
    try:
        return str(dt.datetime.fromisoformat(iso))
    except (TypeError, ValueError):
        return _cell(iso)


def versions_table(versions: list[dict[str, Any]]) -> Table:
    """`gto show NAME`: one row per version, the stages it holds, when and by which tag."""
    header = ["artifact", "version", "stage", "created_at", "ref"]
    rows = []
    for version in versions:
        held = dict.fromkeys(str(s.get("stage")) for s in version.get("stages") or [])
        rows.append(
            [
                str(version.get("artifact")),
                _short(str(version.get("version"))),
                ", ".join(held),  # blank when it holds none, as in `gto show NAME`
                _when(str(version.get("created_at"))),
                _short(str(version.get("ref"))),
            ]
        )
    return header, rows


def render(state: Any, name: str | None) -> None:
    from rich.table import Table as RichTable

    if name is None:
        header, rows = registry_table(state)
        empty = "nothing registered: no model tags (NAME@vX.Y.Z) in this repository"
    else:
        header, rows = versions_table(state)
        empty = f"nothing registered for {name}"
    if not rows:
        console.info(empty)
        return
    table = RichTable(show_edge=False)
    for column in header:
        table.add_column(escape(column))
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.out().print(table)
