"""The split of a stage graph into upstream, branches and join, and the runner labels (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci import config
from mlci.errors import ConfigError, UsageError
from mlci.plan.document import Group, Plan, PlannedStage
from mlci.plan.runners import asked_for, default_of, union
from mlci.plan.split import split

FOUR = [f"train@{i}" for i in range(4)] + [f"evaluate@{i}" for i in range(4)]
NEEDS = {
    "data.dvc": [],
    "prepare": ["data.dvc"],
    **{f"train@{i}": ["prepare"] for i in range(4)},
    **{f"evaluate@{i}": [f"train@{i}"] for i in range(4)},
    "compare": [f"evaluate@{i}" for i in range(4)],
}
ORDER = ["data.dvc", "prepare", *FOUR, "compare"]


def test_prepare_four_branches_and_a_join() -> None:
    parts = split(ORDER, NEEDS, ["data.dvc"])
    assert parts.upstream == ["data.dvc", "prepare"]
    assert parts.branches == [[f"train@{i}", f"evaluate@{i}"] for i in range(4)]
    assert parts.join == ["compare"]
    assert parts.group_of("evaluate@2") == "branch-2"
    assert parts.group_of("compare") == "join"


def test_without_a_join_the_branches_end_the_pipeline() -> None:
    order = [n for n in ORDER if n != "compare"]
    parts = split(order, {k: v for k, v in NEEDS.items() if k != "compare"}, ["data.dvc"])
    assert len(parts.branches) == 4
    assert parts.join == []


def test_a_join_and_what_follows_it_stay_together() -> None:
    order = [*ORDER, "report"]
    parts = split(order, {**NEEDS, "report": ["compare", "prepare"]}, ["data.dvc"])
    assert parts.join == ["compare", "report"]
    assert len(parts.branches) == 4


def test_a_chain_does_not_fan_out() -> None:
    needs = {"a": [], "b": ["a"], "c": ["b"]}
    parts = split(["a", "b", "c"], needs)
    assert parts.upstream == ["a", "b", "c"]
    assert parts.branches == []
    assert parts.join == []


def test_branches_share_nothing_and_need_only_the_upstream() -> None:
    # a diamond inside one branch: b1 and c1 both from a1, d1 from both; a2 alone
    needs = {"p": [], "a1": ["p"], "b1": ["a1"], "c1": ["a1"], "d1": ["b1", "c1"], "a2": ["p"]}
    order = ["p", "a1", "b1", "c1", "d1", "a2"]
    parts = split(order, needs)
    assert parts.upstream == ["p"]
    assert parts.branches == [["a1", "b1", "c1", "d1"], ["a2"]]
    for branch in parts.branches:
        for stage in branch:
            assert all(n in branch or n in parts.upstream for n in needs[stage])


def test_labels_meta_wins_then_first_pattern_then_default() -> None:
    table = {"train@*": ["self-hosted", "gpu"], "*": ["cpu-runners"], "default": ["x"]}
    meta = {"mlci": {"runs-on": ["gpu-runners"]}}
    assert asked_for("train@0", "dvc.yaml", meta, table) == ["gpu-runners"]
    assert asked_for("train@0", "dvc.yaml", {"other": 1}, table) == ["self-hosted", "gpu"]
    assert asked_for("prepare", "dvc.yaml", None, table) == ["cpu-runners"]
    assert asked_for("prepare", "dvc.yaml", None, {"default": ["x"]}) is None
    assert default_of({"default": ["x"]}) == ["x"]
    assert default_of({}) == ["ubuntu-latest"]
    assert asked_for("s", "dvc.yaml", {"mlci": {"runs-on": "gpu"}}, {}) == ["gpu"]


@pytest.mark.parametrize("bad", [[], "", [""], [1], {"a": 1}])
def test_a_bad_meta_label_names_the_stage(bad: object) -> None:
    with pytest.raises(UsageError, match=r"sub/dvc.yaml: stage 'train@1': meta.mlci.runs-on"):
        asked_for("train@1", "sub/dvc.yaml", {"mlci": {"runs-on": bad}}, {})


def test_a_job_asks_for_what_its_stages_ask_for() -> None:
    assert union([["self-hosted", "gpu"], None, ["self-hosted", "a100"]], ["ubuntu-latest"]) == [
        "self-hosted",
        "gpu",
        "a100",
    ]
    assert union([None, None], ["ubuntu-latest"]) == ["ubuntu-latest"]


def test_runners_table_is_read_and_checked(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mlci.runners]\n"train@*" = ["self-hosted", "gpu"]\ndefault = ["cpu"]\n'
    )
    assert config.load(tmp_path).runners == {"train@*": ["self-hosted", "gpu"], "default": ["cpu"]}
    (tmp_path / "pyproject.toml").write_text('[tool.mlci.runners]\n"train@*" = "gpu"\n')
    with pytest.raises(ConfigError, match=r"'runners.train@\*'") as info:
        config.load(tmp_path)
    assert info.value.exit_code == 2
    (tmp_path / "pyproject.toml").write_text('[tool.mlci.runners]\n"train@*" = []\n')
    with pytest.raises(ConfigError, match=r"'runners'.*'train@\*' must be a non-empty list"):
        config.load(tmp_path)


def _stage(name: str, group: str, action: str, asked: list[str] | None = None) -> PlannedStage:
    return PlannedStage(name, "dvc.yaml", action, group, asked or ["ubuntu-latest"], asked)


def test_the_json_is_a_matrix_in_the_contracts_layout() -> None:
    gpu = ["self-hosted", "gpu"]
    up = Group("upstream", [_stage("prepare", "upstream", "restore")])
    branches = [
        Group(
            f"branch-{i}",
            [
                _stage(f"train@{i}", f"branch-{i}", "run" if i else "restore", gpu),
                _stage(f"evaluate@{i}", f"branch-{i}", "run" if i else "restore"),
            ],
        )
        for i in range(3)
    ]
    join = Group("join", [_stage("compare", "join", "run")])
    stages = [*up.stages, *(s for b in branches for s in b.stages), *join.stages]
    plan = Plan("abc", "store", stages, up, branches, join)
    document = json.loads(json.dumps(plan.to_json()))
    assert list(document) == [
        "revision",
        "remote",
        "stages",
        "upstream",
        "branches",
        "join",
        "fan-out",
    ]
    assert document["upstream"] == {
        "targets": ["prepare"],
        "runs-on": ["ubuntu-latest"],
        "action": "restore",
    }
    include = document["branches"]["include"]
    assert include[1] == {
        "name": "train@1",
        "targets": "train@1 evaluate@1",
        "runs-on": json.dumps(gpu),
        "action": "run",
    }
    assert [b["action"] for b in include] == ["restore", "run", "run"]
    assert json.loads(include[0]["runs-on"]) == gpu
    assert document["join"]["action"] == "run"
    assert document["fan-out"] is True
    assert document["stages"][1] == {
        "name": "train@0",
        "pipeline": "dvc.yaml",
        "action": "restore",
        "group": "branch-0",
        "runs-on": gpu,
    }
    # one branch with work is no fan-out
    branches[2].stages = [_stage("train@2", "branch-2", "unchanged", gpu)]
    assert plan.to_json()["fan-out"] is False
