"""The registry's tags as git holds them: every tag and its commit, read in one git call.

Only annotated tags on commits count; lightweight tags are ignored, as GTO
ignores them (their counters still count). The tags come out in GTO's time
order: tagger date, then tag name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlci import git
from mlci.registry.grammar import TagInfo, match_tag, tag_info, tag_to_name

_FIELDS = (
    "refname",
    "objecttype",
    "*objectname",
    "*objecttype",
    "taggername",
    "taggeremail",
    "taggerdate:raw",
    "contents",
    "contents:signature",
    "*authorname",
    "*authoremail",
    "*committername",
    "*committeremail",
    "*committerdate:raw",
    "*contents",
)
_FORMAT = "".join(f"%({name})%00" for name in _FIELDS)


def _email(text: str) -> str:
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


def _date(raw: str) -> tuple[int, int]:
    """`1700000000 +0130` -> (1700000000, 5400)."""
    stamp, _, zone = raw.partition(" ")
    offset = 0
    if len(zone) == 5 and zone[1:].isdigit():
        offset = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (-1 if zone[0] == "-" else 1)
    return int(stamp or 0), offset


@dataclass(frozen=True)
class Commit:
    sha: str
    ts: int
    offset: int
    author: str
    author_email: str
    committer: str
    committer_email: str
    message: str


@dataclass(frozen=True)
class Tag:
    """An annotated registry tag on a commit."""

    info: TagInfo
    commit: str
    ts: int
    offset: int
    tagger: str
    tagger_email: str
    message: str


@dataclass
class Refs:
    tags: list[Tag] = field(default_factory=list)  # annotated registry tags, by name
    commits: dict[str, Commit] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # every tag name
    counters: dict[str, int] = field(default_factory=dict)  # artifact -> highest counter


def read_refs(root: Path) -> Refs:
    """Every tag of the repository at `root`, in one `git for-each-ref`."""
    out = git.tag_refs(root, _FORMAT)
    values = out.split("\0")
    width = len(_FIELDS)
    refs = Refs()
    for start in range(0, len(values) - width + 1, width):
        (refname, objtype, target, target_type, tagger, tagger_email, tag_date) = values[
            start : start + 7
        ]
        name = refname.lstrip("\n").removeprefix("refs/tags/")
        refs.names.add(name)
        match = match_tag(name)
        if match is None:
            continue
        full = tag_to_name(match["artifact"])
        if match["counter"] is not None:  # GTO counts lightweight tags' counters too
            refs.counters[full] = max(refs.counters.get(full, 0), int(match["counter"]))
        info = tag_info(name, match)
        if info is None or objtype != "tag" or target_type != "commit":
            continue  # lightweight, or a tag of a tag or a tree: not GTO's
        contents, signature = values[start + 7], values[start + 8]
        if signature and contents.endswith(signature):
            contents = contents[: -len(signature)]
        ts, offset = _date(tag_date)
        refs.tags.append(
            Tag(info, target, ts, offset, tagger, _email(tagger_email), contents.strip())
        )
        if target not in refs.commits:
            a_name, a_email, c_name, c_email, c_date, c_message = values[start + 9 : start + 15]
            c_ts, c_offset = _date(c_date)
            refs.commits[target] = Commit(
                target, c_ts, c_offset, a_name, _email(a_email), c_name, _email(c_email), c_message
            )
    refs.tags.sort(key=lambda t: t.info.tag)  # gto lists tags by name, then sorts by time
    refs.tags.sort(key=lambda t: t.ts)
    return refs
