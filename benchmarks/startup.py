"""Measurement 1: how fast the light commands start, and what `import mlci.cli` pulls in."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from benchmarks.harness import Check, Comparison, Results, Shell, Side, at, measure

HEAVY = ("mlflow", "great_expectations", "bentoml", "dvc", "torch", "sklearn", "pandas")
CLICK = ("python", "-c", "import click")
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def measure_startup(shell: Shell, project: Path, reps: int, results: Results) -> None:
    sides = [
        Side('python -c "import click"', CLICK, at(project)),
        Side("mlci --help", ("mlci", "--help"), at(project)),
        Side("mlci config", ("mlci", "config"), at(project)),
    ]
    click, help_, config = measure(shell, sides, reps, warmup=2)
    baseline = sides[0].label
    results.comparisons.append(Comparison("mlci --help", help_, baseline, click, goal=2.0))
    results.comparisons.append(Comparison("mlci config", config, baseline, click, goal=2.0))


def parse_importtime(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, depth) per module `-c` imported, after startup's."""
    rows = []
    for line in stderr.splitlines():
        if match := _LINE.match(line):
            rows.append((match[4], int(match[1]), int(match[2]), len(match[3]) // 2))
    starts = [i for i, row in enumerate(rows) if row[0] == "site" and row[3] == 0]
    return rows[starts[-1] + 1 :] if starts else rows


def heaviest_packages(rows: list[tuple[str, int, int, int]], top: int) -> list[tuple[str, int]]:
    per_package: Counter[str] = Counter()
    for module, self_us, _cumulative, _depth in rows:
        per_package[module.split(".")[0]] += self_us
    return per_package.most_common(top)


def import_profile(
    shell: Shell, statement: str, project: Path, top: int = 8
) -> tuple[str, set[str]]:
    """A line naming the heaviest packages behind an import statement, and every package it imports."""
    proc = shell.run(["python", "-X", "importtime", "-c", statement], project)
    rows = parse_importtime(proc.stderr)
    total = sum(cumulative for _m, _s, cumulative, depth in rows if depth == 0)
    heavy = ", ".join(f"{name} {us / 1000:.0f}" for name, us in heaviest_packages(rows, top))
    line = f"`{statement}`: {total / 1000:.0f} ms; heaviest packages (self ms): {heavy}"
    return line, {row[0].split(".")[0] for row in rows}


def check_cli_imports(shell: Shell, project: Path, results: Results) -> None:
    line, packages = import_profile(shell, "import mlci.cli", project)
    results.notes.append(line)
    found = sorted(packages.intersection(HEAVY))
    detail = f"imports {', '.join(found)}" if found else f"imports none of {', '.join(HEAVY)}"
    results.checks.append(Check("import mlci.cli stays light", not found, detail))


def profile_config(shell: Shell, project: Path, results: Results) -> None:
    """What `mlci config` imports beyond the CLI: the cost behind a missed startup goal."""
    line, _packages = import_profile(shell, "import mlci.api, mlci.render", project)
    results.notes.append(line)
