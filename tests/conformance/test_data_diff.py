"""mlci's data section against `dvc diff --json` on projects built with DVC's own commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conformance.data_layouts import (
    LAYOUTS,
    Project,
    apply,
    as_dvc_diff,
    import_source,
    imports,
    stale_lock,
    workspace_head,
)


def _agree(project: Project, a: str, b: str | None) -> None:
    expected = project.dvc_diff(a, b)
    rows = project.mlci_data(a, b)
    assert as_dvc_diff(rows) == expected
    assert any(expected.values()), "a layout whose diff is empty proves nothing"


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_data_rows_agree_with_dvc_diff(tmp_path: Path, name: str) -> None:
    project = Project(tmp_path / name)
    LAYOUTS[name](project)
    _agree(project, "A", "B")


def test_imports_agree_with_dvc_diff(tmp_path: Path) -> None:
    source = import_source(tmp_path / "source")
    external = tmp_path / "external.txt"
    external.write_text("hello\n", encoding="utf-8")
    project = Project(tmp_path / "imports")
    imports(project, source, external)
    _agree(project, "A", "B")
    _agree(project, "B", "C")


_NAMES = st.sampled_from(["a.txt", "b.txt", "d1", "d2"])
_CONTENT = st.sampled_from(["1\n", "2\n", "3\n"])
_OPERATION = st.one_of(
    st.tuples(st.just("file"), st.sampled_from(["a.txt", "b.txt"]), _CONTENT),
    st.tuples(st.just("dir"), st.sampled_from(["d1/x", "d1/sub/y", "d2/x", "d2/z"]), _CONTENT),
    st.tuples(st.just("move"), _NAMES, st.sampled_from(["a.txt", "c.txt", "d1", "d3"])),
    st.tuples(st.just("remove"), _NAMES, st.just("")),
    st.tuples(
        st.just("stage"),
        st.sampled_from(["s1", "s2"]),
        st.sampled_from(["cached", "uncached", "unrun"]),
    ),
)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=st.lists(_OPERATION, min_size=1, max_size=3), after=st.lists(_OPERATION, max_size=3))
def test_random_histories_agree_with_dvc_diff(
    tmp_path_factory: pytest.TempPathFactory,
    before: list[tuple[str, str, str]],
    after: list[tuple[str, str, str]],
) -> None:
    project = Project(tmp_path_factory.mktemp("random") / "project")
    for op in before:
        apply(project, op)
    project.commit("A")
    for op in after:
        apply(project, op)
    project.commit("B")
    assert as_dvc_diff(project.mlci_data("A", "B")) == project.dvc_diff("A", "B")


def test_the_workspace_as_head_agrees_with_dvc_diff_of_one_revision(tmp_path: Path) -> None:
    project = Project(tmp_path / "workspace")
    workspace_head(project)
    # `dvc diff A` hashes the workspace; with the data recorded (`dvc add`) both agree
    _agree(project, "A", None)


def test_lock_entries_of_stages_dvc_yaml_no_longer_has_are_no_stages(tmp_path: Path) -> None:
    project = Project(tmp_path / "stale")
    stale_lock(project)
    lock = (project.path / "dvc.lock").read_text(encoding="utf-8")
    assert "each@y:" in lock and "gone:" in lock  # DVC left them there
    stages = {row["name"]: row["status"] for row in project.mlci_report("A", "B")["stages"]}
    # as `dvc status` and `dvc diff` see B: each@y and gone are gone, each@z is new
    assert stages == {"each@x": "unchanged", "each@y": "deleted", "gone": "deleted",
                      "each@z": "added"}  # fmt: skip
