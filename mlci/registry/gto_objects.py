"""GTO's objects: events, and per artifact its versions and their stages, as GTO builds them.

These classes reproduce GTO's objects closely enough that every tie (two tags
in the same second) is broken the same way, which is what lets
`Registry.show()` equal `gto show --json` byte for byte. A stage's holder is
the version with the most recent assignment of that stage that no later
unassignment of that version undid and that is not deregistered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mlci.registry.grammar import semver_key

_PRIORITY = {
    "commit": 0,
    "deprecation": 2,
    "registration": 3,
    "deregistration": 4,
    "assignment": 5,
    "unassignment": 6,
}
_ADDITION = {"commit", "registration", "assignment"}


def _iso(ts: int, offset: int) -> str:
    return to_datetime(ts, offset).isoformat()


def to_datetime(ts: int, offset: int) -> dt.datetime:
    """A git date (seconds, zone offset in seconds) as an aware datetime."""
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone(dt.timedelta(seconds=offset)))


@dataclass(eq=False)
class GtoEvent:
    kind: str  # a key of _PRIORITY
    artifact: str
    ts: int
    offset: int
    author: str
    author_email: str
    message: str
    commit: str
    tag: str = ""  # "" for commit events
    version: str | None = None
    stage: str | None = None
    committer: str = ""
    committer_email: str = ""
    counter: int | None = None

    def dump(self, *, with_event: bool = False) -> dict[str, Any]:
        state: dict[str, Any] = {
            "priority": _PRIORITY[self.kind],
            "addition": self.kind in _ADDITION,
            "artifact": self.artifact,
            "created_at": _iso(self.ts, self.offset),
            "author": self.author,
            "author_email": self.author_email,
            "message": self.message,
            "commit_hexsha": self.commit,
        }
        if self.kind == "commit":
            state.update(
                version=self.version,
                enrichments=[],
                committer=self.committer,
                committer_email=self.committer_email,
            )
        else:
            state["tag"] = self.tag
            if self.version is not None:
                state["version"] = self.version
            if self.stage is not None:
                state["stage"] = self.stage
        if with_event:
            state["event"] = self.kind
        return state

    @property
    def ref(self) -> str:
        return self.tag or self.commit


def _ordered(events: Iterable[GtoEvent], ascending: bool = False) -> list[GtoEvent]:
    # sorted(...)[::-1], not sorted(reverse=True): ties come out the way GTO's do
    result = sorted(events, key=lambda e: e.ts)
    return result if ascending else result[::-1]


class GtoStage:
    def __init__(self, artifact: str, commit: str, version: str, stage: str) -> None:
        self.artifact = artifact
        self.commit = commit
        self.version = version
        self.stage = stage
        self.assignments: list[GtoEvent] = []
        self.unassignments: list[GtoEvent] = []

    @cached_property
    def events(self) -> list[GtoEvent]:
        return _ordered(self.assignments + self.unassignments)

    @property
    def is_active(self) -> bool:
        return self.events[0].kind == "assignment"

    @property
    def activated_ts(self) -> int | None:
        return self.events[0].ts if self.is_active else None

    @cached_property
    def authoring(self) -> GtoEvent:
        additions = [e for e in self.events if e.kind == "assignment"]
        return additions[0] if additions else self.events[0]  # GTO fails on the latter

    def dump(self) -> dict[str, Any]:
        first = self.events[0]
        author = self.authoring
        return {
            "artifact": self.artifact,
            "commit_hexsha": self.commit,
            "version": self.version,
            "stage": self.stage,
            "assignments": [e.dump(with_event=True) for e in self.assignments],
            "unassignments": [e.dump(with_event=True) for e in self.unassignments],
            "is_active": self.is_active,
            "activated_at": _iso(first.ts, first.offset) if self.is_active else None,
            "created_at": _iso(author.ts, author.offset),
            "author": author.author,
            "author_email": author.author_email,
            "message": author.message,
            "ref": author.ref,
        }


class GtoVersion:
    def __init__(self, artifact: str, version: str, commit: str) -> None:
        self.artifact = artifact
        self.version = version
        self.commit = commit
        self.enrichments: list[GtoEvent] = []
        self.registrations: list[GtoEvent] = []
        self.deregistrations: list[GtoEvent] = []
        self.stages: dict[str, GtoStage] = {}

    @property
    def discovered(self) -> bool:
        return not self.registrations and not self.deregistrations

    @property
    def is_registered(self) -> bool:
        return bool(self.registrations)

    def events(self, direct: bool = True, indirect: bool = True) -> list[GtoEvent]:
        chosen = self.registrations + self.deregistrations if direct else []
        if indirect:
            chosen = chosen + self.enrichments
            chosen += [e for s in self.stages.values() for e in s.events]
        return _ordered(chosen)

    @cached_property
    def all_events(self) -> list[GtoEvent]:
        return self.events()

    @cached_property
    def is_active(self) -> bool:
        direct = self.events(indirect=False)
        if direct:
            return direct[0].kind == "registration"
        return bool(self.events(direct=False))

    @cached_property
    def activated(self) -> GtoEvent:
        if self.registrations:
            return self.registrations[0]
        return self.all_events[-1]

    @cached_property
    def authoring(self) -> GtoEvent:
        additions = [e for e in self.events(indirect=False) if e.kind == "registration"]
        if additions:
            return additions[0]
        return self.events(direct=False)[0]

    def active_vstages(self) -> list[GtoStage]:
        """Active stages, oldest activation first."""
        active = [s for s in self.stages.values() if s.is_active]
        return sorted(active, key=lambda s: s.activated_ts or 0)

    def dump(self) -> dict[str, Any]:
        author = self.authoring
        return {
            "artifact": self.artifact,
            "commit_hexsha": self.commit,
            "version": self.version,
            "enrichments": [e.dump() for e in self.enrichments],
            "registrations": [e.dump() for e in self.registrations],
            "deregistrations": [e.dump() for e in self.deregistrations],
            "stages": [],
            "is_active": self.is_active,
            "activated_at": _iso(self.activated.ts, self.activated.offset),
            "created_at": _iso(author.ts, author.offset),
            "author": author.author,
            "author_email": author.author_email,
            "message": author.message,
            "ref": author.ref,
            "discovered": self.discovered,
        }


def sort_semver(versions: list[GtoVersion]) -> list[GtoVersion]:
    """Highest semver first, then the versions that are not semver (as GTO sorts)."""
    keyed = [(v, semver_key(v.version)) for v in versions]
    semver = sorted((p for p in keyed if p[1] is not None), key=lambda p: p[1] or ())[::-1]
    others = sorted((v for v, k in keyed if k is None), key=lambda v: v.version)[::-1]
    return [v for v, _ in semver] + others


class GtoArtifact:
    def __init__(self, name: str) -> None:
        self.name = name
        self.versions: list[GtoVersion] = []
        self.deprecations: list[GtoEvent] = []
        self.registered_at: dict[tuple[str, str], GtoVersion] = {}  # (version, commit)
        self.by_commit: dict[str, list[GtoVersion]] = {}  # registered versions per commit

    @cached_property
    def events(self) -> list[GtoEvent]:
        return _ordered(self.deprecations + [e for v in self.versions for e in v.all_events])

    @property
    def is_active(self) -> bool:
        return bool(self.events) and self.events[0].kind != "deprecation"

    @property
    def is_registered(self) -> bool:
        return any(e.kind != "commit" for e in self.events)

    def get_versions(
        self, *, include_non_explicit: bool, include_discovered: bool, by_time: bool
    ) -> list[GtoVersion]:
        chosen = [
            v
            for v in self.versions
            if v.is_active
            and (
                (v.is_registered and not v.discovered)
                or (include_discovered and v.discovered)
                or (include_non_explicit and not v.is_registered)
            )
        ]
        if by_time:
            return sorted(chosen, key=lambda v: v.authoring.ts)[::-1]
        return sort_semver(chosen)

    @cached_property
    def latest(self) -> GtoVersion | None:
        versions = self.get_versions(
            include_non_explicit=False, include_discovered=False, by_time=False
        )
        return versions[0] if versions else None

    @cached_property
    def stage_holders(self) -> dict[str, list[GtoStage]]:
        """Per stage, the version holding it (GTO's defaults: newest assignment wins)."""
        versions = self.get_versions(
            include_non_explicit=True, include_discovered=False, by_time=True
        )
        candidates = [s for v in versions for s in v.active_vstages()]
        candidates = sorted(candidates, key=lambda s: s.authoring.ts)[::-1]
        holders: dict[str, list[GtoStage]] = {}
        for vstage in candidates:
            held = holders.setdefault(vstage.stage, [])
            if not held:
                held.append(vstage)
        return holders
