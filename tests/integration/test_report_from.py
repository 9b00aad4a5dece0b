"""`mlci report --from`: a saved report rendered and posted the way the fork-safe workflow_run job does."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlci import api
from mlci.cli import cli
from mlci.report import markdown
from mlci.validate import results
from mlci.validate.results import Check, Result
from tests.conftest import git
from tests.github_standin import GitHubStandin, make_event, validate_event

REPO = "octo-org/digits"
TOKEN = "ghs_workflowruntoken0123456789"


def mlci(*args: str) -> str:
    done = CliRunner().invoke(cli, list(args))
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture
def saved(history: Path, tmp_path: Path) -> Path:
    """The feature branch's report, with a failed model gate, saved as the pr run saves it."""
    gate = Check("gates", "total", "fail", target="total", observed=27, expected="<= 20")
    feature = git(history, "rev-parse", "feature")  # the revision the results are made for
    result = Result(kind="model", checks=[gate], sha=feature)
    results.write(api.load_config(history).state_path, result)
    path = tmp_path / "artifact" / "report.json"
    mlci("-C", str(history), "report", "--head", "feature", "--format", "json", "-o", str(path))
    return path


def test_the_saved_report_renders_as_the_computed_one(history: Path, saved: Path) -> None:
    direct = api.report(history, head="feature")
    assert direct.plots, "the tiny project has plots: the saved report has none"
    assert json.loads(saved.read_text()) == direct.to_dict()
    from_file = mlci("report", "--from", str(saved), "--format", "markdown")
    assert from_file == markdown.render(dataclasses.replace(direct, plots=[]))
    assert "| total | 18 | 27 | +9 (+50.0%) |" in from_file


@pytest.mark.parametrize("listed", [True, False], ids=["same-repo", "fork"])
def test_posting_a_saved_report_from_a_workflow_run(
    history: Path,
    saved: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    listed: bool,
) -> None:
    head, base = git(history, "rev-parse", "feature"), git(history, "rev-parse", "main")
    # the artifact may say anything about its head: the event decides where the report goes
    document: dict[str, Any] = json.loads(saved.read_text())
    document["head"] = {"rev": "main", "sha": base}
    saved.write_text(json.dumps(document))
    with GitHubStandin() as standin:
        standin.add_user(TOKEN, "github-actions[bot]", type="Bot")
        standin.add_repo(REPO, head_sha=base)
        standin.add_pull(REPO, 7, head_sha=head, base_sha=base)
        # a fork's pull requests are not listed in the event: GitHub is asked for the commit's
        overrides = {} if listed else {"workflow_run": {"pull_requests": []}}
        event = make_event(
            "workflow_run",
            repo=REPO,
            number=7,
            head_sha=head,
            base_sha=base,
            workflow="pr",
            api_url=standin.url,
            **overrides,
        )
        validate_event("workflow_run", event)
        (tmp_path / "event.json").write_text(json.dumps(event))
        summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "workflow_run",
            "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": standin.url,
            "GITHUB_RUN_ID": "99",
            "GITHUB_WORKFLOW": "pr comment",
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)  # the comment job checks nothing out

        printed = mlci("report", "--from", str(saved), "--post")
        [comment] = standin.comments(REPO, 7)
        body = str(comment["body"])
        assert f"<!-- mlci-report:{document['id']} -->" in body
        assert f"`{head[:8]}` vs `{base[:8]}`" in body and "**1 validation failed**" in body
        [status] = standin.statuses(REPO, head)
        assert status["context"] == "mlci/report" and status["state"] == "failure"
        assert standin.statuses(REPO, base) == []
        [check] = standin.check_runs(REPO)
        assert (check["name"], check["head_sha"], check["conclusion"]) == (
            "mlci/model",
            head,
            "failure",
        )
        assert "report posted on #7" in printed and "check run mlci/model" in printed
        assert "comment-url<<" in output.read_text()
        assert str(comment["html_url"]) in output.read_text()
        assert "| total | 18 | 27 |" in summary.read_text()
        assert standin.violations == []
