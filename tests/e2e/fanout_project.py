"""A pipeline to fan out (issue #13): a shared `prepare`, then a 4-item `foreach` train ->
evaluate whose items each take about 20 s of wall time (a sleep standing in for GPU time).

Used by tests/e2e/test_fanout_workflow.py and benchmarks/fanout.py. The repository calls
mlci's reusable workflows like a user's; its DVC remote is an S3 bucket (committed, with the
endpoint of the S3 server under test), the credentials come as the callers' secrets. The
sleep is read from SLEEP_S (default 20), outside DVC's view: a run with SLEEP_S=0 makes the
same dvc.lock in no time.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

from tests.conftest import BIN, commit_all, git, sh
from tests.e2e.test_workflows import CALLERS
from tests.teamstack.servers import ACCESS_KEY, SECRET_KEY

ITEMS = ("a", "b", "c", "d")
SLEEP_S = 20

DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py]
    params: [prepare]
    outs: [data/prepared.txt]
  train:
    foreach: [a, b, c, d]
    do:
      cmd: python train.py ${item}
      deps: [train.py, data/prepared.txt]
      params: [train]
      outs:
        - models/${item}.txt
  evaluate:
    foreach: [a, b, c, d]
    do:
      cmd: python evaluate.py ${item}
      deps:
        - evaluate.py
        - models/${item}.txt
      # cached: DVC pushes no object of a `cache: false` output with the run-cache, so
      # another runner would have to run the stage again (docs/actions.md)
      metrics:
        - metrics/${item}.json
"""

FILES = {
    "prepare.py": """\
        import pathlib, yaml
        p = yaml.safe_load(open("params.yaml"))["prepare"]
        pathlib.Path("data").mkdir(exist_ok=True)
        pathlib.Path("data/prepared.txt").write_text(" ".join(str(i * p["scale"]) for i in range(1, 9)))
        """,
    "train.py": """\
        import os, pathlib, sys, time, yaml
        item = sys.argv[1]
        p = yaml.safe_load(open("params.yaml"))["train"]
        if p["fail"] and os.path.exists(p["fail"] + item):  # a test's marker file: a flaky GPU
            sys.exit(f"training {item} ran out of GPU memory")
        time.sleep(float(os.environ.get("SLEEP_S", "20")))  # the GPU's work
        numbers = [float(x) for x in open("data/prepared.txt").read().split()]
        weight = sum(numbers) * p["rate"] * (ord(item) - ord("a") + 1)
        pathlib.Path("models").mkdir(exist_ok=True)
        pathlib.Path(f"models/{item}.txt").write_text(f"{weight:.6f}\\n")
        """,
    "evaluate.py": """\
        import json, pathlib, sys
        item = sys.argv[1]
        weight = float(open(f"models/{item}.txt").read())
        pathlib.Path("metrics").mkdir(exist_ok=True)
        json.dump({"score": round(weight / (weight + 100), 6)}, open(f"metrics/{item}.json", "w"))
        """,
    "params.yaml": """\
        prepare:
          scale: 1
        train:
          rate: 0.5
          fail: ''
        """,
    "pyproject.toml": """\
        [tool.mlci.runners]
        "train@*" = ["self-hosted", "gpu"]
        "evaluate@*" = ["self-hosted", "gpu"]
        default = ["ubuntu-latest"]
        """,
    ".gitignore": "/.mlci/\n",
}

SECRETS = """\
    secrets:
      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
"""

# the callers: mlci-dev/mlci's reusable workflows, `fan-out` from a repository variable
PR_CALLER = (
    """\
name: pr
on:
  pull_request:
permissions: {}
jobs:
  mlci:
    permissions:
      contents: read
    uses: mlci-dev/mlci/.github/workflows/mlci-pr.yml@main
    with:
      mlci-version: installed
      fan-out: ${{ fromJSON(vars.FAN_OUT) }}
      tracking-uri: ${{ vars.TRACKING_URI }}
      validate-model: false
"""
    + SECRETS
)

MAIN_CALLER = (
    """\
name: main
on:
  push:
    branches: [main]
permissions: {}
jobs:
  mlci:
    permissions:
      contents: write
    uses: mlci-dev/mlci/.github/workflows/mlci-main.yml@main
    with:
      mlci-version: installed
      fan-out: ${{ fromJSON(vars.FAN_OUT) }}
      tracking-uri: ${{ vars.TRACKING_URI }}
      release: false
"""
    + SECRETS
)

# the comment workflow is the plain flow's own
COMMENT_CALLER = textwrap.dedent(CALLERS["pr-comment.yml"])


def make_project(path: Path, *, s3_endpoint: str, prefix: str) -> str:
    """The project, committed on main with the dvc.lock of a quick local run; its sha."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    (path / "dvc.yaml").write_text(DVC_YAML)
    for name, text in FILES.items():
        (path / name).write_text(textwrap.dedent(text))
    workflows = path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "pr.yml").write_text(PR_CALLER)
    (workflows / "main.yml").write_text(MAIN_CALLER)
    (workflows / "pr-comment.yml").write_text(COMMENT_CALLER)
    dvc = str(BIN / "dvc")
    sh(dvc, "remote", "add", "-d", "team", f"s3://dvc/{prefix}", cwd=path)
    sh(dvc, "remote", "modify", "team", "endpointurl", s3_endpoint, cwd=path)
    serial_run(path)
    git(path, "remote", "add", "origin", "https://github.com/octo-org/mlci-demo.git")
    return commit_all(path, "a pipeline to fan out")


def dvc_push(repo: Path) -> None:
    """`dvc push` of the checked-out revision's outputs to the project's S3 remote, as the
    main workflow leaves them (the server's credentials, as the workflows get them)."""
    done = subprocess.run(
        [str(BIN / "dvc"), "push", "-q"],
        cwd=repo,
        env={**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def serial_run(repo: Path) -> None:
    """Every stage in one process, here, without the sleep and without the remote."""
    done = subprocess.run(
        [str(BIN / "mlci"), "run", "--no-pull", "--no-push", "--no-tracking"],
        cwd=repo,
        env={**os.environ, "SLEEP_S": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
