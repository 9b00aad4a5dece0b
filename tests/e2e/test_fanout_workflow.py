"""A pull request's pipeline fanned out across runners, run for real by `act` (issue #13).

tests/e2e/fanout_project.py's pipeline (a shared `prepare`, then four ~20 s train -> evaluate
branches) through mlci-pr.yml with `fan-out: 4`: a plan job, the upstream job, four branch
jobs at once, the join. The DVC remote is a live S3 server (moto), MLflow a live server.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit_all, git, mlflow_server
from tests.e2e.act import Act
from tests.e2e.fanout_project import ITEMS, dvc_push, make_project, serial_run
from tests.github_standin import ACTIONS_BOT, GitHubStandin, make_event
from tests.github_standin import github as github_fixture  # noqa: F401 - registers `github`
from tests.teamstack import servers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = "octo-org/mlci-demo"
PR_TOKEN = "pull-request-token"
WRITE_TOKEN = "workflow-run-token"
S3_SECRETS = {"AWS_ACCESS_KEY_ID": servers.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": servers.SECRET_KEY}
# act runs as many jobs at once as the machine has CPUs, unless told: fan-out asks for 4
CONCURRENT = ["--concurrent-jobs", "8"]


def mlflow_runs(uri: str, sha: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(experiments, f"tags.`mlflow.source.git.commit` = '{sha}'"))


def test_pull_request_fanned_out_over_four_runners(
    tmp_path: Path, github: GitHubStandin, s3: str
) -> None:
    repo = tmp_path / "repo"
    main_sha = make_project(repo, s3_endpoint=s3, prefix="fanout-pr")
    # main's outputs on the remote, as its own workflow leaves them: the runners' caches
    # start empty, so the report reads the base's DVC-cached metrics from there
    dvc_push(repo)
    shutil.rmtree(repo / ".dvc" / "cache")  # act copies the folder: no runner has main's cache
    github.add_repo(REPO, head_sha=main_sha)
    github.add_user(PR_TOKEN, ACTIONS_BOT, type="Bot", read_only=True)
    github.add_user(WRITE_TOKEN, ACTIONS_BOT, type="Bot")
    # a change to the shared stage: prepare runs, then every branch
    git(repo, "checkout", "-q", "-b", "rescale")
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("scale: 1", "scale: 3"))
    head = commit_all(repo, "rescale the prepared data")
    github.add_pull(REPO, 5, head_sha=head, base_sha=main_sha, head_ref="rescale")
    event = make_event(
        "pull_request",
        "opened",
        repo=REPO,
        number=5,
        head_sha=head,
        base_sha=main_sha,
        head_ref="rescale",
        api_url=github.url,
    )

    with mlflow_server(tmp_path / "mlflow") as tracking_uri:
        act = Act(tmp_path / "act", github.url, max_parallel=4)
        result = act.run(
            repo,
            "pull_request",
            event,
            workflow="pr.yml",
            token=PR_TOKEN,
            variables={"FAN_OUT": "4", "TRACKING_URI": tracking_uri},
            secrets=S3_SECRETS,
            args=CONCURRENT,
            timeout=800,
        ).check()
        print(f"fanned-out pull request run: {result.seconds:.0f}s")
        # the join checked the five records only: its `mlci run --restore-only` did the rest
        assert "5 jobs finished; the join restores their stages" in result.output
        runs = mlflow_runs(tracking_uri, head)
        # one MLflow run for the whole pipeline: the join's, with the pipeline's dvc.lock
        assert len(runs) == 1, [r.data.tags for r in runs]
        from mlflow.tracking import MlflowClient

        lock = MlflowClient(tracking_uri).download_artifacts(
            runs[0].info.run_id, "dvc.lock", str(tmp_path / "tracked")
        )
        fanned_lock = Path(lock).read_text()

    report = json.loads((act.artifact("mlci-report") / "report.json").read_text())
    # every metric compared with main's, fetched from the remote (`--pull` after the run)
    scores = {m["file"]: m for m in report["metrics"]}
    assert sorted(scores) == [f"metrics/{i}.json" for i in ITEMS]
    for metric in scores.values():
        assert metric["unread"] is None and metric["base"] < metric["head"], metric
    # the join ran no stage: each came from the run-cache the upstream and branch jobs pushed
    stages = {s["name"]: s["run"] for s in report["stages"]}
    assert set(stages) == {"prepare", *(f"{k}@{i}" for k in ("train", "evaluate") for i in ITEMS)}
    assert set(stages.values()) == {"cached"}, stages
    # each branch ran its own stages, on the runner its labels asked for
    jobs = {b["name"]: b for b in report["branches"]}
    assert len(jobs) == 1 + len(ITEMS), sorted(jobs)
    assert [s["name"] for s in jobs["upstream"]["stages"] if s["status"] == "ran"] == ["prepare"]
    ran_in_branches = sorted(
        s["name"]
        for name, job in jobs.items()
        if name != "upstream"
        for s in job["stages"]
        if s["status"] == "ran"
    )
    assert ran_in_branches == sorted(f"{k}@{i}" for k in ("train", "evaluate") for i in ITEMS)
    for name, job in jobs.items():
        assert job["status"] == "ok" and job["runner"]["cpu_count"] >= 1, name
        labels = ["ubuntu-latest"] if name == "upstream" else ["self-hosted", "gpu"]
        assert job["runs_on"] == labels, name
    # the four branches ran at the same time: each started before any other finished
    branches = [job for name, job in jobs.items() if name != "upstream"]
    assert max(b["started_at"] for b in branches) < min(b["finished_at"] for b in branches)

    # the comment job posts the report, the branches in its pipeline section
    comment_event = make_event(
        "workflow_run",
        "completed",
        repo=REPO,
        number=5,
        head_sha=head,
        base_sha=main_sha,
        head_ref="rescale",
        workflow="pr",
        api_url=github.url,
    )
    act.run(
        repo, "workflow_run", comment_event, workflow="pr-comment.yml", token=WRITE_TOKEN
    ).check()
    [comment] = github.comments(REPO, 5)
    assert "| upstream | prepare | ubuntu-latest |" in comment["body"]
    assert "0 stages ran, 9 from run-cache" in comment["body"]
    assert github.violations == []

    # the same commit run serially, in one process: the same dvc.lock
    serial = tmp_path / "serial"
    git(tmp_path, "clone", "-q", str(repo), str(serial))
    serial_run(serial)
    assert fanned_lock == (serial / "dvc.lock").read_text()


def test_a_failed_branch_is_named_the_join_runs_nothing_and_a_rerun_completes(
    tmp_path: Path, github: GitHubStandin, s3: str
) -> None:
    repo = tmp_path / "repo"
    main_sha = make_project(repo, s3_endpoint=s3, prefix="fanout-failed")
    github.add_repo(REPO, head_sha=main_sha)
    github.add_user(PR_TOKEN, ACTIONS_BOT, type="Bot", read_only=True)
    git(repo, "checkout", "-q", "-b", "flaky")
    # train@b fails while the marker file exists: a GPU that went away, not the code
    marker = tmp_path / "fail-"
    (tmp_path / "fail-b").write_text("")
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("fail: ''", f"fail: '{marker}'"))
    head = commit_all(repo, "train with a marker")
    github.add_pull(REPO, 6, head_sha=head, base_sha=main_sha, head_ref="flaky")
    event = make_event(
        "pull_request", "opened", repo=REPO, number=6, head_sha=head, base_sha=main_sha,
        head_ref="flaky", api_url=github.url,
    )  # fmt: skip
    act = Act(tmp_path / "act", github.url, max_parallel=4)

    def run() -> tuple[int, dict[str, Any]]:
        result = act.run(
            repo, "pull_request", event, workflow="pr.yml", token=PR_TOKEN,
            variables={"FAN_OUT": "4", "TRACKING_URI": ""}, secrets=S3_SECRETS,
            args=CONCURRENT, timeout=800,
        )  # fmt: skip
        report = json.loads((act.artifact("mlci-report") / "report.json").read_text())
        return result.returncode, report

    code, report = run()
    assert code != 0
    jobs = {b["name"]: b for b in report["branches"]}
    assert {n: j["status"] for n, j in jobs.items()} == {
        "upstream": "ok", "train@a": "ok", "train@b": "failed", "train@c": "ok", "train@d": "ok"
    }  # fmt: skip
    assert "training b ran out of GPU memory" in jobs["train@b"]["log_tail"]
    # the join did not pretend: it ran no stage, not even the failed branch's
    assert all(s["run"] is None for s in report["stages"]), report["stages"]

    # the GPU is back: the run again restores the branches that finished and runs train@b
    (tmp_path / "fail-b").unlink()
    code, report = run()
    assert code == 0
    stages = {s["name"]: s["run"] for s in report["stages"]}
    assert stages.pop("train@b") == "ran" and stages.pop("evaluate@b") == "ran"
    # what finished the first time is not run again: restored from the run-cache, or its
    # outputs pulled as pushed by the first run's jobs (then DVC finds it unchanged)
    assert stages.pop("prepare") == "unchanged"
    assert stages and set(stages.values()) <= {"cached", "unchanged"}, stages
    assert "cached" in stages.values(), stages
