"""What `mlci run` would do with each stage: leave it, restore it, or run its command.

Decided stage by stage in DVC's order, the way `dvc repro --pull` decides after
`dvc fetch --run-cache` (dvc/stage/__init__.py `reproduce`, dvc/stage/run.py
`run_stage`, dvc/stage/cache.py `StageCache.restore`), with DVC's own pieces: a
stage's `changed*` checks, the stage-cache key (`_can_hash`, `_get_stage_hash`),
the local entry (`StageCache._load`), the entry's outputs (`_create_stage`,
`outs_cached`), the remote's objects (`DataCloud.status`). What is simulated is
the workspace as the stages before will leave it: a dependency that an earlier
stage restores is given the hash that stage's entry records, as DVC would see it
after the checkout. A stage that depends on one that runs, runs (its inputs are
not known before). A dependency that overlaps a restored output without being it
(a file inside a restored folder) is not resolved: the stage is planned to run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from mlci.errors import ServiceError
from mlci.plan.graph import Node

__all__ = ["Action", "Outcome", "decide"]

Action = Literal["run", "restore", "unchanged"]


@dataclass
class Outcome:
    action: Action
    outs: dict[str, Any] = field(default_factory=dict)  # fs path -> DVC's out, as left
    why: str = ""


_RUN: Action = "run"


class _Remote:
    """The remote's run-cache entries and objects, read with DVC's filesystem of it."""

    def __init__(self, repo: Any, name: str, *, run_cache: bool) -> None:
        self.repo = repo
        self.name = name
        self.run_cache = run_cache
        self._odb: Any = None

    def _fail(self, what: str, exc: BaseException) -> ServiceError:
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        return ServiceError(f"DVC remote '{self.name}': cannot {what}: {text}")

    def entry(self, key: str) -> dict[str, Any] | None:
        """The run-cache entry for `key` under `<remote>/runs/`, as `dvc fetch --run-cache` gets it."""
        if not self.run_cache:
            return None
        from dvc.exceptions import DvcException
        from dvc.schema import COMPILED_LOCK_FILE_STAGE_SCHEMA
        from dvc.utils.serialize import parse_yaml
        from voluptuous import Invalid

        try:
            if self._odb is None:
                self._odb = self.repo.cloud.get_remote_odb(
                    self.name, "fetch --run-cache", hash_name="md5-dos2unix"
                )
            fs = self._odb.fs
            folder = fs.join(self._odb.path, "runs", key[:2], key)
            found = sorted(fs.find(folder)) if fs.exists(folder) else []
            for path in found:
                text = fs.cat_file(path)
                text = text.decode("utf-8") if isinstance(text, bytes) else text
                with contextlib.suppress(Invalid, DvcException):  # corrupted: DVC skips it too
                    entry: dict[str, Any] = COMPILED_LOCK_FILE_STAGE_SCHEMA(parse_yaml(text, path))
                    return entry
        except Exception as exc:
            raise self._fail("read its run-cache", exc) from None
        return None

    def has(self, stage: Any) -> bool:
        """Whether the remote holds every object of the stage's outputs."""
        try:
            used = stage.get_used_objs(remote=self.name)
            objs = {obj for group in used.values() for obj in group}
            if not objs:
                return True
            status = self.repo.cloud.status(objs, remote=self.name)
        except Exception as exc:
            raise self._fail("list its objects", exc) from None
        return not status.missing and not status.new


def _local_has(stage: Any) -> bool:
    try:
        return bool(stage.outs_cached())
    except Exception:  # an entry whose outputs cannot even be described: not restorable
        return False


def _overlaps(path: str, others: Iterable[str]) -> bool:
    return any(
        path != other and (path.startswith(other + os.sep) or other.startswith(path + os.sep))
        for other in others
    )


def _data_source(stage: Any) -> Outcome:
    outs = {out.fs_path: out for out in stage.outs}
    if stage.frozen or not stage.changed():
        return Outcome("unchanged", outs)
    return Outcome("restore", outs, "checked out from the cache or the remote")


def _expected_deps(stage: Any, expected: dict[str, Any]) -> bool:
    """Give each dependency the hash it will have when the stage's turn comes (False: cannot)."""
    for dep in stage.deps:
        if dep.fs_path in expected:
            out = expected[dep.fs_path]
            dep.hash_info, dep.meta = out.hash_info, out.meta
            dep.get_hash = lambda hash_info=out.hash_info: hash_info
        else:
            try:
                dep.save()  # what DVC's `save_deps` does before it looks the stage up
            except Exception:  # a missing dependency: DVC runs the stage (and fails there)
                return False
    return True


def _outs(stage: Any) -> dict[str, Any]:
    return {out.fs_path: out for out in stage.outs}


def _available(stage: Any, remote: _Remote | None) -> bool:
    return _local_has(stage) or (remote is not None and remote.has(stage))


def _from_run_cache(
    repo: Any, stage: Any, expected: dict[str, Any], remote: _Remote | None
) -> Outcome:
    """DVC's `StageCache.restore` for inputs dvc.lock does not record: an entry, or a run."""
    from dvc.stage.cache import _can_hash, _get_stage_hash

    if not _expected_deps(stage, expected):
        return Outcome(_RUN, why="a dependency is missing")
    if not _can_hash(stage):
        return Outcome(_RUN, why="DVC's run-cache cannot hold this stage")
    entry = repo.stage_cache._load(stage)
    where = "local run-cache"
    if entry is None and remote is not None:
        entry, where = remote.entry(_get_stage_hash(stage)), f"run-cache of '{remote.name}'"
    if entry is None:
        return Outcome(_RUN, why="no run-cache entry for its inputs")
    cached = repo.stage_cache._create_stage(entry, wdir=stage.wdir)
    if _available(cached, remote):
        return Outcome("restore", _outs(cached), where)
    return Outcome(_RUN, why="the run-cache entry's outputs are in no cache")


def _command_stage(
    repo: Any, stage: Any, expected: dict[str, Any], remote: _Remote | None
) -> Outcome:
    from dvc.stage.cache import _can_hash

    if any(_overlaps(dep.fs_path, expected) for dep in stage.deps):
        return Outcome(_RUN, why="a dependency overlaps an output restored before it")
    if stage.frozen:
        return Outcome("unchanged", _outs(stage))

    def dep_changed(dep: Any) -> bool:
        if dep.fs_path in expected:
            return bool(dep.hash_info != expected[dep.fs_path].hash_info)
        return bool(dep.status())

    lock_matches = not (
        stage.always_changed or stage.changed_stage() or any(dep_changed(d) for d in stage.deps)
    )
    if not lock_matches or not all(out.hash_info for out in stage.outs):
        return _from_run_cache(repo, stage, expected, remote)
    if not stage.changed_outs():
        return Outcome("unchanged", _outs(stage))
    # dvc.lock records these inputs: its outputs come from the cache (`dvc repro --pull`
    # pulls them from the remote; without a remote, the stage must be one DVC can hash)
    if (remote is not None or _can_hash(stage)) and _available(stage, remote):
        return Outcome("restore", _outs(stage), "dvc.lock")
    return Outcome(_RUN, why="the outputs dvc.lock records are in no cache")


def decide(
    repo: Any, nodes: list[Node], remote: str | None = None, *, run_cache: bool = True
) -> dict[str, Outcome]:
    """Each stage's outcome, in DVC's order; `remote` is the DVC remote `mlci run` pulls from."""
    reader = _Remote(repo, remote, run_cache=run_cache) if remote else None
    outcomes: dict[str, Outcome] = {}
    for node in nodes:
        before = [outcomes[name] for name in node.needs]
        stage = node.stage
        if any(o.action == _RUN for o in before):
            outcomes[node.name] = Outcome(_RUN, why="a stage it depends on runs")
            continue
        if not stage.cmd:
            outcomes[node.name] = _data_source(stage)
            continue
        expected = {
            path: out for o in before if o.action == "restore" for path, out in o.outs.items()
        }
        outcomes[node.name] = _command_stage(repo, stage, expected, reader)
    return outcomes
