"""The table of figures and the summary block printed at the end."""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.harness import Check, Comparison, Results

HEADER = ("#", "mlci side", "median", "n", "baseline", "median", "n", "ratio", "goal", "")


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _row(index: int, c: Comparison) -> tuple[str, ...]:
    return (
        str(index),
        f"`{c.subject}`",
        _seconds(c.subject_median),
        str(len(c.subject_times)),
        f"`{c.baseline}`",
        _seconds(c.baseline_median),
        str(len(c.baseline_times)),
        f"{c.ratio:.2f}×",
        f"≤ {c.goal:g}×" if c.goal is not None else "-",
        c.verdict,
    )


def table(comparisons: Iterable[Comparison]) -> list[str]:
    """A Markdown table: readable in a terminal, pasteable into a note or docs/benchmarks.md."""
    rows = [HEADER, *(_row(i, c) for i, c in enumerate(comparisons, 1))]
    widths = [max(len(row[col]) for row in rows) for col in range(len(HEADER))]

    def line(cells: tuple[str, ...]) -> str:
        return (
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)) + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(rows[0]), rule, *(line(row) for row in rows[1:])]


def check_line(check: Check) -> str:
    return f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}"


def misses(comparisons: Iterable[Comparison]) -> list[str]:
    return [
        f"{c.subject}: {c.ratio:.2f}× of {c.baseline} (goal ≤ {c.goal:g}×)"
        for c in comparisons
        if c.verdict == "MISS"
    ]


def summary(machine: str, reps: str, results: Results, elapsed: float) -> list[str]:
    missed = misses(results.comparisons)
    return [
        "=" * 24 + " mlci benchmarks: summary " + "=" * 24,
        f"machine: {machine}",
        f"medians of wall time; repetitions: {reps}; whole benchmark {elapsed:.0f} s",
        "",
        *table(results.comparisons),
        "",
        *(check_line(check) for check in results.checks),
        *(f"note: {note}" for note in results.notes),
        "goals missed: " + ("; ".join(missed) if missed else "none"),
        "=" * 74,
    ]
