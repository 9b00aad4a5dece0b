"""The PyGithub client: bounded retries, every failure a ServiceError, the token's identity.

Nothing outside `mlci.github` imports PyGithub. The token is never printed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mlci.errors import ServiceError, UsageError

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.Repository import Repository

__all__ = ["Client", "Identity"]

T = TypeVar("T")


@dataclass(frozen=True)
class Identity:
    """Who a token acts as, and so which comments are its own.

    `login` names the user of a personal access token: their comments are its own.
    None is an installation token (a workflow's GITHUB_TOKEN, a GitHub App's), which
    GitHub does not name: no REST call lets an installation learn its bot's login, and
    `GET /user` answers 403. Its comments are those of a GitHub App's bot account: user
    type "Bot", made through that same app (`performed_via_github_app`, when GitHub
    fills it, is the app whose bot the author is). No person can author such a comment,
    whatever its text says.
    """

    login: str | None

    def wrote(self, comment: IssueComment) -> bool:
        user = comment.user
        if user is None:  # a deleted account
            return False
        if self.login is not None:
            return str(user.login).casefold() == self.login.casefold()
        if user.type != "Bot":
            return False
        app = comment.performed_via_github_app
        return app is None or f"{app.slug}[bot]".casefold() == str(user.login).casefold()


class Client:
    def __init__(
        self,
        token: str,
        repository: str,
        *,
        api_url: str = "https://api.github.com",
        timeout: int = 10,
        retries: int = 3,
        max_wait: float = 20.0,
        seconds_between_writes: float | None = 1.0,
    ) -> None:
        from github import Auth, Github, GithubRetry

        if not token:
            raise UsageError("no GitHub token: set GITHUB_TOKEN or pass --token")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository or ""):
            raise UsageError(f"not a GitHub repository name: {repository!r} (expected owner/name)")
        retry = GithubRetry(
            total=retries,
            backoff_factor=0.5,
            status_forcelist=[500, 502, 503, 504],
            # a retried POST may duplicate a comment: upsert_comment removes duplicates
            allowed_methods=frozenset({"GET", "POST", "PATCH", "DELETE"}),
            secondary_rate_wait=max_wait,
            max_rate_limit_wait=max_wait,
        )
        self._github = Github(
            auth=Auth.Token(token),
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            retry=retry,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=seconds_between_writes,
        )
        self.repository = repository
        self._repo: Repository | None = None
        self._identity: Identity | None = None

    def call(self, what: str, action: Callable[[], T]) -> T:
        from github import BadCredentialsException, GithubException
        from requests.exceptions import RequestException
        from urllib3.exceptions import HTTPError

        try:
            return action()
        except BadCredentialsException:
            raise ServiceError(f"GitHub rejected the token while trying to {what} (401)") from None
        except GithubException as exc:
            message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
            raise ServiceError(
                f"GitHub answered {exc.status} while trying to {what}: {message}"
            ) from None
        except (RequestException, HTTPError, OSError) as exc:
            raise ServiceError(
                f"GitHub could not be reached while trying to {what}: {type(exc).__name__}"
            ) from None

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = self.call(
                f"open {self.repository}", lambda: self._github.get_repo(self.repository)
            )
        return self._repo

    def identity(self) -> Identity:
        """Who the token acts as: a person or machine user (`GET /user` names them), or an
        installation of a GitHub App (a workflow's GITHUB_TOKEN is one), which has no user:
        GitHub answers 403 "Resource not accessible by integration"."""
        from github import GithubException, RateLimitExceededException

        def ask() -> Identity:
            try:
                return Identity(str(self._github.get_user().login))
            except RateLimitExceededException:
                raise
            except GithubException as exc:
                if exc.status in (403, 404):
                    return Identity(None)
                raise

        if self._identity is None:
            self._identity = self.call("ask who the token is (GET /user)", ask)
        return self._identity

    def pull_for_commit(self, sha: str) -> int | None:
        pulls = self.call(
            f"find the pull request of {sha[:8]}",
            lambda: list(self.repo.get_commit(sha).get_pulls()),
        )
        open_pulls = [p for p in pulls if p.state == "open"] or pulls
        return int(open_pulls[0].number) if open_pulls else None

    def merged_pull_labels(self, sha: str) -> tuple[int, list[str]] | None:
        """(number, label names) of the merged pull request that brought commit `sha`."""

        def find() -> tuple[int, list[str]] | None:
            merged = [p for p in self.repo.get_commit(sha).get_pulls() if p.merged_at]
            merged.sort(key=lambda p: p.merge_commit_sha != sha)  # its own merge commit first
            if not merged:
                return None
            return int(merged[0].number), [str(label.name) for label in merged[0].labels]

        return self.call(f"find the merged pull request of {sha[:8]}", find)

    def comments(self, number: int) -> list[IssueComment]:
        return self.call(
            f"list the comments of #{number}",
            lambda: list(self.repo.get_issue(number).get_comments()),
        )

    def create_comment(self, number: int, body: str) -> IssueComment:
        return self.call(
            f"comment on #{number}", lambda: self.repo.get_issue(number).create_comment(body)
        )

    def edit_comment(self, comment: IssueComment, body: str) -> None:
        self.call(f"update comment {comment.id}", lambda: comment.edit(body))

    def delete_comment(self, comment: IssueComment) -> None:
        from github import UnknownObjectException

        def delete() -> None:
            with contextlib.suppress(UnknownObjectException):  # a racing run deleted it first
                comment.delete()

        self.call(f"delete duplicate comment {comment.id}", delete)

    def set_status(
        self, sha: str, state: str, description: str, context: str, target_url: str | None = None
    ) -> None:
        kwargs: dict[str, Any] = {
            "state": state,
            "description": description[:140],
            "context": context,
        }
        if target_url:
            kwargs["target_url"] = target_url
        self.call(
            f"set the {context} status", lambda: self.repo.get_commit(sha).create_status(**kwargs)
        )
