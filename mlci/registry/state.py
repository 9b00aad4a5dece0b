"""The registry as mlci reads it: artifacts, versions and stages, and `gto show --json`.

`load()` reads every registry tag in one git call, folds them as GTO does, and
adds the artifacts dvc.yaml declares. `Registry.show()` returns what
`gto show --json` prints for the same repository. GTO itself is never
imported (it costs seconds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlci.errors import UsageError
from mlci.registry.declared import declarations, declared_meta, gto_stages
from mlci.registry.fold import fold
from mlci.registry.grammar import ROLLBACK_RE, SHORTCUT_RE
from mlci.registry.gto_objects import GtoArtifact, sort_semver, to_datetime
from mlci.registry.refs import Refs, read_refs


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
        match = ROLLBACK_RE.search(self.message)
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
    gto_artifacts: dict[str, GtoArtifact]  # GTO's objects, by artifact name
    refs: Refs  # the tags as read
    gto_stages: list[str] | None  # `stages:` of .gto, which `gto show` honours

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
        stages = self.gto_stages
        if stages is None:
            stages = sorted({s for a in self.gto_artifacts.values() for s in a.stage_holders})
        shown: dict[str, Any] = {}
        for art in self.gto_artifacts.values():
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
                if a.name not in self.gto_artifacts:
                    shown[a.name] = {
                        "version": None,
                        "stage": dict.fromkeys(stages),
                        "registered": False,
                        "active": True,
                    }
        return shown

    def _show_versions(self, name: str) -> list[dict[str, Any]]:
        shortcut = SHORTCUT_RE.fullmatch(name)
        base = shortcut["artifact"] if shortcut else name
        art = self.gto_artifacts.get(base)
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


def _view(name: str, art: GtoArtifact | None, meta: dict[str, Any] | None) -> Artifact:
    if art is None:
        return Artifact(name, dict(meta or {}), meta is not None, False, None, [], {})
    versions = []
    for ver in sort_semver([v for v in art.versions if not v.discovered]):
        source = ver.authoring if ver.registrations else ver.deregistrations[-1]
        versions.append(
            Version(
                name,
                ver.version,
                ver.commit,
                to_datetime(source.ts, source.offset),
                source.author,
                source.author_email,
                source.tag,
                source.message,
                deregistered=not ver.is_active,
            )
        )
    history: dict[str, list[tuple[int, StageEvent]]] = {}
    for ver in art.versions:
        for vstage in ver.stages.values():
            for ev in vstage.assignments + vstage.unassignments:
                history.setdefault(vstage.stage, []).append(
                    (
                        ev.ts,
                        StageEvent(
                            "assign" if ev.kind == "assignment" else "unassign",
                            ver.version,
                            ver.commit,
                            ev.tag,
                            ev.counter,
                            to_datetime(ev.ts, ev.offset),
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


def load(root: Path) -> Registry:
    """Every registry tag of the repository at `root`, read in one git call and folded."""
    root = Path(root)
    refs = read_refs(root)
    arts = fold(refs.tags, refs.commits)
    cache: dict[str, dict[str, dict[str, Any]]] = {"": declarations(root)}
    artifacts = {
        name: _view(name, art, declared_meta(root, name, cache)) for name, art in arts.items()
    }
    for name, meta in cache[""].items():
        if name not in artifacts:
            artifacts[name] = _view(name, None, meta)
    return Registry(root, artifacts, arts, refs, gto_stages(root))
