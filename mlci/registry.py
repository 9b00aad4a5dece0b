"""The model registry: git tags in GTO's grammar are the source of truth.

Repositories that already use GTO (or DVC Studio's model registry) work
unchanged: mlci reads and writes the same tags, and `Registry.show()` returns
what `gto show --json` prints for the same repository. GTO itself is never
imported (it costs seconds): every tag is read by one `git for-each-ref`.

Tag grammar (GTO's, `NAME` may be a monorepo path `dir:name`, written
`dir=name` in the tag; `N` is a counter, the artifact's highest + 1):

    NAME@vX.Y.Z[#N]        register version vX.Y.Z (semver; pre-release and
                           build parts allowed) of NAME at the tagged commit
    NAME@vX.Y.Z![#N]       deregister it
    NAME#STAGE[#N]         assign STAGE to the version at the tagged commit
    NAME#STAGE![#N]        unassign it
    NAME@deprecated[#N]    deprecate the artifact

Only annotated tags count; lightweight tags are ignored, as GTO ignores them.
GTO writes register, deregister and deprecate tags without a counter and
assign/unassign tags with one; it reads every form above, and so does
`parse_tag`. `check_tag` is the strict check for a tag about to be acted on:
stage tags must carry their counter.

State: the tags are folded in time order (tagger date, then tag name, as GTO
does): per artifact its versions and, per stage, the current version, which
is the version with the most recent assignment of that stage that no later
unassignment of that version undid and that is not deregistered.

Rollback (no GTO counterpart): `rollback(NAME, STAGE)` assigns STAGE to the
version that held it immediately before the current assignment, with a new
`NAME#STAGE#N` tag whose message ends `(rollback of <current tag>)`. If the
current assignment is itself such a rollback, a second call changes nothing:
rolling back is a one-step undo, not a walk down the history (promote an older
version explicitly for that). `plan_rollback` reads what it would do, and
`apply_rollback` writes the tag: `mlci rollback` (release/deploy.py) moves the
MLflow alias between the two.

Tags mlci creates are dated at least one second after the artifact's newest
registry tag, so that GTO's one-second ordering sees each as the latest.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlci import git
from mlci.dvc import load_yaml, project_from
from mlci.errors import UsageError

if TYPE_CHECKING:
    from mlci.config import ReleaseConfig

__all__ = [
    "Artifact",
    "Registry",
    "RollbackPlan",
    "Stage",
    "StageEvent",
    "TagInfo",
    "Version",
    "apply_rollback",
    "check_tag",
    "delete_tag",
    "load",
    "parse_tag",
    "plan_rollback",
    "promote",
    "push_tag",
    "register",
    "rollback",
]

Action = Literal["register", "deregister", "assign", "unassign", "deprecate"]
Bump = Literal["patch", "minor", "major"]

# --- grammar -------------------------------------------------------------------

_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
_DIR = r"[a-zA-Z0-9_./-]+"
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = (
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_NAME_RE = re.compile(_NAME)
_DIR_RE = re.compile(_DIR)
_FULLNAME_RE = re.compile(rf"(?:{_DIR}:)?{_NAME}")
_VERSION_RE = re.compile(rf"v{_SEMVER}")
_TAG_RE = re.compile(
    rf"(?P<artifact>(?:{_DIR}=)?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?)"
    r"|@(?P<special>deprecated|created))"
    r"(?:#(?P<counter>[0-9]+))?"
)
_SHORTCUT_RE = re.compile(
    rf"(?P<artifact>(?:{_DIR}:)?{_NAME})"
    rf"(?:#(?P<stage>{_NAME})|@(?P<version>latest|greatest|v{_SEMVER}))"
)
_ROLLBACK_RE = re.compile(r"\(rollback of (?P<tag>[^)\s]+)\)\s*$")
_EXPECTED = "NAME@vX.Y.Z, NAME@vX.Y.Z!, NAME#STAGE#N, NAME#STAGE!#N or NAME@deprecated"

# GTO's event names (`gto check-ref`), by action
_EVENTS: dict[str, str] = {
    "register": "registration",
    "deregister": "deregistration",
    "assign": "assignment",
    "unassign": "unassignment",
    "deprecate": "deprecation",
}


@dataclass(frozen=True)
class TagInfo:
    """One registry tag, parsed. `name` is the artifact's name (`dir:name` in a monorepo)."""

    tag: str
    name: str
    action: Action
    version: str | None = None
    stage: str | None = None
    counter: int | None = None

    @property
    def event(self) -> str:
        """GTO's name for what the tag records: registration, assignment, ..."""
        return _EVENTS[self.action]


def name_to_tag(name: str) -> str:
    return name.replace(":", "=")


def tag_to_name(text: str) -> str:
    return text.replace("=", ":")


def _match(tag: str) -> re.Match[str] | None:
    return _TAG_RE.fullmatch(tag)


def _info(tag: str, match: re.Match[str]) -> TagInfo | None:
    name = tag_to_name(match["artifact"])
    counter = int(match["counter"]) if match["counter"] is not None else None
    cancel = match["cancel"] == "!"
    if match["version"]:
        action: Action = "deregister" if cancel else "register"
        return TagInfo(tag, name, action, version=match["version"], counter=counter)
    if match["stage"]:
        action = "unassign" if cancel else "assign"
        return TagInfo(tag, name, action, stage=match["stage"], counter=counter)
    if match["special"] == "deprecated":
        return TagInfo(tag, name, "deprecate", counter=counter)
    return None  # NAME@created: GTO matches it but records no event for it


def parse_tag(tag: str) -> TagInfo | None:
    """The registry event a tag name records, or None if it is not a registry tag (as GTO reads)."""
    match = _match(tag.removeprefix("refs/tags/"))
    return _info(match.string, match) if match else None


def check_tag(tag: str, *, strict: bool = True) -> TagInfo:
    """Parse a tag that must be a registry tag, or say why it is not (UsageError).

    strict: stage tags must end with their counter `#N` (GTO writes them so,
    though it also reads the counter-less `NAME#STAGE` that `gto assign --simple` writes).
    """
    tag = tag.removeprefix("refs/tags/")
    info = parse_tag(tag)
    if info is not None and not (strict and info.stage is not None and info.counter is None):
        return info
    raise UsageError(
        f"'{tag}' is not a registry tag: {_why(tag, strict)}", hint=f"expected {_EXPECTED}"
    )


def _check_name(name: str) -> str | None:
    if not name:
        return "the artifact name is empty"
    if ":" in name:
        return f"a monorepo path is written dir=name in a tag, not '{name}'"
    directory, sep, base = name.rpartition("=")
    if sep and not _DIR_RE.fullmatch(directory):
        return f"the directory '{directory}' may only use letters, digits, '-', '_', '.' and '/'"
    if not _NAME_RE.fullmatch(base):
        return (
            f"the name '{base}' must start and end with a letter or digit and use only "
            "letters, digits, '-', '_' and '/'"
        )
    return None


def _check_counter(counter: str) -> str | None:
    if not counter.isascii() or not counter.isdigit():
        return f"the counter after '#' must be a number, not '{counter}'"
    return None


def _check_version(version: str) -> str | None:
    if _VERSION_RE.fullmatch(version):
        return None
    return f"version must be vX.Y.Z (semantic versioning with a 'v'), not '{version}'"


def _why(tag: str, strict: bool) -> str:  # noqa: PLR0911
    cut = min((i for i in (tag.find("@"), tag.find("#")) if i >= 0), default=-1)
    if cut < 0:
        return f"no '@' or '#' in it; expected {_EXPECTED}"
    artifact, kind, rest = tag[:cut], tag[cut], tag[cut + 1 :]
    if reason := _check_name(artifact):
        return reason
    if kind == "@":
        body, sep, counter = rest.partition("#")
        if sep and (reason := _check_counter(counter)):
            return reason
        if body == "created":
            return "NAME@created records no registry event"
        if body == "deprecated":
            return "unexpected form"
        version = body.removesuffix("!")
        if version.endswith("!"):
            return "a deregistration ends with a single '!'"
        return _check_version(version) or "unexpected form"
    stage, sep, counter = rest.partition("#")
    if not sep:
        return (
            "stage tags end with #N, a counter one above the artifact's highest "
            f"(e.g. {artifact}#{stage}#1)"
            if strict
            else "unexpected form"
        )
    if "#" in counter:
        return "too many '#': a stage tag is NAME#STAGE#N"
    if reason := _check_counter(counter):
        return reason
    stage = stage.removesuffix("!")
    if not _NAME_RE.fullmatch(stage):
        return (
            f"the stage '{stage}' must start and end with a letter or digit and use only "
            "letters, digits, '-', '_' and '/'"
        )
    return "unexpected form"


def _check_fullname(name: str) -> None:
    if not _FULLNAME_RE.fullmatch(name):
        raise UsageError(
            f"invalid artifact name '{name}': it must start and end with a letter or digit "
            "and use only letters, digits, '-', '_' and '/' (a monorepo path: dir:name)"
        )


# --- semantic versions -------------------------------------------------------


def _semver_key(version: str) -> tuple[Any, ...] | None:
    """A sort key with semver precedence (build metadata ignored), None if not vX.Y.Z."""
    match = _VERSION_RE.fullmatch(version)
    if not match:
        return None
    core = (int(match["major"]), int(match["minor"]), int(match["patch"]))
    pre = match["pre"]
    if pre is None:
        return (*core, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*core, 0, ids)


def _bumped(version: str | None, bump: Bump) -> str:
    if version is None:
        return {"patch": "v0.0.1", "minor": "v0.1.0", "major": "v1.0.0"}[bump]
    match = _VERSION_RE.fullmatch(version)
    if match is None:
        raise UsageError(f"cannot bump '{version}': not vX.Y.Z")
    major, minor, patch = int(match["major"]), int(match["minor"]), int(match["patch"])
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


# --- reading the tags: one git call ------------------------------------------

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
class _Commit:
    sha: str
    ts: int
    offset: int
    author: str
    author_email: str
    committer: str
    committer_email: str
    message: str


@dataclass(frozen=True)
class _Tag:
    """An annotated registry tag on a commit."""

    info: TagInfo
    commit: str
    ts: int
    offset: int
    tagger: str
    tagger_email: str
    message: str


@dataclass
class _Refs:
    tags: list[_Tag] = field(default_factory=list)  # annotated registry tags, by name
    commits: dict[str, _Commit] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # every tag name
    counters: dict[str, int] = field(default_factory=dict)  # artifact -> highest counter


def _read_refs(root: Path) -> _Refs:
    out = git.tag_refs(root, _FORMAT)
    values = out.split("\0")
    width = len(_FIELDS)
    refs = _Refs()
    for start in range(0, len(values) - width + 1, width):
        (refname, objtype, target, target_type, tagger, tagger_email, tag_date) = values[
            start : start + 7
        ]
        name = refname.lstrip("\n").removeprefix("refs/tags/")
        refs.names.add(name)
        match = _match(name)
        if match is None:
            continue
        full = tag_to_name(match["artifact"])
        if match["counter"] is not None:  # GTO counts lightweight tags' counters too
            refs.counters[full] = max(refs.counters.get(full, 0), int(match["counter"]))
        info = _info(name, match)
        if info is None or objtype != "tag" or target_type != "commit":
            continue  # lightweight, or a tag of a tag or a tree: not GTO's
        contents, signature = values[start + 7], values[start + 8]
        if signature and contents.endswith(signature):
            contents = contents[: -len(signature)]
        ts, offset = _date(tag_date)
        refs.tags.append(
            _Tag(info, target, ts, offset, tagger, _email(tagger_email), contents.strip())
        )
        if target not in refs.commits:
            a_name, a_email, c_name, c_email, c_date, c_message = values[start + 9 : start + 15]
            c_ts, c_offset = _date(c_date)
            refs.commits[target] = _Commit(
                target, c_ts, c_offset, a_name, _email(a_email), c_name, _email(c_email), c_message
            )
    refs.tags.sort(key=lambda t: t.info.tag)  # gto lists tags by name, then sorts by time
    refs.tags.sort(key=lambda t: t.ts)
    return refs


# --- GTO's state, folded the way GTO folds it -----------------------------------
#
# These private classes reproduce GTO's objects closely enough that every
# tie (two tags in the same second) is broken the same way, which is what lets
# show() equal `gto show --json` byte for byte.

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
    return _datetime(ts, offset).isoformat()


def _datetime(ts: int, offset: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone(dt.timedelta(seconds=offset)))


@dataclass(eq=False)
class _Event:
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


def _ordered(events: Iterable[_Event], ascending: bool = False) -> list[_Event]:
    # sorted(...)[::-1], not sorted(reverse=True): ties come out the way GTO's do
    result = sorted(events, key=lambda e: e.ts)
    return result if ascending else result[::-1]


class _VStage:
    def __init__(self, artifact: str, commit: str, version: str, stage: str) -> None:
        self.artifact = artifact
        self.commit = commit
        self.version = version
        self.stage = stage
        self.assignments: list[_Event] = []
        self.unassignments: list[_Event] = []

    @cached_property
    def events(self) -> list[_Event]:
        return _ordered(self.assignments + self.unassignments)

    @property
    def is_active(self) -> bool:
        return self.events[0].kind == "assignment"

    @property
    def activated_ts(self) -> int | None:
        return self.events[0].ts if self.is_active else None

    @cached_property
    def authoring(self) -> _Event:
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


class _Ver:
    def __init__(self, artifact: str, version: str, commit: str) -> None:
        self.artifact = artifact
        self.version = version
        self.commit = commit
        self.enrichments: list[_Event] = []
        self.registrations: list[_Event] = []
        self.deregistrations: list[_Event] = []
        self.stages: dict[str, _VStage] = {}

    @property
    def discovered(self) -> bool:
        return not self.registrations and not self.deregistrations

    @property
    def is_registered(self) -> bool:
        return bool(self.registrations)

    def events(self, direct: bool = True, indirect: bool = True) -> list[_Event]:
        chosen = self.registrations + self.deregistrations if direct else []
        if indirect:
            chosen = chosen + self.enrichments
            chosen += [e for s in self.stages.values() for e in s.events]
        return _ordered(chosen)

    @cached_property
    def all_events(self) -> list[_Event]:
        return self.events()

    @cached_property
    def is_active(self) -> bool:
        direct = self.events(indirect=False)
        if direct:
            return direct[0].kind == "registration"
        return bool(self.events(direct=False))

    @cached_property
    def activated(self) -> _Event:
        if self.registrations:
            return self.registrations[0]
        return self.all_events[-1]

    @cached_property
    def authoring(self) -> _Event:
        additions = [e for e in self.events(indirect=False) if e.kind == "registration"]
        if additions:
            return additions[0]
        return self.events(direct=False)[0]

    def active_vstages(self) -> list[_VStage]:
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


def _sort_semver(versions: list[_Ver]) -> list[_Ver]:
    keyed = [(v, _semver_key(v.version)) for v in versions]
    semver = sorted((p for p in keyed if p[1] is not None), key=lambda p: p[1] or ())[::-1]
    others = sorted((v for v, k in keyed if k is None), key=lambda v: v.version)[::-1]
    return [v for v, _ in semver] + others


class _Art:
    def __init__(self, name: str) -> None:
        self.name = name
        self.versions: list[_Ver] = []
        self.deprecations: list[_Event] = []
        self.registered_at: dict[tuple[str, str], _Ver] = {}  # (version, commit)
        self.by_commit: dict[str, list[_Ver]] = {}  # registered versions per commit

    @cached_property
    def events(self) -> list[_Event]:
        return _ordered(self.deprecations + [e for v in self.versions for e in v.all_events])

    @property
    def is_active(self) -> bool:
        return bool(self.events) and self.events[0].kind != "deprecation"

    @property
    def is_registered(self) -> bool:
        return any(e.kind != "commit" for e in self.events)

    def get_versions(
        self, *, include_non_explicit: bool, include_discovered: bool, by_time: bool
    ) -> list[_Ver]:
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
        return _sort_semver(chosen)

    @cached_property
    def latest(self) -> _Ver | None:
        versions = self.get_versions(
            include_non_explicit=False, include_discovered=False, by_time=False
        )
        return versions[0] if versions else None

    @cached_property
    def stage_holders(self) -> dict[str, list[_VStage]]:
        """Per stage, the version holding it (GTO's defaults: newest assignment wins)."""
        versions = self.get_versions(
            include_non_explicit=True, include_discovered=False, by_time=True
        )
        candidates = [s for v in versions for s in v.active_vstages()]
        candidates = sorted(candidates, key=lambda s: s.authoring.ts)[::-1]
        holders: dict[str, list[_VStage]] = {}
        for vstage in candidates:
            held = holders.setdefault(vstage.stage, [])
            if not held:
                held.append(vstage)
        return holders


def _event(kind: str, tag: _Tag, version: str | None = None) -> _Event:
    return _Event(
        kind,
        tag.info.name,
        tag.ts,
        tag.offset,
        tag.tagger,
        tag.tagger_email,
        tag.message,
        tag.commit,
        tag=tag.info.tag,
        version=version,
        stage=tag.info.stage,
        counter=tag.info.counter,
    )


class _Fold:
    """GTO's state from tags sorted by (time, name), built in GTO's order.

    Deprecations first, then registrations and deregistrations, then stage
    assignments, then one commit event per version.
    """

    def __init__(self, tags: list[_Tag], commits: dict[str, _Commit]) -> None:
        self.arts: dict[str, _Art] = {}
        for tag in tags:
            if tag.info.action == "deprecate":
                self.art(tag.info.name).deprecations.append(_event("deprecation", tag))
        for tag in tags:
            if tag.info.action in ("register", "deregister"):
                self.version(tag)
        for tag in tags:
            if tag.info.action in ("assign", "unassign"):
                self.stage(tag)
        for art in self.arts.values():
            for ver in art.versions:
                ver.enrichments.append(_commit_event(art.name, ver, commits[ver.commit]))

    def art(self, name: str) -> _Art:
        if name not in self.arts:
            self.arts[name] = _Art(name)
        return self.arts[name]

    def version(self, tag: _Tag) -> None:
        info = tag.info
        version = info.version or ""
        art = self.art(info.name)
        ver = art.registered_at.get((version, tag.commit))
        if ver is None:
            ver = art.registered_at[version, tag.commit] = _Ver(info.name, version, tag.commit)
            art.versions.append(ver)
            art.by_commit.setdefault(tag.commit, []).append(ver)
        if info.action == "register":
            ver.registrations.append(_event("registration", tag, version))
        else:
            ver.deregistrations.append(_event("deregistration", tag, version))

    def stage(self, tag: _Tag) -> None:
        info = tag.info
        stage = info.stage or ""
        art = self.art(info.name)
        found = art.by_commit.get(tag.commit)
        if found:
            ver = found[-1]  # GTO fails when one commit has several versions
        else:
            # GTO's way with a stage on an unregistered commit: the version is
            # named by the commit and created twice, once empty
            art.versions.append(_Ver(info.name, tag.commit, tag.commit))
            ver = _Ver(info.name, tag.commit, tag.commit)
            art.versions.append(ver)
        vstage = ver.stages.get(stage)
        if vstage is None:
            vstage = ver.stages[stage] = _VStage(info.name, ver.commit, ver.version, stage)
        if info.action == "assign":
            vstage.assignments.append(_event("assignment", tag, ver.version))
        else:
            vstage.unassignments.append(_event("unassignment", tag, ver.version))


def _commit_event(artifact: str, ver: _Ver, commit: _Commit) -> _Event:
    return _Event(
        "commit",
        artifact,
        commit.ts,
        commit.offset,
        commit.author,
        commit.author_email,
        commit.message,
        commit.sha,
        version=ver.version,
        committer=commit.committer,
        committer_email=commit.committer_email,
    )


def _fold(tags: list[_Tag], commits: dict[str, _Commit]) -> dict[str, _Art]:
    return _Fold(tags, commits).arts


# --- the registry, as mlci sees it ----------------------------------------------


@dataclass(frozen=True)
class Version:
    """A registered version. `deregistered`: its newest register/deregister tag is a deregister."""

    artifact: str
    version: str
    commit: str
    created_at: dt.datetime
    author: str
    author_email: str
    tag: str
    message: str
    deregistered: bool


@dataclass(frozen=True)
class StageEvent:
    action: Literal["assign", "unassign"]
    version: str
    commit: str
    tag: str
    counter: int | None
    created_at: dt.datetime
    author: str
    message: str

    @property
    def rollback_of(self) -> str | None:
        """The tag this assignment rolled back, from the marker rollback() writes."""
        match = _ROLLBACK_RE.search(self.message)
        return match["tag"] if match and self.action == "assign" else None


@dataclass(frozen=True)
class Stage:
    name: str
    current: str | None  # the version holding the stage now, as `gto show` shows it
    history: list[StageEvent]  # every assign/unassign of the stage, oldest first


@dataclass(frozen=True)
class Artifact:
    name: str
    meta: dict[str, Any]  # the dvc.yaml declaration: type, path, desc, labels, ...
    declared: bool  # in dvc.yaml
    deprecated: bool
    latest: str | None  # the highest registered version that is not deregistered
    versions: list[Version]  # newest (semver) first, deregistered ones included
    stages: dict[str, Stage]

    def version(self, version: str) -> Version | None:
        return next((v for v in self.versions if v.version == version), None)


@dataclass
class Registry:
    root: Path
    artifacts: dict[str, Artifact]  # tagged ones in GTO's order, then declared-only ones
    _arts: dict[str, _Art]
    _refs: _Refs
    _stages: list[str] | None  # `stages:` of .gto, which `gto show` honours

    def artifact(self, name: str) -> Artifact:
        if name not in self.artifacts:
            known = ", ".join(sorted(self.artifacts)) or "none"
            raise UsageError(
                f"unknown artifact '{name}' (known: {known})",
                hint="declare it under `artifacts:` in dvc.yaml",
            )
        return self.artifacts[name]

    def show(self, name: str | None = None, *, declared: bool = False) -> Any:
        """What `gto show --json` (or `gto show NAME --json`) prints, as Python data.

        declared: also list dvc.yaml artifacts without tags (as GTO lists the
        ones of artifacts.yaml); GTO does not read dvc.yaml, so off by default.
        """
        if name is not None:
            return self._show_versions(name)
        stages = self._stages
        if stages is None:
            stages = sorted({s for a in self._arts.values() for s in a.stage_holders})
        shown: dict[str, Any] = {}
        for art in self._arts.values():
            if not art.is_active:
                continue
            holders = art.stage_holders
            shown[art.name] = {
                "version": art.latest.version if art.latest else None,
                "stage": {
                    s: ", ".join(h.version for h in holders.get(s, [])) or None for s in stages
                },
                "registered": art.is_registered,
                "active": True,
            }
        if declared:
            for a in self.artifacts.values():
                if a.name not in self._arts:
                    shown[a.name] = {
                        "version": None,
                        "stage": dict.fromkeys(stages),
                        "registered": False,
                        "active": True,
                    }
        return shown

    def _show_versions(self, name: str) -> list[dict[str, Any]]:
        shortcut = _SHORTCUT_RE.fullmatch(name)
        base = shortcut["artifact"] if shortcut else name
        art = self._arts.get(base)
        if art is None:
            self.artifact(base)  # raises for an unknown name
            return []  # declared in dvc.yaml, never tagged
        if not art.is_active:
            return []
        holders = art.stage_holders
        versions = []
        for ver in art.get_versions(
            include_non_explicit=True, include_discovered=True, by_time=False
        ):
            state = ver.dump()
            state["stages"] = [
                h.dump() for held in holders.values() for h in held if h.version == ver.version
            ]
            versions.append(state)
        if shortcut is None:
            return versions
        if shortcut["version"] in ("latest", "greatest"):
            return versions[:1]
        if shortcut["version"]:
            return [v for v in versions if v["version"] == shortcut["version"]]
        return [v for v in versions for s in v["stages"] if s["stage"] == shortcut["stage"]]


def _declarations(root: Path, directory: str = "") -> dict[str, dict[str, Any]]:
    path = root / directory / "dvc.yaml"
    if not path.is_file():
        return {}
    return project_from(path.parent, load_yaml(path, root=root) or {}).artifacts


def _meta(
    root: Path, name: str, cache: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any] | None:
    directory, _, base = name.rpartition(":")
    if directory not in cache:
        cache[directory] = _declarations(root, directory)
    return cache[directory].get(base)


def _view(name: str, art: _Art | None, meta: dict[str, Any] | None) -> Artifact:
    if art is None:
        return Artifact(name, dict(meta or {}), meta is not None, False, None, [], {})
    versions = []
    for ver in _sort_semver([v for v in art.versions if not v.discovered]):
        source = ver.authoring if ver.registrations else ver.deregistrations[-1]
        versions.append(
            Version(
                name,
                ver.version,
                ver.commit,
                _datetime(source.ts, source.offset),
                source.author,
                source.author_email,
                source.tag,
                source.message,
                deregistered=not ver.is_active,
            )
        )
    history: dict[str, list[tuple[int, StageEvent]]] = {}
    order = 0
    for ver in art.versions:
        for vstage in ver.stages.values():
            for ev in vstage.assignments + vstage.unassignments:
                order += 1
                history.setdefault(vstage.stage, []).append(
                    (
                        ev.ts,
                        StageEvent(
                            "assign" if ev.kind == "assignment" else "unassign",
                            ver.version,
                            ver.commit,
                            ev.tag,
                            ev.counter,
                            _datetime(ev.ts, ev.offset),
                            ev.author,
                            ev.message,
                        ),
                    )
                )
    holders = art.stage_holders
    stages = {}
    for stage, events in history.items():
        # events of one stage, oldest first; same second: by tag name (GTO's tie order)
        events.sort(key=lambda p: (p[0], p[1].tag))
        held = holders.get(stage)
        stages[stage] = Stage(stage, held[0].version if held else None, [e for _, e in events])
    return Artifact(
        name,
        dict(meta or {}),
        meta is not None,
        not art.is_active,
        art.latest.version if art.latest else None,
        versions,
        stages,
    )


def _gto_stages(root: Path) -> list[str] | None:
    path = root / ".gto"
    if not path.is_file():
        return None
    config = load_yaml(path, root=root)
    stages = config.get("stages") if isinstance(config, dict) else None
    return [str(s) for s in stages] if isinstance(stages, list) else None


def load(root: Path) -> Registry:
    """Every registry tag of the repository at `root`, read in one git call and folded."""
    root = Path(root)
    refs = _read_refs(root)
    arts = _fold(refs.tags, refs.commits)
    cache: dict[str, dict[str, dict[str, Any]]] = {"": _declarations(root)}
    artifacts = {name: _view(name, art, _meta(root, name, cache)) for name, art in arts.items()}
    for name, meta in cache[""].items():
        if name not in artifacts:
            artifacts[name] = _view(name, None, meta)
    return Registry(root, artifacts, arts, refs, _gto_stages(root))


# --- operations: each creates one annotated tag, as GTO would ---------------------


def _resolve(root: Path, ref: str) -> str:
    sha = git.resolve(root, ref)
    if sha is None:
        raise UsageError(f"unknown revision '{ref}': not a commit in {root}")
    return sha


def _newest_ts(registry: Registry, name: str) -> int:
    return max((t.ts for t in registry._refs.tags if t.info.name == name), default=0)


def _create_tag(
    root: Path, registry: Registry, name: str, tag: str, commit: str, message: str
) -> None:
    if tag in registry._refs.names:
        raise UsageError(f"tag '{tag}' exists already")
    from mlci import ci

    env = ci.git_env(root)  # in Actions: the bot's identity when the runner has none
    now = int(dt.datetime.now(dt.UTC).timestamp())
    newest = _newest_ts(registry, name)
    if now <= newest:
        # GTO orders tags by their date, to the second: keep this one strictly newer
        env["GIT_COMMITTER_DATE"] = f"{newest + 1} +0000"
    git.create_tag(root, tag, commit, message, env=env)


def push_tag(root: Path, tag: str) -> None:
    """`git push origin TAG`; a failure is a ServiceError (the tag stays local)."""
    from mlci import ci

    # in Actions the checkout keeps no credentials: git gets GITHUB_TOKEN from the environment
    git.push_tag(root, tag, env=ci.git_env(root))


def _known(registry: Registry, root: Path, name: str) -> None:
    _check_fullname(name)
    if name in registry.artifacts:
        return
    if ":" in name and _meta(root, name, {}) is not None:
        return
    raise UsageError(
        f"unknown artifact '{name}': not in dvc.yaml `artifacts:` and never tagged",
        hint=f"declare it in dvc.yaml:\nartifacts:\n  {name.rpartition(':')[2]}:\n    type: model\n    path: ...",
    )


def register(
    root: Path,
    name: str,
    *,
    version: str | None = None,
    bump: Bump = "patch",
    ref: str = "HEAD",
    push: bool = False,
    message: str | None = None,
) -> str:
    """Tag `NAME@vX.Y.Z` on `ref`; the version is `version` or the highest one bumped.

    The first version is v0.0.1, v0.1.0 or v1.0.0 for a patch, minor or major
    bump. Refused (UsageError): an unknown artifact, a version that exists,
    and a commit that already carries a version of the artifact (GTO allows
    one version per commit).
    """
    root = Path(root)
    registry = load(root)
    _known(registry, root, name)
    commit = _resolve(root, ref)
    art = registry._arts.get(name)
    ever = [v for v in art.versions if not v.discovered] if art else []
    for ver in ever:
        if ver.commit == commit:
            state = "carried" if not ver.is_active else "has"
            raise UsageError(
                f"commit {commit[:7]} {state} {name} {ver.version} already"
                + (" (deregistered)" if not ver.is_active else ""),
                hint="GTO allows one version per commit: register a new commit",
            )
    if version is not None:
        if reason := _check_version(version):
            raise UsageError(reason)
        for ver in ever:
            if ver.version == version:
                raise UsageError(
                    f"{name} {version} is already registered on commit {ver.commit[:7]}"
                )
    else:
        highest = _sort_semver(ever)
        version = _bumped(highest[0].version if highest else None, bump)
    tag = f"{name_to_tag(name)}@{version}"
    _create_tag(
        root,
        registry,
        name,
        tag,
        commit,
        message or f"Registering artifact {name} version {version}",
    )
    if push:
        push_tag(root, tag)
    return tag


def _default_branch_ref(root: Path) -> str:
    branch = git.default_branch(root)
    for candidate in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"):
        if git.resolve(root, candidate) is not None:
            return candidate
    raise UsageError(
        f"cannot check a protected stage: no branch '{branch}' (nor origin/{branch})",
        hint="fetch the default branch (in GitHub Actions: actions/checkout with fetch-depth: 0)",
    )


def _registered(registry: Registry, name: str, version: str) -> _Ver:
    art = registry._arts.get(name)
    registry.artifact(name)  # unknown artifact: UsageError
    for ver in art.versions if art else []:
        if ver.version == version and not ver.discovered:
            if not ver.is_active:
                raise UsageError(f"{name} {version} is deregistered")
            return ver
    known = ", ".join(v.version for v in registry.artifacts[name].versions) or "none"
    raise UsageError(f"{name} has no version {version} (registered: {known})")


def _assign(
    root: Path, registry: Registry, name: str, stage: str, ver: _Ver, message: str, push: bool
) -> str:
    counter = registry._refs.counters.get(name, 0) + 1
    tag = f"{name_to_tag(name)}#{stage}#{counter}"
    _create_tag(root, registry, name, tag, ver.commit, message)
    if push:
        push_tag(root, tag)
    return tag


def promote(
    root: Path,
    name: str,
    version: str,
    stage: str,
    *,
    cfg: ReleaseConfig,
    force: bool = False,
    push: bool = False,
) -> str:
    """Tag `NAME#STAGE#N` on the version's commit, after the release policy allows it.

    Policy (force skips it): the version must have been in the stage before
    `stage` in cfg.stages; a cfg.protected stage takes only commits on the
    default branch; the version must not hold the stage already.
    """
    root = Path(root)
    if stage not in cfg.stages:
        raise UsageError(
            f"unknown stage '{stage}' (allowed: {', '.join(cfg.stages)})",
            hint="stages are set by [tool.mlci.release] stages",
        )
    registry = load(root)
    ver = _registered(registry, name, version)
    if not force:
        position = cfg.stages.index(stage)
        if position > 0:
            before = cfg.stages[position - 1]
            held = ver.stages.get(before)
            if held is None or not held.assignments:
                raise UsageError(
                    f"{name} {version} has never been in {before}: promote it to {before} first",
                    hint="or pass --force to skip the release policy",
                )
        if stage in cfg.protected:
            branch = _default_branch_ref(root)
            if not git.is_ancestor(root, ver.commit, branch):
                shown = branch.removeprefix("refs/remotes/").removeprefix("refs/heads/")
                raise UsageError(
                    f"{stage} is protected: {name} {version} (commit {ver.commit[:7]}) is not on {shown}",
                    hint="merge it first, or pass --force",
                )
        current = registry.artifacts[name].stages.get(stage)
        if current is not None and current.current == version:
            raise UsageError(
                f"{name} {version} is in {stage} already", hint="pass --force to tag it again"
            )
    message = f"Assigning stage {stage} to artifact {name} version {version}"
    return _assign(root, registry, name, stage, ver, message, push)


def _holder_before(
    registry: Registry, name: str, stage: str, tag: str, current: str
) -> tuple[str, str]:
    """(version, its assignment tag) that held `stage` before `tag`, skipping `current`."""
    tags = registry._refs.tags
    cut = next(i for i, t in enumerate(tags) if t.info.tag == tag)
    while True:
        art = _fold(tags[:cut], registry._refs.commits).get(name)
        held = art.stage_holders.get(stage) if art else None
        if not held:
            raise UsageError(
                f"nothing to roll back to: no version held {stage} before {tag}",
                hint="a stage tag can be undone with `gto unassign`",
            )
        if held[0].version != current:
            return held[0].version, held[0].authoring.tag
        earlier = held[0].authoring.tag
        cut = next(i for i, t in enumerate(tags) if t.info.tag == earlier)


@dataclass(frozen=True)
class RollbackPlan:
    """What `rollback(NAME, STAGE)` would do, read from the tags; nothing written yet.

    `version` is the version that holds `stage` once the rollback is done; `done`
    says the current assignment is already a rollback (of `rolled_back`), so no
    tag is needed.
    """

    name: str
    stage: str
    current: str  # the version holding the stage now
    current_tag: str  # its assignment tag
    version: str
    commit: str
    version_tag: str  # the registration tag of `version`
    done: bool
    rolled_back: str | None = None


def plan_rollback(root: Path, name: str, stage: str) -> RollbackPlan:
    """The version `stage` goes back to, or that it went back already (UsageError: nothing to)."""
    root = Path(root)
    registry = load(root)
    artifact = registry.artifact(name)
    art = registry._arts.get(name)
    held = art.stage_holders.get(stage) if art else None
    if not held:
        raise UsageError(f"{name} has no version in {stage}: nothing to roll back")
    current = held[0]
    assignment = current.authoring
    if marker := _ROLLBACK_RE.search(assignment.message):
        done = artifact.version(current.version)
        return RollbackPlan(
            name,
            stage,
            current.version,
            assignment.tag,
            current.version,
            current.commit,
            done.tag if done else "",
            done=True,
            rolled_back=marker["tag"],
        )
    previous, _ = _holder_before(registry, name, stage, assignment.tag, current.version)
    versions = art.versions if art else []
    ver = next((v for v in versions if v.version == previous and not v.discovered), None)
    target = artifact.version(previous)
    if ver is None or target is None:
        raise UsageError(
            f"{stage} was held by {previous} before, which is not a registered version"
        )
    if not ver.is_active:
        raise UsageError(f"{stage} was held by {name} {previous} before, which is deregistered now")
    return RollbackPlan(
        name, stage, current.version, assignment.tag, previous, ver.commit, target.tag, done=False
    )


def apply_rollback(root: Path, plan: RollbackPlan, *, push: bool = False) -> str:
    """Write the stage tag a plan calls for (none when it is done already); returns the tag."""
    if plan.done:
        return plan.current_tag
    root = Path(root)
    registry = load(root)
    ver = _registered(registry, plan.name, plan.version)
    message = (
        f"Assigning stage {plan.stage} to artifact {plan.name} version {plan.version} "
        f"(rollback of {plan.current_tag})"
    )
    return _assign(root, registry, plan.name, plan.stage, ver, message, push)


def delete_tag(root: Path, tag: str) -> None:
    """Remove a local tag (one made by this process and not pushed: an undo)."""
    git.delete_tag(Path(root), tag)


def rollback(root: Path, name: str, stage: str, *, push: bool = False) -> str:
    """Give `stage` back to the version that held it before the current assignment.

    Only the tag: `mlci rollback` (release/deploy.py) also moves the MLflow alias.
    Returns the new tag; when the current assignment is itself a rollback,
    nothing is tagged and the current tag is returned.
    """
    return apply_rollback(root, plan_rollback(root, name, stage), push=push)
