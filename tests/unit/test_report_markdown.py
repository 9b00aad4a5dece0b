"""The report's markdown: structure, size limit, and nothing from a PR unescaped."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mlci.diff import DataChange, MetricChange, ParamChange, StageChange
from mlci.report import markdown
from mlci.report.model import Report, Revision, StageRow
from mlci.snapshot import DataVersion

OUR_TAGS = re.compile(r"<!-- mlci-report:[^>]*-->|</?details>|</?summary>")


def make_report(names: list[str], value: object = 1.0, report_id: str = "pipeline") -> Report:
    return Report(
        id=report_id,
        base=Revision("main", "a" * 40),
        head=Revision("feature", "b" * 40),
        metrics=[MetricChange("m.json", n, 0.5, 0.75, 0.25) for n in names]
        + [MetricChange("m.json", "same", 1, 1, 0)],
        params=[ParamChange("params.yaml", n, value, "new") for n in names],
        data=[
            DataChange(
                n,
                "modified",
                DataVersion(n, "c" * 32, 10, 1, "x.dvc"),
                DataVersion(n, "d" * 32, 20, 2, "x.dvc"),
            )
            for n in names
        ],
        stages=[
            StageRow(StageChange(n, "modified", deps=[n], params=[n]), run="ran", seconds=1.5)
            for n in names
        ],
    )


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


def check_safe(text: str) -> None:
    without_ours = OUR_TAGS.sub("", text)
    assert "<" not in without_ours, "raw HTML from input"
    assert not re.search(r"@\w", text), "an @mention would ping"
    # every table keeps its column count
    for block in re.findall(r"(?:^\|.*\|$\n?)+", text, flags=re.MULTILINE):
        lines = block.strip("\n").split("\n")
        widths = {unescaped_pipes(line) for line in lines}
        assert len(widths) == 1, lines


def test_layout() -> None:
    text = markdown.render(make_report(["accuracy"]))
    assert text.startswith("<!-- mlci-report:pipeline -->\n## mlci report: pipeline\n")
    assert "`feature (bbbbbbbb)` vs `main (aaaaaaaa)`" in text
    assert "| accuracy | 0.5 | 0.75 | +0.25 (+50.0%) |  |" in text
    assert "<details><summary>1 unchanged metrics</summary>" in text
    for title in ("### Metrics", "### Params", "### Data and outputs", "### Pipeline"):
        assert title in text
    check_safe(text)


def test_hostile_names_cannot_break_out() -> None:
    hostile = [
        "a|b|c",
        "<script>alert(1)</script>",
        "@octocat please",
        "line\nbreak",
        "`code` ``more``",
        "<!-- mlci-report:pipeline -->",
        "[link](javascript:alert(1))",
        "<img src=x onerror=alert(1)>",
    ]
    text = markdown.render(make_report(hostile, value="<b>@admin</b>"))
    check_safe(text)
    assert text.count("<!-- mlci-report:") == 1


def test_marker_id_is_clean() -> None:
    assert markdown.marker("train --> <x>") == "<!-- mlci-report:train - x -->"


def test_limit_drops_largest_sections_first() -> None:
    report = make_report([f"metric_{i}" for i in range(400)])
    full = markdown.render(report)
    assert len(full) > 20_000
    limited = markdown.render(report, limit=20_000)
    assert len(limited) <= 20_000
    assert "### Metrics" in limited
    assert "Left out to fit GitHub's comment limit: " in limited
    check_safe(limited)
    tight = markdown.render(report, limit=8_000)
    assert len(tight) <= 8_000
    assert "more changed metrics and 1 unchanged ones are in the full report" in tight
    check_safe(tight)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=4),
    value=st.one_of(
        st.text(max_size=40), st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()
    ),
)
def test_property_nothing_from_a_pr_reaches_the_comment_unescaped(
    names: list[str], value: object
) -> None:
    check_safe(markdown.render(make_report(names, value=value), limit=markdown.COMMENT_LIMIT))
