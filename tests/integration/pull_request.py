"""Pull request #7 of octo-org/digits on the GitHub stand-in, as the report-posting tests open it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import git
from tests.github_standin import GitHubStandin, make_event

REPO = "octo-org/digits"


def running_standin() -> Iterator[GitHubStandin]:
    """The body of a `standin` fixture: a stand-in that saw no request break GitHub's contract."""
    with GitHubStandin() as server:
        yield server
        assert server.violations == []


def open_pull(history: Path, standin: GitHubStandin) -> tuple[str, dict[str, Any]]:
    """The `feature` branch of `history` opened as #7 into `main`: its head commit and the event."""
    head, base = git(history, "rev-parse", "feature"), git(history, "rev-parse", "main")
    standin.add_repo(REPO, head_sha=base)
    standin.add_pull(REPO, 7, head_sha=head, base_sha=base)
    event = make_event(
        "pull_request",
        "synchronize",
        repo=REPO,
        number=7,
        head_sha=head,
        base_sha=base,
        api_url=standin.url,
    )
    return head, event


def pull_request_env(
    standin: GitHubStandin, head: str, event: dict[str, Any], event_path: Path
) -> dict[str, str]:
    """What GitHub Actions sets for a `pull_request` job of #7; the event written to `event_path`."""
    event_path.write_text(json.dumps(event))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": standin.url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SHA": head,
        "GITHUB_REF": "refs/pull/7/merge",
    }
