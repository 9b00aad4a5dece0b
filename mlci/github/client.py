"""GitHub: every API call goes through here. Nothing else imports PyGithub.

The client is built once with bounded retries (5xx, timeouts, secondary rate
limits with Retry-After), and every failure becomes a ServiceError (exit 3)
that says what was being done. The token is never printed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlci.errors import ServiceError, UsageError

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.Repository import Repository

__all__ = ["Client", "Identity", "Posted", "Pull", "create_pull", "pulls_from", "upsert_comment"]

T = TypeVar("T")
_HISTORY_START = "<!-- mlci-history -->"
_HISTORY_END = "<!-- /mlci-history -->"
_HEADLINE = re.compile(r"^<!-- mlci-headline -->\n(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Posted:
    url: str
    created: bool
    removed_duplicates: int = 0


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

    def _call(self, what: str, action: Callable[[], T]) -> T:
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
            self._repo = self._call(
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
            self._identity = self._call("ask who the token is (GET /user)", ask)
        return self._identity

    def pull_for_commit(self, sha: str) -> int | None:
        pulls = self._call(
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

        return self._call(f"find the merged pull request of {sha[:8]}", find)

    def comments(self, number: int) -> list[IssueComment]:
        return self._call(
            f"list the comments of #{number}",
            lambda: list(self.repo.get_issue(number).get_comments()),
        )

    def create_comment(self, number: int, body: str) -> IssueComment:
        return self._call(
            f"comment on #{number}", lambda: self.repo.get_issue(number).create_comment(body)
        )

    def edit_comment(self, comment: IssueComment, body: str) -> None:
        self._call(f"update comment {comment.id}", lambda: comment.edit(body))

    def delete_comment(self, comment: IssueComment) -> None:
        from github import UnknownObjectException

        def delete() -> None:
            with contextlib.suppress(UnknownObjectException):  # a racing run deleted it first
                comment.delete()

        self._call(f"delete duplicate comment {comment.id}", delete)

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
        self._call(
            f"set the {context} status", lambda: self.repo.get_commit(sha).create_status(**kwargs)
        )


def _history(old_body: str) -> list[str]:
    """Headlines of earlier runs: the old comment's own headline first, then its history."""
    entries = []
    if match := _HEADLINE.search(old_body):
        entries.append(match.group(1).strip())
    if _HISTORY_START in old_body and _HISTORY_END in old_body:
        block = old_body.split(_HISTORY_START, 1)[1].split(_HISTORY_END, 1)[0]
        entries += [line[2:].strip() for line in block.splitlines() if line.startswith("- ")]
    return entries


def with_history(body: str, headline: str, earlier: list[str], *, keep: int = 20) -> str:
    """The body with our headline marked, and earlier headlines in a collapsed section."""
    text = body.rstrip("\n") + f"\n\n<!-- mlci-headline -->\n{headline}\n"
    if earlier:
        items = "\n".join(f"- {entry}" for entry in earlier[:keep])
        text += (
            f"\n<details><summary>History ({min(len(earlier), keep)} earlier runs)</summary>\n\n"
            f"{_HISTORY_START}\n{items}\n{_HISTORY_END}\n\n</details>\n"
        )
    return text


def upsert_comment(client: Client, number: int, marker: str, body: str, headline: str) -> Posted:
    """One comment per marker on the PR, updated in place.

    Ours: a comment whose body starts with the marker, written by the token's identity
    (see Identity). Anyone else's comment, or one that merely quotes the marker, is never
    edited or deleted. Two runs racing may both create one: afterwards each keeps the
    oldest and deletes the rest, so exactly one remains whichever finishes last.
    """
    me = client.identity()
    if not body.startswith(marker):
        body = f"{marker}\n{body}"

    def ours() -> list[IssueComment]:
        return sorted(
            (
                c
                for c in client.comments(number)
                if (c.body or "").startswith(marker) and me.wrote(c)
            ),
            key=lambda c: c.id,
        )

    mine = ours()
    earlier = _history(mine[0].body or "") if mine else []
    text = with_history(body, headline, earlier)
    if mine:
        client.edit_comment(mine[0], text)
        keep, created = mine[0], False
    else:
        keep, created = client.create_comment(number, text), True
    current = ours() or [keep]
    oldest = current[0]
    if oldest.id != keep.id:
        # another run created one first: the oldest stays, with our body
        client.edit_comment(oldest, text)
    for duplicate in current[1:]:
        client.delete_comment(duplicate)
    keep = oldest
    removed = len(current) - 1
    return Posted(url=str(keep.html_url), created=created, removed_duplicates=removed)


def _annotation(check: dict[str, Any]) -> dict[str, Any]:
    level = "failure" if check["severity"] == "error" and check["verdict"] == "fail" else "warning"
    line = int(check.get("line") or 1)
    return {
        "path": check["file"],
        "start_line": line,
        "end_line": line,
        "annotation_level": level,
        "title": f"{check['group']}: {check['name']}"[:255],
        "message": (check.get("message") or check["verdict"])[:64_000],
    }


def create_check_run(
    client: Client,
    name: str,
    head_sha: str,
    *,
    success: bool,
    title: str,
    summary: str,
    findings: list[dict[str, Any]],
    details_url: str | None = None,
) -> str:
    """A completed check run with annotations at the files and lines that declare what failed."""
    annotations = [_annotation(f) for f in findings if f.get("file")]
    output: dict[str, Any] = {
        "title": title[:255],
        "summary": summary[:65_000],
        # GitHub takes at most 50 annotations per request
        "annotations": annotations[:50],
    }
    kwargs: dict[str, Any] = {
        "name": name,
        "head_sha": head_sha,
        "status": "completed",
        "conclusion": "success" if success else "failure",
        "output": output,
    }
    if details_url:
        kwargs["details_url"] = details_url
    run = client._call(
        f"create the {name} check run", lambda: client.repo.create_check_run(**kwargs)
    )
    return str(run.html_url)


def upsert_release(
    client: Client, tag: str, name: str, body: str, assets: list[Path]
) -> tuple[str, bool]:
    """The Release of `tag` with this body and these assets; re-running updates it in place.

    Assets already there under the same name are kept (a tag's files do not change).
    Returns its URL and whether it was created (else updated).
    """
    from github import UnknownObjectException

    def find() -> Any:
        try:
            return client.repo.get_release(tag)
        except UnknownObjectException:
            return None

    release = client._call(f"look up the release {tag}", find)
    created = release is None
    if release is None:
        release = client._call(
            f"create the release {tag}",
            lambda: client.repo.create_git_release(tag, name=name, message=body),
        )
    else:
        client._call(
            f"update the release {tag}",
            lambda: release.update_release(name=name, message=body),
        )
    existing = {
        asset.name: asset
        for asset in client._call("list release assets", lambda: list(release.get_assets()))
    }
    for path in assets:
        if path.name in existing:
            # a tag names one commit, so its assets do not change; the API subset mlci
            # uses has no asset deletion, and none is needed
            continue

        def upload(path: Path = path) -> Any:
            return release.upload_asset(
                str(path), name=path.name, content_type="application/octet-stream"
            )

        client._call(f"upload {path.name}", upload)
    return str(release.html_url), created


@dataclass(frozen=True)
class Pull:
    number: int
    url: str
    state: str  # open / closed


def _pull(raw: Any) -> Pull:
    return Pull(number=int(raw.number), url=str(raw.html_url), state=str(raw.state))


def pulls_from(client: Client, branch: str) -> list[Pull]:
    """Pull requests (open or closed) whose head is `branch` of the repository itself."""
    owner = client.repository.split("/", 1)[0]
    return client._call(
        f"list the pull requests of {branch}",
        lambda: [_pull(p) for p in client.repo.get_pulls(state="all", head=f"{owner}:{branch}")],
    )


def create_pull(client: Client, *, head: str, base: str, title: str, body: str) -> Pull:
    """Open a pull request `head` -> `base`; the branch must already be on GitHub."""
    return client._call(
        f"open a pull request from {head} into {base}",
        lambda: _pull(client.repo.create_pull(base=base, head=head, title=title, body=body)),
    )


@dataclass
class Deployment:
    client: Client
    raw: Any

    def status(
        self,
        state: str,
        description: str,
        *,
        environment_url: str | None = None,
        log_url: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"state": state, "description": description[:140]}
        if environment_url:
            kwargs["environment_url"] = environment_url
        if log_url:
            kwargs["target_url"] = log_url
        self.client._call(
            f"set the deployment status to {state}", lambda: self.raw.create_status(**kwargs)
        )


def create_deployment(
    client: Client, ref: str, environment: str, description: str, payload: dict[str, Any]
) -> Deployment:
    raw = client._call(
        f"create a {environment} deployment",
        lambda: client.repo.create_deployment(
            ref=ref,
            environment=environment,
            description=description[:140],
            payload=payload,
            auto_merge=False,
            # the release checks what matters itself; GitHub's commit-status gate would refuse a tag
            # whose PR checks are not all green (409)
            required_contexts=[],
            production_environment=environment == "prod",
        ),
    )
    return Deployment(client, raw)
