"""One pull request comment per marker, updated in place, with the headlines of earlier runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlci.github.client import Client

if TYPE_CHECKING:
    from github.IssueComment import IssueComment

__all__ = ["Posted", "upsert_comment", "with_history"]

_HISTORY_START = "<!-- mlci-history -->"
_HISTORY_END = "<!-- /mlci-history -->"
_HEADLINE = re.compile(r"^<!-- mlci-headline -->\n(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Posted:
    url: str
    created: bool
    removed_duplicates: int = 0


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
