"""One reading of the DVC project serves the report, the MLflow run and the gates.

Real git, real DVC, a real MLflow sqlite store; mlci's CLI runs as a child process
where its exit code and its one line of error are what is tested.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from mlci import api
from tests.conftest import BIN, ROOT, commit_all, free_port, git, sh

DVCLIVE_PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.lr]
    outs: [model.txt]
    metrics:
    - dvclive/metrics.json
    plots:
    - dvclive/plots/metrics:
        x: step
  evaluate:
    cmd: python evaluate.py
    deps: [evaluate.py, model.txt]
    params:
    - custom.yaml:
    metrics:
    - eval/metrics.json:
        cache: false
"""

TRAIN = """\
import json, pathlib, yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
pathlib.Path("model.txt").write_text(f"lr={lr}")
# what DVCLive writes: a summary with nested keys, and one TSV per logged series
pathlib.Path("dvclive/plots/metrics/train").mkdir(parents=True, exist_ok=True)
summary = {"step": 2, "train": {"loss": 0.25, "acc": 0.9}, "epoch_time": 1.5}
pathlib.Path("dvclive/metrics.json").write_text(json.dumps(summary))
pathlib.Path("dvclive/plots/metrics/train/loss.tsv").write_text("step\\tloss\\n0\\t0.5\\n1\\t0.25\\n")
"""

EVALUATE = """\
import json, pathlib
pathlib.Path("eval").mkdir(exist_ok=True)
pathlib.Path("eval/metrics.json").write_text(json.dumps({"acc": 0.8, "auc": 0.85}))
"""


def _dvclive_project(path: Path, pyproject: str = "") -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    files = {
        "dvc.yaml": DVCLIVE_PIPELINE,
        "train.py": TRAIN,
        "evaluate.py": EVALUATE,
        # all of params.yaml, as `dvc params diff` shows it, not only the keys a stage lists
        "params.yaml": "train:\n  lr: 0.01\n  epochs: 3\nseed: 7\n",
        "custom.yaml": "threshold: 0.5\n",
        ".gitignore": "/.mlci/\n",
        "pyproject.toml": pyproject,
    }
    for name, text in files.items():
        (path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    commit_all(path, "pipeline")
    return path


def _mlci(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "mlci", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_the_mlflow_run_carries_every_metric_and_param_dvc_knows(tmp_path: Path) -> None:
    import mlflow

    repo = _dvclive_project(tmp_path / "live")
    result = api.run(repo, pull=False, push=False)
    assert result.record.mlflow is not None
    run = mlflow.MlflowClient(tracking_uri=result.record.mlflow["tracking_uri"]).get_run(
        result.record.mlflow["run_id"]
    )
    assert run.data.metrics == {
        "dvclive/metrics.json:step": 2.0,
        "dvclive/metrics.json:train.loss": 0.25,
        "dvclive/metrics.json:train.acc": 0.9,
        "dvclive/metrics.json:epoch_time": 1.5,
        "eval/metrics.json:acc": 0.8,
        "eval/metrics.json:auc": 0.85,
    }
    params = run.data.params
    assert params["train.lr"] == "0.01"
    assert params["custom.yaml:threshold"] == "0.5"


GATES = """\
[tool.mlci.gates."eval/metrics.json:acc"]
min = 0.75
"""


def test_a_gate_names_file_and_metric_and_a_plain_ambiguous_name_is_refused(
    tmp_path: Path,
) -> None:
    repo = _dvclive_project(tmp_path / "gated", pyproject=GATES)
    api.run(repo, tracking_enabled=False, pull=False, push=False)
    commit_all(repo, "ran")

    done = _mlci(repo, "validate", "model", "--base", "HEAD", "--no-checks")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "eval/metrics.json:acc" in done.stdout

    # `acc` is in eval/metrics.json and in DVCLive's summary (train.acc is another name)
    (repo / "pyproject.toml").write_text(GATES + "\n[tool.mlci.gates.acc]\nmin = 0.95\n")
    done = _mlci(repo, "validate", "model", "--base", "HEAD", "--no-checks")
    assert done.returncode == 1, done.stdout + done.stderr

    (repo / "eval" / "other.json").write_text(json.dumps({"acc": 0.7}))
    pipeline = (repo / "dvc.yaml").read_text() + "metrics:\n- eval/other.json\n"
    (repo / "dvc.yaml").write_text(pipeline)
    done = _mlci(repo, "validate", "model", "--base", "HEAD", "--no-checks")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "gate 'acc' is ambiguous" in done.stderr
    assert "eval/metrics.json" in done.stderr and "eval/other.json" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_metrics_are_named_and_pull_from_an_unreachable_remote_exits_3(
    tmp_path: Path,
) -> None:
    repo = _dvclive_project(tmp_path / "missing")
    api.run(repo, tracking_enabled=False, pull=False, push=False)
    commit_all(repo, "ran")
    # a fresh clone's situation: DVC-cached metrics in neither the workspace nor the cache
    shutil.rmtree(repo / ".dvc" / "cache")
    (repo / "dvclive" / "metrics.json").unlink()
    sha = git(repo, "rev-parse", "HEAD")[:8]

    done = _mlci(repo, "report", "--base", "HEAD", "--head", "HEAD", "--format", "json")
    assert done.returncode == 0, done.stderr
    notes = json.loads(done.stdout)["notes"]
    missing = [n for n in notes if n.startswith("dvclive/metrics.json at ")]
    assert missing and all(sha in n and "mlci report --pull" in n for n in missing), notes

    done = _mlci(repo, "report", "--base", "HEAD", "--head", "HEAD", "--format", "markdown")
    assert "dvclive/metrics.json at" in done.stdout and "No metrics declared" not in done.stdout

    # a folder nothing was pushed to yet (DVC makes it on the first push): nothing to fetch
    sh(str(BIN / "dvc"), "remote", "add", "-d", "store", str(tmp_path / "nowhere"), cwd=repo)
    done = _mlci(repo, "report", "--base", "HEAD", "--head", "HEAD", "--pull")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"in neither the local DVC cache nor DVC remote 'store' ({tmp_path / 'nowhere'})" in (
        done.stderr
    )

    # a remote that does not answer: exit 3, named
    sh(str(BIN / "dvc"), "remote", "add", "-f", "-d", "store", "s3://bucket/x", cwd=repo)
    sh(str(BIN / "dvc"), "remote", "modify", "store", "endpointurl",
       f"http://127.0.0.1:{free_port()}", cwd=repo)  # fmt: skip
    done = _mlci(repo, "report", "--base", "HEAD", "--head", "HEAD", "--pull")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "DVC remote 'store'" in done.stderr and "unreachable" in done.stderr
    assert "127.0.0.1" in done.stderr and "Traceback" not in done.stderr
