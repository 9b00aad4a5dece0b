"""Plot declarations: mlci finds the plots `dvc plots diff --json` draws, with the same data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlci import git, snapshot
from mlci.report.plot_rows import load_rows
from tests.conformance.harness import Project

pytestmark = pytest.mark.slow


def _layout(project: Project, head: bool) -> None:
    project.write("roc.json", json.dumps([{"x": 1, "y": 2}, {"x": 2, "y": 3 + head}]))
    project.write("sub/plots/acc.csv", f"step,acc\n0,0.5\n1,{0.6 + head / 10}\n")
    project.write("m/cm.json", json.dumps([{"a": 1, "b": 2 - head}, {"a": 0, "b": 0}]))
    project.write(
        "dvc.yaml",
        """
        stages:
          s:
            cmd: echo
            plots:
              - roc.json:
                  x: x
                  y: y
                  cache: false
        plots:
          - ROC:
              x: x
              y:
                roc.json: y
          - sub/plots
        """,
    )
    project.write(
        "m/dvc.yaml",
        """
        stages:
          t:
            cmd: echo
            plots:
              - cm.json:
                  template: confusion
                  x: a
                  y: b
                  cache: false
        plots:
          - Named:
              y:
                cm.json: b
        """,
    )


def _dvc_series(plot: list[dict[str, Any]], rev: str, field: str) -> list[str]:
    rows = plot[0]["content"]["data"]["values"]
    return [str(r[field]) for r in rows if r.get("rev") == rev and field in r]


def test_plot_ids_and_series_agree(tmp_path: Path) -> None:
    project = Project(tmp_path / "p")
    for head, tag in ((False, "v1"), (True, "v2")):
        _layout(project, head)
        project.commit(tag)
    theirs = json.loads(project.dvc("plots", "diff", "v1", "v2", "--json").stdout)["data"]
    for rev in ("v1", "v2"):
        snap = snapshot.take(project.path, rev, git.resolve(project.path, rev))
        assert {spec.id for spec in snap.plots} == set(theirs)
        for spec in snap.plots:
            for file in spec.files:
                rows = load_rows(snap.files[file].decode(), file)
                fields = spec.ys[file] or (list(rows[0])[-1],)  # DVC's default y: the last field
                for field in fields:
                    ours = [str(row[field]) for row in rows]
                    assert ours == _dvc_series(theirs[spec.id], rev, field), (spec.id, rev, field)
