"""`mlci release --auto`: the bump from the commit's trailer or its merged PR's label."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlci import api
from mlci.release import auto
from tests.conftest import commit_all, git, git_repo
from tests.github_standin import GitHubStandin
from tests.integration.release_helpers import REPO, TOKEN, merged_pull
from tests.integration.release_helpers import github_env as github_env_fixture  # noqa: F401

# the group of test_release.py, whose tests these were: on that group's worker, as before
pytestmark = pytest.mark.xdist_group("release")


@pytest.fixture
def bump_repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "bump", {"pyproject.toml": "[tool.mlci]\n"})


@pytest.mark.parametrize(
    ("message", "labels", "expected"),
    [
        ("plain", ["release:minor"], ("minor", "the label release:minor of #5")),
        ("plain", ["bug", "release:minor", "Release:Major"], ("major", "release:major of #5")),
        ("plain", ["bug"], ("patch", "#5 has no release:major/minor/patch label")),
        ("trailer\n\nRelease-Bump: major", ["release:minor"], ("major", "Release-Bump trailer")),
        ("trailer\n\nRelease-Bump: patch", ["release:major"], ("patch", "Release-Bump trailer")),
        ("not merged", None, ("patch", "no merged pull request")),
    ],
)
def test_bump_from_trailer_then_pr_label(
    bump_repo: Path,
    github_env: GitHubStandin,
    message: str,
    labels: list[str] | None,
    expected: tuple[str, str],
) -> None:
    from mlci import github

    (bump_repo / "f.txt").write_text(message)
    sha = commit_all(bump_repo, message)
    github_env.add_commit(REPO, sha)
    if labels is not None:
        merged_pull(github_env, sha, 5, labels)
    client = github.Client(TOKEN, REPO, api_url=github_env.url)
    bump, source = auto.choose_bump(
        bump_repo, api.load_config(bump_repo), sha, github_client=client
    )
    assert bump == expected[0] and expected[1] in source


def test_bump_labels_need_a_token_and_a_prefix(bump_repo: Path) -> None:
    sha = git(bump_repo, "rev-parse", "HEAD")
    said: list[str] = []
    cfg = api.load_config(bump_repo)
    assert auto.choose_bump(bump_repo, cfg, sha, github_client=None, step=said.append) == (
        "patch",
        "the default (PR labels not read: no GitHub token)",
    )
    assert "bump from the Release-Bump trailer only" in said[0]

    class Unreachable:
        def merged_pull_labels(self, sha: str) -> None:
            raise AssertionError("labels off: GitHub must not be asked")

    (bump_repo / "pyproject.toml").write_text('[tool.mlci.release]\nbump_label_prefix = ""\n')
    off = api.load_config(bump_repo)
    assert auto.choose_bump(bump_repo, off, sha, github_client=Unreachable())[0] == "patch"


def test_custom_bump_label_prefix(bump_repo: Path, github_env: GitHubStandin) -> None:
    from mlci import github

    (bump_repo / "pyproject.toml").write_text(
        '[tool.mlci.release]\nbump_label_prefix = "semver/"\n'
    )
    sha = commit_all(bump_repo, "custom labels")
    merged_pull(github_env, sha, 9, ["release:major", "semver/minor"])
    client = github.Client(TOKEN, REPO, api_url=github_env.url)
    cfg = api.load_config(bump_repo)
    assert auto.choose_bump(bump_repo, cfg, sha, github_client=client)[0] == "minor"
