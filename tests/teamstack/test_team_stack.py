"""The flows of a team, live: runners that share an S3 DVC remote and an MLflow server on
PostgreSQL (tests/teamstack/servers.py), each runner a clone driving the real `mlci` CLI.

The set-up is the one docs/runners.md gives a team: `dvc remote add -d team s3://dvc/PROJECT`,
`dvc remote modify team endpointurl URL`, committed; the S3 key in AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY and the server in MLFLOW_TRACKING_URI. The tests run in file order on
one worker: runner B and the release follow runner A, and the outages come last.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import BIN, ROOT, commit_all, copy_reference_project, git, set_param, sh
from tests.teamstack import servers
from tests.teamstack.servers import TeamStack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("teamstack")]

PROJECT = "digits"  # the DVC remote is s3://dvc/digits
FEEDBACK_BUCKET = "feedback"
EPOCHS = 8  # of the reference project's 20: a model all the same, in less time


def mlci(
    cwd: Path, *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlci"), *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def use_team_remote(repo: Path, project: str, s3_endpoint: str) -> None:
    """docs/runners.md, "Pointing mlci at them": the team's remote, committed."""
    dvc = str(BIN / "dvc")
    sh(dvc, "remote", "add", "-d", "team", f"s3://{servers.DVC_BUCKET}/{project}", cwd=repo)
    sh(dvc, "remote", "modify", "team", "endpointurl", s3_endpoint, cwd=repo)
    git(repo, "add", ".dvc/config")
    git(repo, "commit", "-q", "-m", "DVC remote: the team's S3")


def keys(stack_endpoint: str, bucket: str, prefix: str) -> set[str]:
    client = servers.s3_client(stack_endpoint)
    found: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.update(item["Key"] for item in page.get("Contents", []))
    return found


def out_hashes(repo: Path) -> dict[str, str]:
    """Every cached output of dvc.lock: path -> md5 (a folder's ends in .dir)."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {
        out["path"]: out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
    }


def files_under(repo: Path, paths: list[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for path in paths:
        target = repo / path
        items = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        found.update({p.relative_to(repo).as_posix(): p.read_bytes() for p in items})
    return found


def tracking_client(stack: TeamStack) -> Any:
    import mlflow

    return mlflow.MlflowClient(tracking_uri=stack.tracking_uri)


def runs_for(stack: TeamStack, experiment: str, sha: str) -> list[Any]:
    client = tracking_client(stack)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return list(
        client.search_runs(
            [found.experiment_id], f"tags.`mlflow.source.git.commit` = '{sha}'", max_results=50
        )
    )


@dataclass
class Team:
    origin: Path
    work: Path
    env: dict[str, str]
    sha: str  # the commit runners A and B run

    def clone(self, name: str) -> Path:
        path = self.work / name
        git(self.work, "clone", "-q", str(self.origin), str(path))
        return path


@pytest.fixture(scope="module")
def team(stack: TeamStack, tmp_path_factory: pytest.TempPathFactory) -> Team:
    """The reference project on a bare origin, set up for the team's remote and server."""
    work = tmp_path_factory.mktemp("team")
    seed = copy_reference_project(work / "seed")
    shutil.copytree(ROOT / "gx", seed / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    # no bento: building and serving one is test_release.py's; here the registry is what counts
    pyproject = (seed / "pyproject.toml").read_text()
    pyproject, count = re.subn(r'(?m)^service = ".*"$', 'service = ""', pyproject)
    assert count == 1
    (seed / "pyproject.toml").write_text(pyproject)
    set_param(seed, "train", "epochs", EPOCHS)
    git(seed, "init", "-q", "-b", "main")
    commit_all(seed, "reference project")
    use_team_remote(seed, PROJECT, stack.s3_endpoint)
    origin = work / "origin.git"
    git(work, "clone", "-q", "--bare", str(seed), str(origin))
    return Team(
        origin=origin,
        work=work,
        env=stack.client_env(),
        sha=git(seed, "rev-parse", "HEAD"),
    )


@pytest.fixture(scope="module")
def runner_a(team: Team) -> Path:
    repo = team.clone("runner-a")
    # the data source is generated, as data.dvc records it (tests/integration/test_reference_project.py)
    subprocess.run([sys.executable, "-m", "pipelines.digits.data"], cwd=repo, check=True)
    started = time.monotonic()
    ok(mlci(repo, "run", env=team.env))
    print(f"runner A: mlci run {time.monotonic() - started:.1f}s")
    return repo


def test_runner_a_pushes_to_s3_and_records_on_the_server(
    stack: TeamStack, team: Team, runner_a: Path
) -> None:
    record = json.loads((runner_a / ".mlci" / "run.json").read_text())
    assert {s["name"]: s["status"] for s in record["stages"]} == {
        "data": "unchanged",
        "prepare": "ran",
        "train": "ran",
        "evaluate": "ran",
    }
    assert record["remote"]["url"] == f"s3://dvc/{PROJECT}" and record["remote"]["pushed"] > 0

    # outputs, the data and the run-cache are in the bucket, where DVC 3 puts them
    objects = keys(stack.s3_endpoint, servers.DVC_BUCKET, f"{PROJECT}/")
    hashes = out_hashes(runner_a)
    data = yaml.safe_load((runner_a / "data.dvc").read_text())["outs"][0]["md5"]
    for md5 in [*hashes.values(), data]:
        assert f"{PROJECT}/files/md5/{md5[:2]}/{md5[2:]}" in objects, md5
    run_cache = {k for k in objects if k.startswith(f"{PROJECT}/runs/")}
    assert len(run_cache) >= 3  # one entry per stage that ran

    # the MLflow run, on the server, with its artifacts sent through it into s3://mlflow/
    (run,) = runs_for(stack, "digits", team.sha)
    assert run.info.run_id == record["mlflow"]["run_id"]
    assert run.info.status == "FINISHED"
    metrics = json.loads((runner_a / "metrics" / "metrics.json").read_text())
    assert run.data.metrics["accuracy"] == pytest.approx(metrics["accuracy"])
    assert run.data.params["train.epochs"] == str(EPOCHS)
    assert run.data.tags["mlci.stages_ran"] == "prepare,train,evaluate"
    artifacts = {a.path for a in tracking_client(stack).list_artifacts(run.info.run_id)}
    assert {"dvc.lock", "metrics", "plots"} <= artifacts
    stored = keys(stack.s3_endpoint, servers.MLFLOW_BUCKET, "")
    assert any(k.endswith(f"{run.info.run_id}/artifacts/dvc.lock") for k in stored), stored


def test_runner_b_restores_every_stage_and_records_no_second_run(
    stack: TeamStack, team: Team, runner_a: Path
) -> None:
    runner_b = team.clone("runner-b")  # shares only the remote: no data, no cache
    assert git(runner_b, "rev-parse", "HEAD") == team.sha
    stored = keys(stack.s3_endpoint, servers.DVC_BUCKET, PROJECT)
    started = time.monotonic()
    done = ok(mlci(runner_b, "run", env=team.env))
    print(f"runner B: mlci run {time.monotonic() - started:.1f}s")
    record = json.loads((runner_b / ".mlci" / "run.json").read_text())
    statuses = {s["name"]: s["status"] for s in record["stages"]}
    assert statuses == {
        "data": "unchanged",
        "prepare": "cached",
        "train": "cached",
        "evaluate": "cached",
    }, done.stdout
    hashes = out_hashes(runner_a)
    assert out_hashes(runner_b) == hashes
    outputs = [*hashes, "data"]
    assert files_under(runner_b, outputs) == files_under(runner_a, outputs)
    assert keys(stack.s3_endpoint, servers.DVC_BUCKET, PROJECT) == stored  # nothing new to push

    (run,) = runs_for(stack, "digits", team.sha)  # still A's, and only A's
    a_record = json.loads((runner_a / ".mlci" / "run.json").read_text())
    assert record["mlflow"]["run_id"] == a_record["mlflow"]["run_id"] == run.info.run_id
    assert "unchanged since the last run" in done.stdout


def test_release_registers_a_signed_version_and_moves_the_alias(
    stack: TeamStack, team: Team, runner_a: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from mlci import api

    monkeypatch.setenv("MLFLOW_TRACKING_URI", stack.tracking_uri)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # runner A commits what it ran; v0.0.1 registered and assigned to dev (docs/release.md)
    commit_all(runner_a, "trained")
    api.register(runner_a, "digits")
    stage_tag = api.promote(runner_a, "digits", "v0.0.1", "dev")
    git(runner_a, "push", "-q", "origin", "main", "--tags")
    # the release job: a fresh checkout whose model and sample come from the S3 remote; the
    # stage tag's release registers the version (once) and moves the alias to it
    release = team.clone("release")
    done = ok(mlci(release, "release", stage_tag, "--format", "json", env=team.env))
    result = json.loads(done.stdout)
    assert result["mlflow"]["version"] == "1" and not result["mlflow"]["reused"]
    assert result["alias"] == "digits@dev -> 1"
    assert result["bento"] is None  # [tool.mlci.release] service = "": no bento
    assert "Failed to infer the model signature" not in done.stdout + done.stderr

    client = mlflow.MlflowClient(tracking_uri=stack.tracking_uri)
    assert client.get_model_version_by_alias("digits", "dev").version == "1"
    version = client.get_model_version("digits", "1")
    assert version.tags["mlci.git_tag"] == "digits@v0.0.1"
    assert version.tags["mlci.commit"] == git(runner_a, "rev-parse", "HEAD")
    info = mlflow.models.get_model_info("models:/digits/1")
    assert info.signature is not None and info.signature.outputs is not None
    (inputs,) = info.signature.inputs.to_dict()
    assert inputs["type"] == "tensor" and list(inputs["tensor-spec"]["shape"]) == [-1, 64]
    assert inputs["tensor-spec"]["dtype"] == "float64"


def test_retrain_reads_feedback_from_s3(stack: TeamStack, team: Team, runner_a: Path) -> None:
    header, *rows = list(csv.reader(io.StringIO((runner_a / "data" / "digits.csv").read_text())))
    new_rows = []
    for row in rows[:3]:
        changed = [*row]
        changed[63] = "16" if row[63] != "16" else "15"  # a real digit, one pixel changed
        new_rows.append([*changed, changed[-1]])  # plus the service's `predicted`
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[*header, "predicted"], *new_rows])
    s3 = servers.s3_client(stack.s3_endpoint)
    s3.create_bucket(Bucket=FEEDBACK_BUCKET)
    s3.put_object(
        Bucket=FEEDBACK_BUCKET, Key="digits/feedback-20261203T120000Z-a1.csv", Body=out.getvalue()
    )
    s3.put_object(Bucket=FEEDBACK_BUCKET, Key="digits/notes.txt", Body=b"not feedback")

    # docs/retrain.md: the feedback store as an s3:// URL, the S3-compatible server's endpoint
    env = {
        **team.env,
        "MLCI_FEEDBACK_STORE": f"s3://{FEEDBACK_BUCKET}/digits/",
        "AWS_ENDPOINT_URL": stack.s3_endpoint,
    }
    retrainer = team.clone("retrain")
    done = ok(mlci(retrainer, "retrain", "--no-push", "--format", "json", env=env))
    result = json.loads(done.stdout)
    assert result["source"] == f"s3://{FEEDBACK_BUCKET}/digits/"
    assert [f["name"] for f in result["files"]] == [
        f"s3://{FEEDBACK_BUCKET}/digits/feedback-20261203T120000Z-a1.csv"
    ]
    assert result["rows_added"] == 3 and result["status"] == "committed"


# --- a service going away in the middle of a run ----------------------------------------

GATED_DVC_YAML = """\
stages:
  work:
    cmd: python work.py
    deps: [work.py, input.txt]
    outs: [out/result.txt]
    metrics:
      - metrics.json
"""

# the stage says it started, then waits until the test has taken a service away
GATED_WORK = """\
import json, os, pathlib, time
signals = pathlib.Path(os.environ["TEAMSTACK_SIGNALS"])
(signals / "started").touch()
deadline = time.monotonic() + 120
while not (signals / "proceed").exists():
    if time.monotonic() > deadline:
        raise SystemExit("no signal to proceed")
    time.sleep(0.1)
text = pathlib.Path("input.txt").read_text()
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/result.txt").write_text(text.upper())
json.dump({"length": len(text)}, open("metrics.json", "w"))
"""


def gated_project(path: Path, s3_endpoint: str, text: str) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", cwd=path)
    (path / "dvc.yaml").write_text(GATED_DVC_YAML)
    (path / "work.py").write_text(GATED_WORK)
    (path / "input.txt").write_text(text + "\n")
    (path / ".gitignore").write_text("/.mlci/\n")
    commit_all(path, "gated pipeline")
    use_team_remote(path, path.name, s3_endpoint)
    return path


def run_until_started(repo: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`mlci run` in the background, returned once its stage is running."""
    signals = repo.parent / f"{repo.name}-signals"
    signals.mkdir()
    process = subprocess.Popen(
        [str(BIN / "mlci"), "run"],
        cwd=repo,
        env={**os.environ, **env, "TEAMSTACK_SIGNALS": str(signals)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not (signals / "started").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"the stage never started (exit {process.returncode}):\n{out}\n{err}")
        time.sleep(0.2)
    return process


def proceed(repo: Path, process: subprocess.Popen[str]) -> tuple[int, str]:
    (repo.parent / f"{repo.name}-signals" / "proceed").touch()
    out, err = process.communicate(timeout=300)
    return process.returncode, out + err


def test_remote_going_away_mid_run_exits_3_and_leaves_nothing_to_trust(
    stack: TeamStack, tmp_path: Path
) -> None:
    s3 = servers.s3_server(stack.state)  # a remote of its own: stopping moto empties it
    s3.start()
    try:
        url = servers.endpoint(s3)
        servers.make_buckets(url, servers.DVC_BUCKET)
        repo = gated_project(tmp_path / "remote-outage", url, "remote")
        sha = git(repo, "rev-parse", "HEAD")
        env = stack.client_env()
        process = run_until_started(repo, env)
        s3.stop()
        code, output = proceed(repo, process)
        assert code == 3, output
        assert f"DVC remote 'team' (s3://dvc/remote-outage at {url})" in output
        assert "Traceback" not in output
        # nothing that a later run would take for done: no record, no MLflow run
        assert not (repo / ".mlci" / "run.json").exists()
        assert runs_for(stack, "remote-outage", sha) == []

        s3.start()  # back, and empty
        servers.make_buckets(url, servers.DVC_BUCKET)
        ok(mlci(repo, "run", env=env))
        record = json.loads((repo / ".mlci" / "run.json").read_text())
        assert [(s["name"], s["status"]) for s in record["stages"]] == [("work", "unchanged")]
        objects = keys(url, servers.DVC_BUCKET, "remote-outage/")
        md5 = out_hashes(repo)["out/result.txt"]
        assert f"remote-outage/files/md5/{md5[:2]}/{md5[2:]}" in objects
        assert any(k.startswith("remote-outage/runs/") for k in objects)
        assert len(runs_for(stack, "remote-outage", sha)) == 1
    finally:
        s3.stop()


def test_tracking_server_going_away_mid_run_exits_3_and_a_half_run_is_not_trusted(
    stack: TeamStack, tmp_path: Path
) -> None:
    repo = gated_project(tmp_path / "tracking-outage", stack.s3_endpoint, "tracking")
    sha = git(repo, "rev-parse", "HEAD")
    go = tmp_path / "go"
    go.mkdir()
    (go / "proceed").touch()
    env = {**stack.client_env(), "TEAMSTACK_SIGNALS": str(go)}

    # a run whose recorder died half way never finished: the next runner does not reuse it
    ok(mlci(repo, "run", env=env))
    (recorded,) = runs_for(stack, "tracking-outage", sha)
    tracking_client(stack).update_run(recorded.info.run_id, status="RUNNING")
    ok(mlci(repo, "run", env=env))
    again = json.loads((repo / ".mlci" / "run.json").read_text())
    assert [s["status"] for s in again["stages"]] == ["unchanged"]
    assert again["mlflow"]["run_id"] != recorded.info.run_id
    assert len(runs_for(stack, "tracking-outage", sha)) == 2

    # the server goes away while a stage runs (the fixture in conftest.py starts it again)
    (repo / "input.txt").write_text("tracking, changed\n")
    changed = commit_all(repo, "new input")
    process = run_until_started(repo, stack.client_env())
    stack.mlflow.stop()
    code, output = proceed(repo, process)
    assert code == 3, output
    assert f"MLflow tracking server {stack.tracking_uri} is unreachable" in output
    assert "Traceback" not in output
    # no record of the failed run; its outputs were pushed before tracking, whole
    assert json.loads((repo / ".mlci" / "run.json").read_text())["git"]["sha"] == sha != changed
    md5 = out_hashes(repo)["out/result.txt"]
    objects = keys(stack.s3_endpoint, servers.DVC_BUCKET, "tracking-outage/")
    assert f"tracking-outage/files/md5/{md5[:2]}/{md5[2:]}" in objects
