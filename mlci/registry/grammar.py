"""GTO's tag grammar: parse and check registry tags, name <-> tag, semantic versions.

Tag grammar (GTO's, `NAME` may be a monorepo path `dir:name`, written
`dir=name` in the tag; `N` is a counter, the artifact's highest + 1):

    NAME@vX.Y.Z[#N]        register version vX.Y.Z (semver; pre-release and
                           build parts allowed) of NAME at the tagged commit
    NAME@vX.Y.Z![#N]       deregister it
    NAME#STAGE[#N]         assign STAGE to the version at the tagged commit
    NAME#STAGE![#N]        unassign it
    NAME@deprecated[#N]    deprecate the artifact

GTO writes register, deregister and deprecate tags without a counter and
assign/unassign tags with one; it reads every form above, and so does
`parse_tag`. `check_tag` is the strict check for a tag about to be acted on:
stage tags must carry their counter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from mlci.errors import UsageError

Action = Literal["register", "deregister", "assign", "unassign", "deprecate"]
Bump = Literal["patch", "minor", "major"]

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
SHORTCUT_RE = re.compile(
    rf"(?P<artifact>(?:{_DIR}:)?{_NAME})"
    rf"(?:#(?P<stage>{_NAME})|@(?P<version>latest|greatest|v{_SEMVER}))"
)
ROLLBACK_RE = re.compile(r"\(rollback of (?P<tag>[^)\s]+)\)\s*$")
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
    """`dir:name` -> `dir=name`, as the name is written in a tag."""
    return name.replace(":", "=")


def tag_to_name(text: str) -> str:
    """`dir=name` in a tag -> the artifact name `dir:name`."""
    return text.replace("=", ":")


def match_tag(tag: str) -> re.Match[str] | None:
    """The tag read by GTO's grammar (NAME@created#N too), or None."""
    return _TAG_RE.fullmatch(tag)


def tag_info(tag: str, match: re.Match[str]) -> TagInfo | None:
    """The event a matched tag records; None for NAME@created, which records none."""
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
    match = match_tag(tag.removeprefix("refs/tags/"))
    return tag_info(match.string, match) if match else None


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


def check_version(version: str) -> str | None:
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
        return check_version(version) or "unexpected form"
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


def check_fullname(name: str) -> None:
    if not _FULLNAME_RE.fullmatch(name):
        raise UsageError(
            f"invalid artifact name '{name}': it must start and end with a letter or digit "
            "and use only letters, digits, '-', '_' and '/' (a monorepo path: dir:name)"
        )


def semver_key(version: str) -> tuple[Any, ...] | None:
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


def bumped(version: str | None, bump: Bump) -> str:
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
