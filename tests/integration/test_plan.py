"""`mlci plan` on real git + DVC repositories, checked against what DVC itself draws and does.

DVC is the oracle: the graph against `dvc dag`, each stage's action against what
`dvc repro` then does (a stage command appends its name to `counter.log`, which is
neither an output nor tracked, so a stage that DVC restores leaves no line there).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import api, dvc
from mlci.cli import cli
from mlci.plan import graph
from tests.conftest import BIN, commit_all, free_port, git, sh

WRITE = "python -c \"import sys; open(sys.argv[1], 'w').write(sys.argv[2])\""

FANNED = f"""\
stages:
  prepare:
    cmd: {WRITE} prepared.txt "$(cat input.txt)" && echo prepare >> counter.log
    deps: [input.txt]
    outs: [prepared.txt]
  train:
    foreach: [0, 1, 2, 3]
    do:
      cmd: {WRITE} model-${{item}}.txt "$(cat prepared.txt hyper-${{item}}.txt)" && echo train@${{item}} >> counter.log
      deps:
        - prepared.txt
        - hyper-${{item}}.txt
      outs:
        - model-${{item}}.txt
      meta:
        mlci:
          runs-on: [self-hosted, gpu]
  evaluate:
    foreach: [0, 1, 2, 3]
    do:
      cmd: {WRITE} score-${{item}}.txt "$(wc -c < model-${{item}}.txt)" && echo evaluate@${{item}} >> counter.log
      deps:
        - model-${{item}}.txt
      outs:
        - score-${{item}}.txt
  compare:
    cmd: cat score-0.txt score-1.txt score-2.txt score-3.txt > compare.txt && echo compare >> counter.log
    deps: [score-0.txt, score-1.txt, score-2.txt, score-3.txt]
    outs: [compare.txt]
"""
ALL = [
    "prepare",
    *(f"train@{i}" for i in range(4)),
    *(f"evaluate@{i}" for i in range(4)),
    "compare",
]


def make_fanned(path: Path, remote: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    sh(str(BIN / "dvc"), "remote", "add", "-d", "store", str(remote), cwd=path)
    remote.mkdir(exist_ok=True)
    (path / "dvc.yaml").write_text(FANNED)
    (path / "input.txt").write_text("digits\n")
    for i in range(4):
        (path / f"hyper-{i}.txt").write_text(f"lr={i}\n")
    (path / ".gitignore").write_text("/counter.log\n/.mlci/\n")
    commit_all(path, "pipeline")
    return path


def dvc_cmd(repo: Path, *args: str) -> str:
    return sh(str(BIN / "dvc"), *args, cwd=repo).stdout


def counted(repo: Path) -> list[str]:
    log = repo / "counter.log"
    lines = log.read_text().split() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def actions(repo: Path, *targets: str) -> dict[str, str]:
    return {s.name: s.action for s in api.plan(repo, targets=targets).stages}


def ran_by_dvc_repro(repo: Path) -> list[str]:
    # what `mlci run` does: the run-cache fetched from the remote, then `dvc repro --pull`
    dvc_cmd(repo, "fetch", "--run-cache", "-q")
    out = dvc_cmd(repo, "repro", "--pull")
    assert "Stage 'compare'" in out or "compare" in out
    return counted(repo)


def clone(origin: Path, into: Path) -> Path:
    sh("git", "clone", "-q", str(origin), str(into), cwd=origin.parent)
    return into


@pytest.mark.slow
def test_each_action_is_what_dvc_repro_then_does(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    origin = make_fanned(tmp_path / "origin", remote)

    # nothing ran yet: every stage runs
    assert actions(origin) == dict.fromkeys(ALL, "run")
    assert sorted(ran_by_dvc_repro(origin)) == sorted(ALL)
    assert actions(origin) == dict.fromkeys(ALL, "unchanged")
    dvc_cmd(origin, "push", "--run-cache", "-q")
    commit_all(origin, "ran")

    # a runner's fresh clone: everything comes from the remote, nothing runs
    first = clone(origin, tmp_path / "first")
    plan = api.plan(first)
    assert plan.remote == "store"
    assert {s.name: s.action for s in plan.stages} == dict.fromkeys(ALL, "restore")
    assert ran_by_dvc_repro(first) == []
    assert sh("git", "status", "--porcelain", cwd=first).stdout == ""

    # one branch's input changes: that branch and the join run, the rest is restored
    second = clone(origin, tmp_path / "second")
    (second / "hyper-2.txt").write_text("lr=0.5\n")
    planned = actions(second)
    assert {n for n, a in planned.items() if a == "run"} == {"train@2", "evaluate@2", "compare"}
    assert {n for n, a in planned.items() if a == "restore"} == set(ALL) - {
        "train@2",
        "evaluate@2",
        "compare",
    }
    assert sorted(ran_by_dvc_repro(second)) == ["compare", "evaluate@2", "train@2"]

    # another runner already ran that change and pushed its run-cache: restored, not run
    dvc_cmd(second, "push", "--run-cache", "-q")
    third = clone(origin, tmp_path / "third")
    (third / "hyper-2.txt").write_text("lr=0.5\n")
    plan = api.plan(third)
    assert {s.name: s.action for s in plan.stages} == dict.fromkeys(ALL, "restore")
    assert ran_by_dvc_repro(third) == []
    assert (third / "compare.txt").read_bytes() == (second / "compare.txt").read_bytes()

    # targets: what `dvc repro train@1` takes, nothing more
    assert list(actions(third, "train@1")) == ["prepare", "train@1"]


def test_the_split_and_the_matrix(tmp_path: Path) -> None:
    repo = make_fanned(tmp_path / "repo", tmp_path / "remote")
    (repo / "pyproject.toml").write_text(
        '[tool.mlci.runners]\n"evaluate@*" = ["cpu-runners"]\ndefault = ["linux"]\n'
    )
    commit_all(repo, "runners")
    result = CliRunner().invoke(cli, ["-C", str(repo), "plan", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["revision"] == git(repo, "rev-parse", "HEAD")
    assert document["remote"] is None  # the folder is empty: no run-cache to read yet
    assert document["upstream"] == {"targets": ["prepare"], "runs-on": ["linux"], "action": "run"}
    include = document["branches"]["include"]
    assert [b["targets"] for b in include] == [f"train@{i} evaluate@{i}" for i in range(4)]
    assert {b["runs-on"] for b in include} == {json.dumps(["self-hosted", "gpu", "cpu-runners"])}
    assert document["join"] == {"targets": ["compare"], "runs-on": ["linux"], "action": "run"}
    assert document["fan-out"] is True
    groups = {s["name"]: s["group"] for s in document["stages"]}
    assert groups["evaluate@3"] == groups["train@3"] == "branch-3"
    by_name = {s["name"]: s for s in document["stages"]}
    assert by_name["evaluate@0"]["runs-on"] == ["cpu-runners"]
    assert by_name["train@0"]["runs-on"] == ["self-hosted", "gpu"]
    assert by_name["prepare"]["runs-on"] == ["linux"]

    result = CliRunner().invoke(cli, ["-C", str(repo), "plan"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result.stdout
    assert any("train@2" in line and "run" in line for line in lines)
    assert "fan-out: 4 branches" in result.stderr


def _mermaid_edges(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    ids = dict(re.findall(r'^\s*(node\d+)\["(.*)"\]$', text, re.MULTILINE))
    edges = re.findall(r"^\s*(node\d+)-->(node\d+)$", text, re.MULTILINE)
    return set(ids.values()), {(ids[a], ids[b]) for a, b in edges}


def test_the_graph_is_dvcs_own(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
    (repo / "raw").mkdir()
    (repo / "raw" / "a.csv").write_text("1\n")
    dvc_cmd(repo, "add", "-q", "raw")
    (repo / "dvc.yaml").write_text(
        textwrap.dedent("""\
        stages:
          prepare:
            cmd: cp -r raw prepared
            deps: [raw]
            outs: [prepared]
          train:
            matrix:
              model: [cnn, mlp]
              lr: [1, 2]
            cmd: echo ${item.model} ${item.lr} > model-${item.model}-${item.lr}.txt
            deps: [prepared]
            outs:
              - model-${item.model}-${item.lr}.txt
          evaluate:
            foreach: [cnn, mlp]
            do:
              cmd: cat model-${item}-1.txt model-${item}-2.txt > eval-${item}.txt
              deps:
                - model-${item}-1.txt
                - model-${item}-2.txt
              outs:
                - eval-${item}.txt
        """)
    )
    (repo / "sub").mkdir()
    (repo / "sub" / "dvc.yaml").write_text(
        textwrap.dedent("""\
        stages:
          summary:
            wdir: ..
            cmd: cat eval-cnn.txt eval-mlp.txt > sub/summary.txt
            deps: [eval-cnn.txt, eval-mlp.txt]
            outs: [sub/summary.txt]
          alone:
            cmd: echo 1 > alone.txt
            outs: [alone.txt]
        """)
    )
    commit_all(repo, "graph")
    nodes, edges = _mermaid_edges(dvc_cmd(repo, "dag", "--mermaid"))
    with dvc.opened(repo) as opened:
        ours = graph.full_graph(opened)
        whole = graph.stages_for(opened, ["sub/dvc.yaml:summary"])
    assert set(ours) == nodes
    assert {(dep, name) for name, deps in ours.items() for dep in deps} == edges
    assert "train@cnn-1" in nodes and "sub/dvc.yaml:summary" in nodes and "raw.dvc" in nodes
    # the stages `dvc repro sub/dvc.yaml:summary` takes, each after what it needs
    names = [n.name for n in whole]
    assert names[-1] == "sub/dvc.yaml:summary" and "sub/dvc.yaml:alone" not in names
    assert {n.pipeline for n in whole} == {"raw.dvc", "dvc.yaml", "sub/dvc.yaml"}
    for node in whole:
        assert all(names.index(need) < names.index(node.name) for need in node.needs)
    assert len(whole) == 1 + 1 + 4 + 2 + 1


def test_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    repo = make_fanned(tmp_path / "repo", tmp_path / "remote")

    result = runner.invoke(cli, ["-C", str(repo), "plan", "train@9"])
    assert result.exit_code == 2
    assert "unknown target 'train@9'" in result.stderr

    (repo / "pyproject.toml").write_text('[tool.mlci.runners]\n"train@*" = "gpu"\n')
    result = runner.invoke(cli, ["-C", str(repo), "plan"])
    assert result.exit_code == 2
    assert "runners.train@*" in result.stderr
    (repo / "pyproject.toml").unlink()

    text = (repo / "dvc.yaml").read_text().replace("[self-hosted, gpu]", "[]")
    (repo / "dvc.yaml").write_text(text)
    result = runner.invoke(cli, ["-C", str(repo), "plan"])
    assert result.exit_code == 2
    assert "dvc.yaml: stage 'train@0': meta.mlci.runs-on" in result.stderr
    git(repo, "checkout", "dvc.yaml")

    # a remote that does not answer: exit 3 naming it, as `mlci run` would stop there
    port = free_port()
    dvc_cmd(repo, "remote", "add", "-d", "-f", "web", f"http://127.0.0.1:{port}/store")
    result = runner.invoke(cli, ["-C", str(repo), "plan"])
    assert result.exit_code == 3
    assert "'web'" in result.stderr and f"127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    result = runner.invoke(cli, ["-C", str(plain), "plan"])
    assert result.exit_code == 2
    assert "not a DVC repository" in result.stderr
