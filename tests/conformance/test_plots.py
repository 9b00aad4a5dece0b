"""Plot declarations: mlci finds the plots `dvc plots diff --json` draws, with the same data."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from mlci import git, snapshot
from mlci.report.plot_rows import load_rows
from mlci.report.plot_rows import y_fields as load_fields
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
    _agree(project)


GENERATE = """
import pathlib
value = pathlib.Path("params.yaml").read_text().split(":")[1].strip()
folder = pathlib.Path("training/plots/metrics")
(folder / "eval").mkdir(parents=True, exist_ok=True)
(folder / "dice.tsv").write_text(f"step\\tdice\\n0\\t0.1\\n1\\t{value}\\n")
(folder / "eval" / "loss.tsv").write_text(f"step\\tloss\\n0\\t1.0\\n1\\t{value}\\n")
"""


def test_uncached_plots_directory_is_read_from_git(tmp_path: Path) -> None:
    """A `cache: false` plots directory a stage wrote (DVCLive's layout): git holds its files,
    and dvc.lock a `.dir` hash whose manifest no cache has. DVC reads the files from git."""
    project = Project(tmp_path / "p")
    project.write("gen.py", GENERATE)
    project.write(
        "dvc.yaml",
        """
        stages:
          train:
            cmd: python gen.py
            deps: [gen.py]
            params: [value]
            plots:
              - training/plots:
                  cache: false
        """,
    )
    for value, tag in (("0.5", "v1"), ("0.7", "v2")):
        project.write("params.yaml", f"value: {value}\n")
        project.repro()
        project.commit(tag)
    assert ".dir" in (project.path / "dvc.lock").read_text()
    shutil.rmtree(project.path / ".dvc" / "cache")  # as on a fresh clone: git has it all
    _agree(project)
    code, document, stderr = project.mlci("v1", "v2")
    assert code == 0, stderr
    assert not [n for n in document["notes"] if "not in the local DVC cache" in n], document
    # drawn with DVC's defaults (x: the row's position, y: the last field), in both outputs
    for fmt, expected in (("terminal", "  dice ▁█ 0.1 → 0.7"), ("markdown", 'y-axis "loss"')):
        shown = project.run(sys.executable, "-m", "mlci", "report", "--base", "v1", "--format", fmt)
        assert expected in shown.stdout, shown.stdout


def _agree(project: Project) -> None:
    """Every plot mlci finds is one `dvc plots diff --json` draws, with the same series."""
    theirs = json.loads(project.dvc("plots", "diff", "v1", "v2", "--json").stdout)["data"]
    assert theirs
    for rev in ("v1", "v2"):
        snap = snapshot.take(project.path, rev, git.resolve(project.path, rev))
        assert {spec.id for spec in snap.plots} == set(theirs)
        for spec in snap.plots:
            for file in spec.files:
                rows = load_rows(snap.files[file].decode(), file)
                fields = load_fields(spec.ys[file], rows)  # DVC's default y: the last field
                for field in fields:
                    ours = [str(row[field]) for row in rows]
                    assert ours == _dvc_series(theirs[spec.id], rev, field), (spec.id, rev, field)
