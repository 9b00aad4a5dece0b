"""The pull-request report compares with the base's DVC-cached metrics, run for real by `act`.

DVCLive and most DVC projects keep metrics as cached outputs: a fresh runner has the head's
(its `mlci run` fetched them) but not the base's, which are only on the remote. The pipeline
job's report step fetches them (`--pull`) once the run has reached that remote.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import commit_all, git
from tests.e2e.act import Act
from tests.e2e.fanout_project import ITEMS, dvc_push, make_project, serial_run
from tests.e2e.test_fanout_workflow import PR_TOKEN, REPO, S3_SECRETS
from tests.github_standin import ACTIONS_BOT, GitHubStandin, make_event
from tests.github_standin import github as github_fixture  # noqa: F401 - registers `github`

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_the_report_reads_the_base_metrics_from_the_remote(
    tmp_path: Path, github: GitHubStandin, s3: str
) -> None:
    repo = tmp_path / "repo"
    main_sha = make_project(repo, s3_endpoint=s3, prefix="report-base")
    dvc_push(repo)  # main's outputs, as its own workflow leaves them
    # the usual DVC flow: the author reproduced the change, committed dvc.lock and pushed
    git(repo, "checkout", "-q", "-b", "rescale")
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("scale: 1", "scale: 3"))
    serial_run(repo)
    head = commit_all(repo, "rescale, reproduced")
    dvc_push(repo)
    shutil.rmtree(repo / ".dvc" / "cache")  # act copies the folder: a runner's cache is empty
    github.add_repo(REPO, head_sha=main_sha)
    github.add_user(PR_TOKEN, ACTIONS_BOT, type="Bot", read_only=True)
    github.add_pull(REPO, 7, head_sha=head, base_sha=main_sha, head_ref="rescale")
    event = make_event(
        "pull_request", "opened", repo=REPO, number=7, head_sha=head, base_sha=main_sha,
        head_ref="rescale", api_url=github.url,
    )  # fmt: skip
    act = Act(tmp_path / "act", github.url)
    act.run(
        repo, "pull_request", event, workflow="pr.yml", token=PR_TOKEN,
        variables={"FAN_OUT": "0", "TRACKING_URI": ""}, secrets=S3_SECRETS,
    ).check()  # fmt: skip

    report = json.loads((act.artifact("mlci-report") / "report.json").read_text())
    # the run fetched the head's outputs and ran nothing; the report fetched the base's metrics
    assert {s["run"] for s in report["stages"]} == {"unchanged"}, report["stages"]
    scores = {m["file"]: m for m in report["metrics"]}
    assert sorted(scores) == [f"metrics/{i}.json" for i in ITEMS]
    for metric in scores.values():
        assert metric["unread"] is None and 0 < metric["base"] < metric["head"], metric
    assert [n for n in report["notes"] if "metrics/" in n] == []
