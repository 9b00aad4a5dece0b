"""Validation results and run records belong to the revision they were made for: a report
shows those of its head revision only, and says why the others are left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import api
from mlci.cli import cli
from mlci.report.model import Report
from tests.conftest import commit_all, git, set_param
from tests.integration.test_retrain import Project, digits_csv  # noqa: F401 - a fixture


def validation_kinds(report: Report) -> list[str]:
    return [str(row.get("kind")) for row in report.validation]


def test_records_belong_to_the_revision_they_were_made_for(history: Path) -> None:
    repo = history
    main = git(repo, "rev-parse", "main")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.mlci.gates.total]\nmin = 1\n")
    head = commit_all(repo, "gate the total")

    # the last run was made at main, with the feature's changes not yet committed
    report = api.report(repo)
    assert report.run is None
    assert (
        f"the run record .mlci/run.json is for {main[:7]}, not HEAD {head[:7]}: run mlci run"
        in report.notes
    )

    api.run(repo, tracking_enabled=False)
    api.validate_model(repo)
    saved = json.loads((repo / ".mlci" / "validation" / "model.json").read_text())
    assert (saved["sha"], saved["dirty"]) == (head, False)
    for rev in ("workspace", "HEAD", "feature", head):
        report = api.report(repo, head=rev)
        assert report.run is not None, rev
        assert validation_kinds(report) == ["model"], rev
        assert not [n for n in report.notes if ".mlci/" in n], report.notes

    report = api.report(repo, base="main", head="main")
    assert report.validation == [] and report.run is None
    assert (
        f"validation results in .mlci/validation/model.json are for {head[:7]}, "
        f"not main ({main[:7]}): run mlci validate model" in report.notes
    )

    # a new commit: the results of the one before are not its own
    git(repo, "commit", "-q", "--allow-empty", "-m", "a later commit")
    later = git(repo, "rev-parse", "HEAD")
    report = api.report(repo)
    assert report.validation == [] and report.run is None
    assert (
        f"validation results in .mlci/validation/model.json are for {head[:7]}, "
        f"not HEAD {later[:7]}: run mlci validate model" in report.notes
    )
    result = CliRunner().invoke(cli, ["-C", str(repo), "report", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["validation"] == []
    assert any("run mlci validate model" in note for note in document["notes"])

    # uncommitted changes: the workspace's results, not the commit's
    set_param(repo, "double", "factor", 4)
    api.validate_model(repo)
    assert validation_kinds(api.report(repo)) == ["model"]
    report = api.report(repo, head="HEAD")
    assert report.validation == []
    assert (
        f"validation results in .mlci/validation/model.json were made with uncommitted changes "
        f"on top of {later[:7]}, not for HEAD ({later[:7]}) itself: run mlci validate model "
        "on a clean checkout" in report.notes
    )


def test_results_that_name_no_revision_are_left_out(history: Path) -> None:
    """A file of an older mlci, or written by hand, says nothing of its revision."""
    folder = history / ".mlci" / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.json").write_text(json.dumps({"format": 1, "kind": "data", "checks": []}))
    report = api.report(history)
    assert report.validation == []
    assert (
        "validation results in .mlci/validation/data.json do not say which revision they "
        "were made for: run mlci validate data" in report.notes
    )


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Project:
    return Project(tmp_path, request.getfixturevalue("digits_csv"))


def test_validate_data_records_its_revision(project: Project) -> None:
    api.validate_data(project.repo)
    saved = json.loads((project.repo / ".mlci" / "validation" / "data.json").read_text())
    assert saved["sha"] == git(project.repo, "rev-parse", "HEAD")
    assert saved["dirty"] is False
