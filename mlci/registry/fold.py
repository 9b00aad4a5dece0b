"""The tags folded into GTO's objects, in GTO's order (tagger date, then tag name).

Deprecations first, then registrations and deregistrations, then stage
assignments, then one commit event per version.
"""

from __future__ import annotations

from mlci.registry.gto_objects import GtoArtifact, GtoEvent, GtoStage, GtoVersion
from mlci.registry.refs import Commit, Tag


def _event(kind: str, tag: Tag, version: str | None = None) -> GtoEvent:
    return GtoEvent(
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

    def __init__(self, tags: list[Tag], commits: dict[str, Commit]) -> None:
        self.arts: dict[str, GtoArtifact] = {}
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

    def art(self, name: str) -> GtoArtifact:
        if name not in self.arts:
            self.arts[name] = GtoArtifact(name)
        return self.arts[name]

    def version(self, tag: Tag) -> None:
        info = tag.info
        version = info.version or ""
        art = self.art(info.name)
        ver = art.registered_at.get((version, tag.commit))
        if ver is None:
            ver = art.registered_at[version, tag.commit] = GtoVersion(
                info.name, version, tag.commit
            )
            art.versions.append(ver)
            art.by_commit.setdefault(tag.commit, []).append(ver)
        if info.action == "register":
            ver.registrations.append(_event("registration", tag, version))
        else:
            ver.deregistrations.append(_event("deregistration", tag, version))

    def stage(self, tag: Tag) -> None:
        info = tag.info
        stage = info.stage or ""
        art = self.art(info.name)
        found = art.by_commit.get(tag.commit)
        if found:
            ver = found[-1]  # GTO fails when one commit has several versions
        else:
            # GTO's way with a stage on an unregistered commit: the version is
            # named by the commit and created twice, once empty
            art.versions.append(GtoVersion(info.name, tag.commit, tag.commit))
            ver = GtoVersion(info.name, tag.commit, tag.commit)
            art.versions.append(ver)
        vstage = ver.stages.get(stage)
        if vstage is None:
            vstage = ver.stages[stage] = GtoStage(info.name, ver.commit, ver.version, stage)
        if info.action == "assign":
            vstage.assignments.append(_event("assignment", tag, ver.version))
        else:
            vstage.unassignments.append(_event("unassignment", tag, ver.version))


def _commit_event(artifact: str, ver: GtoVersion, commit: Commit) -> GtoEvent:
    return GtoEvent(
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


def fold(tags: list[Tag], commits: dict[str, Commit]) -> dict[str, GtoArtifact]:
    """GTO's artifacts, by name, from tags in time order."""
    return _Fold(tags, commits).arts
