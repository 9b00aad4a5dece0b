"""What the `mlci release` tests share: the GitHub stand-in as a runner sees it, and a merged PR.

test_release.py, test_release_without_mlflow.py and test_release_bump.py import from here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.github_standin import GitHubStandin

REPO = "octo-org/digits"
TOKEN = "ghs_releasetoken0123456789"


@pytest.fixture(name="github_env")
def github_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandin]:
    with GitHubStandin() as standin:
        standin.add_user(TOKEN, "github-actions[bot]", type="Bot")
        standin.add_repo(REPO)
        for key, value in {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": standin.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_RUN_ID": "7",
            "GITHUB_SERVER_URL": "https://github.example",
        }.items():
            monkeypatch.setenv(key, value)
        yield standin
        assert standin.violations == []


def merged_pull(standin: GitHubStandin, sha: str, number: int, labels: list[str]) -> None:
    standin.add_pull(
        REPO,
        number,
        head_sha=f"{number:040x}",
        base_sha=f"{number + 1000:040x}",
        head_ref=f"feature-{number}",
        labels=labels,
        merge_commit_sha=sha,
        state="closed",
        merged=True,
    )
