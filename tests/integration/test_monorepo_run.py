"""`mlci run` on a monorepo: pipelines in sub-folders, each with its dvc.yaml, params and metrics.

DVC is the oracle: `dvc repro a/dvc.yaml` runs that pipeline alone, `dvc status` says what
is up to date, `dvc metrics show` and `dvc params diff --all` give the values mlci records,
and `dvc repro` without targets refuses when the root has no dvc.yaml. Real git, real DVC
(its CLI in this process), a real MLflow sqlite store; mlci's own CLI runs as a child process
where what a person sees is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mlci import api, reproduce, workspace
from mlci.errors import UsageError
from tests.conformance.dvc_cli import run_dvc
from tests.conftest import BIN, ROOT, commit_all, git, sh

pytestmark = pytest.mark.slow

ONE_STAGE = "stages:\n  s:\n    cmd: echo 1 > out.txt\n    outs: [out.txt]\n"

# a: its own params.yaml (the default params file of a stage in a/), metrics, a model artifact
A_PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.lr]
    outs: [model.txt]
    metrics:
    - metrics.json:
        cache: false
artifacts:
  model:
    path: model.txt
    type: model
"""

A_TRAIN = """\
import json, yaml
p = yaml.safe_load(open("params.yaml"))
json.dump({"acc": p["train"]["lr"] * 10, "nested": {"n": 3}}, open("metrics.json", "w"))
open("model.txt", "w").write("model")
"""

# b: templated (vars from a file of its own, foreach), params of another file, metrics by stage
B_PIPELINE = """\
vars:
  - cfg.yaml
stages:
  score:
    foreach: ${sizes}
    do:
      cmd: python score.py ${item} ${scale}
      deps: [score.py]
      params:
      - cfg.yaml:
        - scale
      metrics:
      - scores/${item}.json:
          cache: false
"""

B_SCORE = """\
import json, pathlib, sys
size, scale = int(sys.argv[1]), float(sys.argv[2])
pathlib.Path("scores").mkdir(exist_ok=True)
json.dump({"size": size, "score": size * scale}, open(f"scores/{size}.json", "w"))
"""


def _repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    files = {".gitignore": "/.mlci/\n", **files}
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    commit_all(path, "pipelines")
    return path


def _mlci(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """mlci as a person runs it, in the repository, in a default terminal."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "mlci", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _dvc_json(repo: Path, *args: str) -> Any:
    done = run_dvc(repo, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_sub_folder_target_runs_that_pipeline_as_dvc_repro_does(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "mono", {"a/dvc.yaml": ONE_STAGE, "b/dvc.yaml": ONE_STAGE})

    done = _mlci(repo, "run", "--no-tracking", "a/dvc.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ a/dvc.yaml:s" in done.stderr and "ran" in done.stderr
    assert "b/dvc.yaml" not in done.stderr
    assert "pipeline  1 ran, 0 from run-cache, 0 unchanged" in done.stdout
    assert "Traceback" not in done.stderr

    status = run_dvc(repo, "status", "a/dvc.yaml")
    assert status.returncode == 0 and "Data and pipelines are up to date." in status.stdout
    # b untouched, as `dvc repro a/dvc.yaml` leaves it: never run, still to run for DVC
    assert not (repo / "b" / "out.txt").exists() and not (repo / "b" / "dvc.lock").exists()
    assert "Data and pipelines are up to date." not in run_dvc(repo, "status", "b/dvc.yaml").stdout
    record = json.loads((repo / ".mlci" / "run.json").read_text())
    assert [s["name"] for s in record["stages"]] == ["a/dvc.yaml:s"]
    assert record["lock_digest"]  # a/dvc.lock is the pipeline state: there is no root one

    # a stage of a sub-folder pipeline, as DVC names it
    forced = api.run(repo, targets=("a/dvc.yaml:s",), force=True, tracking_enabled=False)
    assert [(s.name, s.status) for s in forced.record.stages] == [("a/dvc.yaml:s", "ran")]
    assert not (repo / "b" / "dvc.lock").exists()
    # an output is no target for `dvc repro` (it looks for a stage `a/out.txt` in ./dvc.yaml)
    assert run_dvc(repo, "repro", "a/out.txt").returncode != 0
    with pytest.raises(
        UsageError, match=r"unknown target 'a/out\.txt': 'dvc\.yaml' does not exist"
    ) as info:
        api.run(repo, targets=("a/out.txt",), tracking_enabled=False)
    assert info.value.exit_code == 2


def test_without_targets_and_no_root_dvc_yaml_exits_2_naming_the_pipelines(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path / "mono", {"a/dvc.yaml": ONE_STAGE, "b/dvc.yaml": ONE_STAGE})
    assert run_dvc(repo, "repro").returncode != 0  # DVC refuses too: no ./dvc.yaml

    done = _mlci(repo, "run")
    assert done.returncode == 2, done.stdout + done.stderr
    # one error and its hint (wrapped at the terminal's width: the path is long)
    assert " ".join(done.stderr.split()) == (
        f"error: no dvc.yaml in {repo} to run without targets: "
        "the pipelines are in a/dvc.yaml, b/dvc.yaml "
        "hint: name the pipelines to run: mlci run a/dvc.yaml b/dvc.yaml"
    )
    assert not (repo / "a" / "dvc.lock").exists() and not (repo / ".mlci" / "run.json").exists()

    plan = _mlci(repo, "plan")
    assert plan.returncode == 2 and "mlci plan a/dvc.yaml b/dvc.yaml" in plan.stderr
    planned = _mlci(repo, "plan", "a/dvc.yaml", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    assert "a/dvc.yaml:s" in planned.stdout and "b/dvc.yaml:s" not in planned.stdout

    # a broken dvc.yaml anywhere stops DVC, whatever the targets: mlci names it and its line
    (repo / "b" / "dvc.yaml").write_text("stages:\n  s:\n    cmd: [x\n")
    assert run_dvc(repo, "repro", "a/dvc.yaml").returncode != 0
    with pytest.raises(UsageError, match=r"^b/dvc\.yaml:4: malformed YAML") as info:
        api.run(repo, targets=("a/dvc.yaml",), tracking_enabled=False)
    assert info.value.exit_code == 2 and not (repo / "a" / "dvc.lock").exists()


def test_params_metrics_and_the_mlflow_run_cover_every_pipeline(tmp_path: Path) -> None:
    import mlflow

    repo = _repo(
        tmp_path / "mono",
        {
            "a/dvc.yaml": A_PIPELINE,
            "a/train.py": A_TRAIN,
            "a/params.yaml": "train:\n  lr: 0.05\n  epochs: 4\n",
            "b/dvc.yaml": B_PIPELINE,
            "b/score.py": B_SCORE,
            "b/cfg.yaml": "sizes: [1, 2]\nscale: 3\n",
            "params.yaml": "seed: 7\n",
        },
    )
    project = workspace.load_project(repo)
    listed = run_dvc(repo, "stage", "list", "--all", "--name-only")
    assert sorted(project.stages) == sorted(listed.stdout.split())
    params = reproduce.read_params(project)
    shown = _dvc_json(repo, "params", "diff", "--all")  # every param DVC knows, against HEAD
    assert params == {
        (key if file == "params.yaml" else f"{file}:{key}"): values["new"]
        for file, by_key in shown.items()
        for key, values in by_key.items()
    }
    assert params["a/params.yaml:train.lr"] == 0.05 and params["b/cfg.yaml:scale"] == 3

    result = api.run(repo, targets=("a/dvc.yaml", "b/dvc.yaml"), pull=False, push=False)
    record = json.loads((repo / ".mlci" / "run.json").read_text())
    shown = _dvc_json(repo, "metrics", "show")[""]["data"]
    expected = {
        f"{file}:{key}": value
        for file, metrics in shown.items()
        for key, value in _flat(metrics["data"]).items()
    }
    assert len(expected) == 6  # a/metrics.json and b's two score files
    assert record["metrics"] == expected
    assert {s["name"] for s in record["stages"]} == {
        "a/dvc.yaml:train",
        "b/dvc.yaml:score@1",
        "b/dvc.yaml:score@2",
    }

    assert result.record.mlflow is not None
    client = mlflow.MlflowClient(tracking_uri=result.record.mlflow["tracking_uri"])
    run = client.get_run(result.record.mlflow["run_id"])
    assert run.data.metrics == {k: float(v) for k, v in expected.items()}
    assert run.data.params == {k: str(v) for k, v in params.items()}
    kept = {
        f.path
        for folder in ("", "a", "b", "metrics/a", "metrics/b/scores")
        for f in client.list_artifacts(run.info.run_id, folder or None)
    }
    assert {"a/dvc.lock", "b/dvc.lock", "metrics/a/metrics.json"} <= kept

    # the pipeline state is every dvc.lock: a change in b's alone is a new state
    digest = record["lock_digest"]
    (repo / "b" / "cfg.yaml").write_text("sizes: [1, 2]\nscale: 4\n")
    again = api.run(repo, targets=("b/dvc.yaml",), pull=False, push=False, tracking_enabled=False)
    assert again.record.lock_digest and again.record.lock_digest != digest
    assert not any(s.name.startswith("a/") for s in again.record.stages)


def test_model_artifact_of_a_sub_folder_pipeline_is_where_dvc_finds_it(tmp_path: Path) -> None:
    from dvc.repo import Repo

    repo = _repo(
        tmp_path / "mono", {"a/dvc.yaml": A_PIPELINE, "a/params.yaml": "train:\n  lr: 1\n"}
    )
    artifacts = workspace.load_project(repo).artifacts
    assert list(artifacts) == ["a:model"]  # as GTO's tags (and mlci's registry) name it
    with Repo(str(repo)) as dvc_repo:
        for name in ("a:model", "a/dvc.yaml:model"):  # DVC takes both
            assert (
                Path(dvc_repo.artifacts.get_path(name)).as_posix() == artifacts["a:model"]["path"]
            )
