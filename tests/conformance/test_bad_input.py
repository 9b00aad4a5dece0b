"""Input DVC rejects or cannot parse: mlci names file, revision and line, reports the rest,
and exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.harness import Project

pytestmark = pytest.mark.slow


def _report(project: Project, fmt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlci", "report", "--base", "v1", "--head", "v2", "--format", fmt],
        cwd=project.path, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """v1 fine; v2: b/dvc.yaml DVC rejects, c's metrics JSON does not parse, d's metrics file
    is empty and e's holds a list; a/ still reads."""
    project = Project(tmp_path_factory.mktemp("bad") / "p")
    for head in (False, True):
        project.write("a/dvc.yaml", "stages:\n  s:\n    cmd: echo\n    metrics: [m.json]\n")
        project.write("a/m.json", f'{{"acc": {0.5 + head * 0.25}}}')
        metrics = "m.json" if head else "[m.json]"  # a string where DVC wants a list
        project.write("b/dvc.yaml", f"stages:\n  s:\n    cmd: echo\n    metrics: {metrics}\n")
        project.write("b/m.json", '{"loss": 1}')
        project.write("c/dvc.yaml", "metrics:\n  - m.json\n")
        project.write("c/m.json", '{\n  "x": 1,\n  "y": oops\n}' if head else '{"x": 1}')
        project.write("d/dvc.yaml", "metrics:\n  - empty.json\n  - list.yaml\n")
        project.write("d/empty.json", "" if head else '{"z": 1}')
        project.write("d/list.yaml", "- 1\n- 2\n")
        project.write("params.yaml", "lr: 0.1\n" if not head else "lr: [0.1\n")
        project.commit("v2" if head else "v1")
    return project


def test_json_names_each_problem_and_reports_the_rest(broken: Project) -> None:
    code, document, stderr = broken.mlci("v1", "v2")
    assert code == 2
    problems = document["problems"]
    sha = broken.run("git", "rev-parse", "v2").stdout.strip()
    assert "b/dvc.yaml:4 at v2: stage 's': 'metrics' must be a list" in problems, problems
    assert "c/m.json:3 at v2: malformed JSON: Expecting value" in problems, problems
    assert any(p.startswith("params.yaml:") and " at v2: malformed YAML" in p for p in problems)
    assert all(p in document["notes"] for p in problems)
    assert all(p in stderr for p in problems)
    rows = {(m["file"], m["name"]): (m["base"], m["head"]) for m in document["metrics"]}
    assert rows[("a/m.json", "acc")] == (0.5, 0.75)  # the rest is still reported
    assert sha  # the revision exists; it is named as given
    notes = "\n".join(document["notes"])
    at_v2 = f"at v2 ({sha[:8]})"  # a note names the revision as given, and its commit
    assert f"d/empty.json {at_v2}: is empty" in notes
    assert f"d/list.yaml {at_v2}: holds no metrics DVC shows (a list" in notes


def test_dvc_rejects_the_same_files(broken: Project) -> None:
    """The oracle: DVC fails on the same revision (it drops all of it; mlci keeps the rest)."""
    done = broken.dvc("metrics", "diff", "v1", "v2", "--json", check=False)
    assert "b/dvc.yaml' validation failed" in done.stderr


@pytest.mark.parametrize("fmt", ["terminal", "markdown"])
def test_other_formats_show_problems_and_exit_2(broken: Project, fmt: str) -> None:
    done = _report(broken, fmt)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    shown = done.stdout + done.stderr
    assert "b/dvc.yaml:4 at v2" in shown
    assert "c/m.json:3 at v2" in shown
    if fmt == "markdown":
        assert "b/dvc.yaml:4 at v2" in done.stdout  # in the document itself, not only stderr


def test_only_undeclared_metrics_say_none_declared(tmp_path: Path) -> None:
    project = Project(tmp_path / "p")
    project.write("dvc.yaml", "metrics:\n  - missing.json\n")
    project.commit("v1")
    project.commit("v2")
    done = _report(project, "markdown")
    assert "No metrics declared" not in done.stdout
    assert "missing.json at v2" in done.stdout and ": not found" in done.stdout


def test_a_lock_file_dvc_refuses_is_named_and_exits_2(tmp_path: Path) -> None:
    """Found by the fuzz test: `outs: 1` in dvc.lock was exit 4 (an int is not iterable)."""
    project = Project(tmp_path / "p")
    project.write("dvc.yaml", "stages:\n  s:\n    cmd: echo\n    metrics: [m.json]\n")
    project.write("m.json", '{"acc": 0.5}')
    project.commit("v1")
    project.write("dvc.lock", "schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs: 1\n")
    project.commit("v2")
    code, document, stderr = project.mlci("v1", "v2")
    assert code == 2, stderr
    assert "dvc.lock at v2: stage 's': outs must be a list" in document["problems"]
    assert "Traceback" not in stderr
    refused = project.dvc("diff", "v1", "v2", "--json", check=False)  # the oracle refuses it too
    assert refused.returncode != 0
