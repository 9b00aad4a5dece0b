"""The kinds of token mlci posts with, as GitHub answers for each and the stand-in models them.

- A workflow's ``GITHUB_TOKEN``: an installation token of the GitHub Actions app. It acts
  as ``github-actions[bot]`` (user type ``Bot``, id 41898282); ``GET /user`` answers 403
  "Resource not accessible by integration".
- A GitHub App's installation token (``actions/create-github-app-token``): acts as
  ``<app-slug>[bot]``, type ``Bot``; ``GET /user`` answers the same 403.
- A personal access token: acts as its user (type ``User``); ``GET /user`` names them.

An installation's comments carry ``performed_via_github_app`` (the app whose bot wrote
them); a personal access token's, null. Installation tokens start ``ghs_``, personal
ones ``ghp_``. ``HUMAN`` is a person commenting by hand on the same pull request.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.github_standin import ACTIONS_BOT, GitHubStandin

__all__ = ["APP", "GITHUB_TOKEN", "HUMAN", "PAT", "TOKEN_KINDS", "TokenKind"]


@dataclass(frozen=True)
class TokenKind:
    name: str  # for test ids
    token: str
    login: str  # the author GitHub shows on what the token writes
    type: str  # the author's user type: "Bot" or "User"
    app_slug: str | None  # performed_via_github_app.slug on its comments

    @property
    def installation(self) -> bool:
        return self.app_slug is not None

    def add_to(self, standin: GitHubStandin) -> None:
        standin.add_user(self.token, self.login, self.type)


GITHUB_TOKEN = TokenKind(
    "github_token", "ghs_workflowtoken0123456789", ACTIONS_BOT, "Bot", "github-actions"
)
APP = TokenKind(
    "app_installation", "ghs_appinstallation0123456", "mlci-reports[bot]", "Bot", "mlci-reports"
)
PAT = TokenKind("personal_access_token", "ghp_alicepersonal0123456789", "alice", "User", None)
HUMAN = TokenKind("human", "ghp_mallorybyhand0123456789", "mallory", "User", None)
TOKEN_KINDS = (GITHUB_TOKEN, APP, PAT)
