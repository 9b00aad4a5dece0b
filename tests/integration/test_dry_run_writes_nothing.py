"""`--dry-run` writes nothing anywhere: every file under the repository, `.git/`, `.dvc/`
and `.mlci/` included, is the same before and after, and so are the DVC remote and the
feedback store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci.cli import cli
from tests.integration.test_retrain import Project, digits_csv  # noqa: F401 - a fixture

__all__ = ["tree"]


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Project:
    """test_retrain's project: a DVC-tracked dataset, a bare origin, a DVC remote."""
    return Project(tmp_path, request.getfixturevalue("digits_csv"))


def tree(*roots: Path) -> dict[str, str]:
    """Each path under `roots`: its kind, content digest, mode and modification time."""
    found: dict[str, str] = {}
    for root in roots:
        for path in [root, *sorted(root.rglob("*"))]:
            info = path.lstat()
            if path.is_symlink():
                what = f"link {os.readlink(path)}"
            elif path.is_dir():
                what = "dir"
            else:
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path)] = f"{what} {info.st_mode:o} {info.st_mtime_ns}"
    return found


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def test_retrain_dry_run_writes_nothing(project: Project) -> None:
    project.write_feedback("20240501T100000.000000001Z-aaaa", project.new_rows(3))
    state = project.repo / ".mlci" / "validation"
    state.mkdir(parents=True)
    (state / "data.json").write_text('{"format": 1, "kind": "data", "checks": []}\n')
    roots = (project.repo, project.remote, project.origin, project.feedback)
    before = tree(*roots)
    result = CliRunner().invoke(cli, ["-C", str(project.repo), "retrain", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: 3 new rows" in result.output
    assert changed(before, tree(*roots)) == []


def test_retrain_dry_run_without_a_local_cache_writes_nothing(project: Project) -> None:
    """The data comes from the remote: it is read, not put into the repository's cache."""
    project.write_feedback("20240501T100000.000000001Z-aaaa", project.new_rows(2))
    for path in sorted((project.repo / ".dvc" / "cache").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    roots = (project.repo, project.remote, project.origin, project.feedback)
    before = tree(*roots)
    result = CliRunner().invoke(cli, ["-C", str(project.repo), "retrain", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert changed(before, tree(*roots)) == []


def test_failing_retrain_dry_run_writes_nothing(project: Project) -> None:
    project.write_feedback("20240501T100000.000000001Z-aaaa", project.new_rows(3, pixel="99"))
    before = tree(project.repo)
    result = CliRunner().invoke(cli, ["-C", str(project.repo), "retrain", "--dry-run"])
    assert result.exit_code == 1, result.output
    assert changed(before, tree(project.repo)) == []


def test_init_dry_run_writes_nothing(tiny: Path) -> None:
    (tiny / "data.csv").write_text("a,b\n1,2\n")
    before = tree(tiny)
    for extra in ([], ["--force"], ["--data", "data.csv"]):
        result = CliRunner().invoke(cli, ["-C", str(tiny), "init", "--dry-run", *extra])
        assert result.exit_code == 0, result.output
        assert "would create" in result.output
    assert changed(before, tree(tiny)) == []
