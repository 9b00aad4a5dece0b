"""The data versions of two revisions compared as `dvc diff A B` compares them.

DVC walks an index of the outputs of both revisions: each cached output (never a
`cache: false` one, nor one outside the repository), and, for a directory output
whose `.dir` manifest is in the cache, every file in it. A directory is written
with a trailing `/`. An output added at one path and deleted at another with the
same hash is a rename. When the manifest of a changed directory is missing on
either side, DVC cannot say which files changed and lists the directory alone:
so does this. No I/O here: manifests come from the `manifest` function given.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from mlci.data_versions import DataVersion

__all__ = ["DataChange", "DataStatus", "Manifest", "diff"]

DataStatus = Literal["added", "deleted", "modified", "renamed", "unchanged"]
Manifest = Callable[[str], "list[tuple[str, str]] | None"]  # .dir hash -> (relpath, md5)
Key = tuple[str, ...]


@dataclass
class DataChange:
    path: str  # as `dvc diff` prints it: a directory ends with "/"; renamed: the new path
    status: DataStatus
    base: DataVersion | None
    head: DataVersion | None
    old_path: str | None = None  # renamed: the path at base
    within: str | None = None  # a file inside this directory output ("data/")


@dataclass
class _Entry:
    key: Key
    hash: str | None
    isdir: bool
    legacy: bool = False
    version: DataVersion | None = None  # the output itself; None inside a directory or above one
    output: str | None = None  # the directory output a file belongs to
    loaded: bool = False

    @property
    def hash_info(self) -> tuple[str, str] | None:
        return ("md5-dos2unix" if self.legacy else "md5", self.hash) if self.hash else None


class _Unknown(Exception):
    """A directory whose manifest is not in the cache: its files cannot be listed."""


class _Index:
    def __init__(self, outputs: Iterable[DataVersion], manifest: Manifest | None) -> None:
        self.entries: dict[Key, _Entry] = {}
        self.nodes: dict[Key, set[Key]] = defaultdict(set)
        self.manifest = manifest
        for out in outputs:
            key = _key(out.path)
            self._put(_Entry(key, out.hash, out.isdir, out.legacy, version=out))
            for end in range(1, len(key)):
                self._parent(key[:end])

    def _put(self, entry: _Entry) -> None:
        self.entries[entry.key] = entry
        for end in range(1, len(entry.key) + 1):
            self.nodes[entry.key[: end - 1]].add(entry.key[:end])

    def _parent(self, key: Key) -> None:
        if key not in self.entries:
            self._put(_Entry(key, None, True))

    def _load(self, entry: _Entry) -> None:
        if entry.loaded or not entry.hash or not entry.hash.endswith(".dir"):
            return
        files = self.manifest(entry.hash) if self.manifest else None
        if files is None:
            raise _Unknown
        output = "/".join(entry.key) + "/"
        for relpath, md5 in files:
            rel = tuple(p for p in relpath.split("/") if p)
            for end in range(1, len(rel)):
                self._parent((*entry.key, *rel[:end]))
            self._put(_Entry((*entry.key, *rel), md5 or None, False, entry.legacy, output=output))
        entry.loaded = True

    def info(self, key: Key) -> tuple[_Entry | None, bool] | None:
        """(entry, is a directory) of a node; None when there is none."""
        if key in self.entries:
            entry = self.entries[key]
            return entry, entry.isdir
        if key in self.nodes:
            return None, True
        return None

    def ls(self, key: Key) -> dict[Key, tuple[_Entry | None, bool]]:
        entry = self.entries.get(key)
        if entry is not None:
            self._load(entry)
        found: dict[Key, tuple[_Entry | None, bool]] = {}
        for child in self.nodes.get(key, ()):
            if (info := self.info(child)) is not None:
                found[child] = info
        return found


def _key(path: str) -> Key:
    return tuple(p for p in path.split("/") if p)


def _in_repo(out: DataVersion) -> bool:
    return out.cache and not out.path.startswith(("/", "../")) and out.path not in {"", ".."}


@dataclass(frozen=True)
class _Change:
    typ: Literal["add", "delete", "modify", "rename", "unchanged", "unknown"]
    old: _Entry | None
    new: _Entry | None


def _typ(old: _Entry | None, new: _Entry | None) -> Literal["add", "delete", "modify", "unchanged"]:
    if old is None:
        return "add" if new is not None else "unchanged"
    if new is None:
        return "delete"
    if old.isdir != new.isdir or old.hash_info != new.hash_info:
        return "modify"
    return "unchanged"


def _items(index: _Index, key: Key) -> tuple[dict[Key, tuple[_Entry | None, bool]], bool]:
    try:
        return index.ls(key), False
    except _Unknown:
        return {}, True


def _walk(old: _Index, new: _Index, roots: set[Key]) -> Iterator[_Change]:
    Level = tuple[
        dict[Key, tuple[_Entry | None, bool]], dict[Key, tuple[_Entry | None, bool]], bool
    ]
    todo: deque[Level] = deque()
    for root in sorted(roots):
        old_info, new_info = old.info(root), new.info(root)
        todo.append(
            ({root: old_info} if old_info else {}, {root: new_info} if new_info else {}, False)
        )
    while todo:
        old_items, new_items, unknown = todo.popleft()
        for key in sorted(old_items.keys() | new_items.keys()):
            old_entry, old_dir = old_items.get(key, (None, False))
            new_entry, new_dir = new_items.get(key, (None, False))
            same = (
                old_entry is not None
                and new_entry is not None
                and old_entry.hash_info is not None
                and _typ(old_entry, new_entry) == "unchanged"
            )
            # an unchanged directory has no changed file: its manifest need not be read
            if (old_dir or new_dir) and not same:
                old_children, old_unknown = _items(old, key) if key in old_items else ({}, False)
                new_children, new_unknown = _items(new, key) if key in new_items else ({}, False)
                todo.append((old_children, new_children, old_unknown or new_unknown))
            if old_entry is None and new_entry is None:
                continue
            yield _Change(
                "unknown" if unknown else _typ(old_entry, new_entry), old_entry, new_entry
            )


def _renames(changes: Iterable[_Change]) -> Iterator[_Change]:
    """Pair each added entry with a deleted one of the same hash, as DVC does."""
    added: list[_Change] = []
    deleted: list[_Change] = []
    for change in changes:
        if change.typ == "add":
            added.append(change)
        elif change.typ == "delete":
            deleted.append(change)
        else:
            yield change
    added.sort(key=lambda c: c.new.key if c.new else ())
    deleted.sort(key=lambda c: c.old.key if c.old else (), reverse=True)
    by_hash: dict[tuple[str, str] | None, list[_Change]] = defaultdict(list)
    for change in deleted:
        by_hash[change.old.hash_info if change.old else None].append(change)
    for change in added:
        info = change.new.hash_info if change.new else None
        if info and by_hash.get(info):
            yield _Change("rename", by_hash[info].pop().old, change.new)
        else:
            yield change
    for remaining in by_hash.values():
        yield from remaining


def _path(entry: _Entry) -> str:
    return "/".join(entry.key) + ("/" if entry.isdir else "")


def _version(entry: _Entry | None, side: DataVersion | None) -> DataVersion | None:
    if entry is None:
        return None
    if entry.version is not None:
        return entry.version
    return DataVersion(
        path="/".join(entry.key),
        hash=entry.hash,
        size=None,
        files=None,
        source=side.source if side else "",
        legacy=entry.legacy,
    )


_STATUS: dict[str, DataStatus] = {
    "add": "added",
    "delete": "deleted",
    "modify": "modified",
    "rename": "renamed",
    "unchanged": "unchanged",
}


def diff(
    base: Iterable[DataVersion],
    head: Iterable[DataVersion],
    *,
    manifest: Manifest | None = None,
    include_unchanged: bool = False,
) -> list[DataChange]:
    """What `dvc diff --json BASE HEAD` lists, one row per path, sorted by path."""
    old_outs = [o for o in base if _in_repo(o)]
    new_outs = [o for o in head if _in_repo(o)]
    old, new = _Index(old_outs, manifest), _Index(new_outs, manifest)
    roots = {_key(o.path) for o in (*old_outs, *new_outs)}
    outputs = {"/".join(_key(o.path)) + "/": o for o in (*old_outs, *new_outs) if o.isdir}
    rows: list[DataChange] = []
    for change in _renames(_walk(old, new, roots)):
        o, n = change.old, change.new
        if (o and o.isdir and not o.hash) or (n and n.isdir and not n.hash):
            continue  # folders above or inside outputs: not outputs themselves
        if change.typ == "unknown" or (change.typ == "unchanged" and not include_unchanged):
            continue
        entry = n if change.typ in {"add", "rename"} else o
        entry = entry or n or o
        assert entry is not None  # noqa: S101 (a change has one side at least)
        within = entry.output if entry.output else None
        rows.append(
            DataChange(
                path=_path(entry),
                status=_STATUS[change.typ],
                base=_version(o, outputs.get(o.output or "") if o else None),
                head=_version(n, outputs.get(n.output or "") if n else None),
                old_path=_path(o) if change.typ == "rename" and o else None,
                within=within,
            )
        )
    return sorted(rows, key=lambda r: (r.path, r.old_path or ""))


def shown(rows: list[DataChange], per_directory: int = 10) -> list[DataChange | tuple[str, int]]:
    """The rows a person reads: every output, and the first files changed in each directory
    output, then (directory, how many more) in place of the rest."""
    out: list[DataChange | tuple[str, int]] = []
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.within is None:
            out.append(row)
            continue
        counts[row.within] += 1
        if counts[row.within] <= per_directory:
            out.append(row)
    for directory, count in counts.items():
        if count > per_directory:
            last = max(
                i
                for i, r in enumerate(out)
                if isinstance(r, DataChange) and directory in (r.within, r.path)
            )
            out.insert(last + 1, (directory, count - per_directory))
    return out
