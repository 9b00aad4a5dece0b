"""The terminal renderer, in process: a report of any names and values fits any width, and
the validation summaries, drift lines and table layout it prints from add up.

The same output from the installed `mlci`, at 60, 80 and 120 columns: test_widths.py.
"""

from __future__ import annotations

import io
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from tests.surface.test_widths import LONG_METRIC, WIDE_METRIC, tables, too_wide

# test_widths.py's group, as when these tests were part of it
pytestmark = pytest.mark.xdist_group("widths")


# --- the report's terminal renderer, fed anything -------------------------------------------

NAMES = st.text(
    alphabet=st.characters(
        codec="utf-8",
        exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me", "Cf"),
    ),
    min_size=1,
    max_size=90,
) | st.sampled_from([LONG_METRIC, WIDE_METRIC * 6, "x" * 150, "a b " * 30, "精度" * 40])
VALUES = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    NAMES,
)


@st.composite
def reports(draw: st.DrawFn) -> object:
    from mlci.diff import DataChange, MetricChange, ParamChange, StageChange
    from mlci.report.model import Plot, Report, Revision, StageRow
    from mlci.snapshot import DataVersion, PlotSpec

    metrics = [
        MetricChange(
            file=draw(NAMES),
            name=draw(NAMES),
            base=draw(VALUES),
            head=draw(VALUES),
            change=draw(st.none() | st.floats(allow_nan=False, allow_infinity=False)),
            significant=draw(st.none() | st.booleans()),
            interval=draw(st.none() | st.tuples(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9))),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    params = [
        ParamChange(file=draw(NAMES), name=draw(NAMES), base=draw(VALUES), head=draw(VALUES))
        for _ in range(draw(st.integers(0, 3)))
    ]
    version = DataVersion(path="p", hash="0123456789abcdef", size=123456, files=None, source="x")
    data = [
        DataChange(path=draw(NAMES), status="modified", base=version, head=None)
        for _ in range(draw(st.integers(0, 2)))
    ]
    stages = [
        StageRow(
            change=StageChange(
                name=draw(NAMES), status="modified", deps=[draw(NAMES)], params=[draw(NAMES)]
            ),
            run=draw(st.sampled_from(["ran", "cached", "unchanged", None])),
            seconds=1.5,
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    x = "step"
    values = draw(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300))
    csv = "".join(f"{i},{v}\n" for i, v in enumerate(values))
    plots = [
        Plot(
            spec=PlotSpec(
                id="p",
                files=("p.csv",),
                x=x,
                ys={"p.csv": ("value",)},
                template="linear",
                title=draw(NAMES),
            ),
            base={},
            head={"p.csv": f"{x},value\n{csv}".encode()},
        )
    ]
    summary = draw(NAMES)
    validation = [
        {
            "file": "data.json",
            "kind": "data",
            "success": draw(st.booleans()),
            "summary": summary,
            "extra": {
                "profiles": {
                    draw(NAMES): {
                        "base": {"rows": 1},
                        "base_sha": "0123456789abcdef",
                        "psi": {draw(NAMES): draw(st.floats(0, 10)) for _ in range(3)},
                    }
                }
            },
        }
    ]
    return Report(
        id=draw(NAMES),
        base=Revision(rev=draw(NAMES), sha="0" * 40),
        head=Revision(rev="workspace", sha=None),
        metrics=metrics,
        params=params,
        data=data,
        stages=stages,
        plots=plots,
        validation=validation,
        runner={"os": draw(NAMES), "cpu_count": 2},
        mlflow={"ui": f"mlflow ui --backend-store-uri {draw(NAMES)}  then http://x/{draw(NAMES)}"},
        notes=[],
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=reports(), columns=st.integers(40, 160), precision=st.integers(1, 12))
def test_terminal_report_fits_any_width(report: object, columns: int, precision: int) -> None:
    from mlci.report import terminal
    from mlci.report.model import Report

    assert isinstance(report, Report)
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", str(columns))
        mp.setattr(sys, "stdout", buffer)
        terminal.render(report, precision=precision)
    text = buffer.getvalue()
    assert too_wide(text, columns) == []
    for headers, rows in tables(text):
        assert all(headers), headers
        for column in range(len(headers)):
            assert any(row[column] for row in rows)
    # a name (one word) that fits in a quarter of the line is never cut
    one_file = len({m.file for m in report.metrics}) == 1
    for m in report.metrics:
        if one_file and cell_len(m.name) <= columns // 4 and m.name.split() == [m.name]:
            assert m.name in text


def test_validate_model_counts_name_gates_and_checks() -> None:
    from mlci.validate.results import Check, Result

    result = Result(
        kind="model",
        checks=[
            Check("gates", "accuracy", "pass"),
            Check("gates", "f1", "fail", severity="warning"),
            Check("gates", "loss", "no-baseline"),
            Check("gates", "recall", "fail"),
            Check("model", "latency", "skipped"),
        ],
    )
    assert result.summary == (
        "5 checks (4 gates, 1 model check): 1 passed, 1 failed, 1 warning, "
        "1 without baseline, 1 skipped"
    )
    assert result.group_label("gates") == "4 gates"
    data = Result(kind="data", checks=[Check("a", "x", "pass"), Check("b", "y", "warn")])
    assert data.summary == "2 expectations (a 1, b 1): 1 passed, 1 warning"
    assert data.group_label("a") == "1 expectation of a"


def test_drift_lines_name_the_drifted_columns() -> None:
    from mlci.validate.results import drift

    extra = {
        "profiles": {
            "table": {
                "base": {"rows": 3},
                "base_sha": "abcdef0123456789",
                "psi": {"a": 0.02, "b": 2.5, "c": None, "d": 0.1},
            },
            "other": {"base": None, "psi": {}, "note": "data at abcdef01 is not in the cache"},
            "first": {"base": None, "psi": {}},
        }
    }
    assert drift(extra) == [
        "first: no drift score: no base revision to compare with",
        "other: no drift score: data at abcdef01 is not in the cache",
        "table vs abcdef01: 2 of 3 columns drifted (PSI ≥ 0.1): b 2.5, d 0.1",
    ]
    assert drift({}) == [] and drift(None) == []


def test_layout_gives_width_from_the_columns_that_can_spare_it() -> None:
    from rich.console import Console

    from mlci import layout

    rows = [["✗ fail", "expect_column_values_to_not_be_null", "x " * 60]]
    columns = (layout.Col("result"), layout.Col("check", key=True), layout.Col("details"))
    buffer = io.StringIO()
    Console(file=buffer, width=70, no_color=True).print(layout.table(columns, rows, width=70))
    text = buffer.getvalue()
    assert "expect_column_values_to_not_be_null" in text
    assert too_wide(text, 70) == []
    assert layout.water_fill([30, 10, 50], [30, 4, 8], 60) == [30, 10, 20]
    assert layout.water_fill([30, 30], [4, 4], 40) == [20, 20]


def test_a_very_long_key_folds_before_short_words_split() -> None:
    # found on allenai/agent-baselines at 80 columns: 66-character stage names and paths
    # kept whole, the status words split into "dele|ted" and "chan|ged"
    from rich.console import Console

    from mlci import layout

    path = "dev_dvc_logs/debug_logs/task_sqa_solver_anthropic/claude-3-5-sonnet_rubric_eval.csv"
    rows = [[path, "deleted", "8f2a11c0 1.2 MiB", "—"], [path[:-4], "modified", "?", "?"]]
    columns = (layout.Col("path", key=True), layout.Col("status"), layout.Col("base"))
    buffer = io.StringIO()
    Console(file=buffer, width=80, no_color=True).print(
        layout.table((*columns, layout.Col("head")), rows, width=80)
    )
    text = buffer.getvalue()
    assert too_wide(text, 80) == []
    for word in ("deleted", "modified", "status", "8f2a11c0"):
        assert word in text  # whole, on one line
    assert path not in text  # the long path is the one that folds
    assert "".join(line.split("│")[0].strip() for line in text.splitlines()[2:4]) == path
