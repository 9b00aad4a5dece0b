"""mlci's data section against `dvc diff --json` on projects built with DVC's own commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.data_layouts import (
    LAYOUTS,
    Project,
    as_dvc_diff,
    import_source,
    imports,
)


def _agree(project: Project, a: str, b: str) -> None:
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
