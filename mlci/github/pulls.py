"""Pull requests: those of a branch, and opening one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlci.github.client import Client

__all__ = ["Pull", "create_pull", "pulls_from"]


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
    return client.call(
        f"list the pull requests of {branch}",
        lambda: [_pull(p) for p in client.repo.get_pulls(state="all", head=f"{owner}:{branch}")],
    )


def create_pull(client: Client, *, head: str, base: str, title: str, body: str) -> Pull:
    """Open a pull request `head` -> `base`; the branch must already be on GitHub."""
    return client.call(
        f"open a pull request from {head} into {base}",
        lambda: _pull(client.repo.create_pull(base=base, head=head, title=title, body=body)),
    )
