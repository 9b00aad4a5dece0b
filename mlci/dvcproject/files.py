"""The files of one revision as DVC sees them: git (or the workspace), then DVC's cache.

A path that git does not hold may be an output DVC tracks: a file out read from the cache
by its hash, or a file inside a directory out, found in the directory's `.dir` manifest.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlci.dvcproject.formats import ParseFailure, load_yaml

__all__ = ["Cache", "Files", "Out", "TreeLike"]


class TreeLike(Protocol):
    sha: str | None

    def read(self, relpath: str) -> bytes | None: ...

    def files(self, suffix: str) -> list[str]: ...


@dataclass(frozen=True)
class Out:
    path: str  # repo-relative
    md5: str | None  # "…" for a file, "….dir" for a directory
    legacy: bool  # a DVC 2 hash (cache/<xx>/…), not DVC 3's cache/files/md5/<xx>/…
    source: str  # the dvc.lock or .dvc file that names it


class Cache:
    """DVC's local cache, read by hash (DVC 3 layout, and DVC 2's for legacy hashes)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / ".dvc" / "cache"
        self._manifests: dict[str, dict[str, tuple[str, bool]] | None] = {}

    def read(self, md5: str, legacy: bool = False) -> bytes | None:
        folder = self.dir if legacy else self.dir / "files" / "md5"
        for base in (folder, self.dir / "files" / "md5", self.dir):
            try:
                return (base / md5[:2] / md5[2:]).read_bytes()
            except OSError:
                continue
        return None

    def manifest(self, md5: str, legacy: bool = False) -> dict[str, tuple[str, bool]] | None:
        """A directory out's files: relative path -> (md5, legacy); None when not cached."""
        if md5 not in self._manifests:
            raw = self.read(md5, legacy)
            entries: dict[str, tuple[str, bool]] | None = None
            if raw is not None:
                try:
                    listing = json.loads(raw)
                    entries = {
                        str(e["relpath"]): (str(e["md5"]), legacy)
                        for e in listing
                        if isinstance(e, dict) and "relpath" in e and "md5" in e
                    }
                except (ValueError, TypeError):
                    entries = None
            self._manifests[md5] = entries
        return self._manifests[md5]


def _hash(entry: dict[str, object]) -> tuple[str | None, bool]:
    md5 = entry.get("md5") or entry.get("etag") or entry.get("checksum")
    legacy = "hash" not in entry  # DVC 3 writes `hash: md5`; DVC 2 did not
    return (str(md5) if md5 else None), legacy


@dataclass
class Files:
    """Reads paths of one revision; `missing` says why a DVC-tracked one could not be read."""

    tree: TreeLike
    cache: Cache
    listing: list[str] = field(default_factory=list)
    outs: dict[str, Out] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[str, int | None, str]] = field(default_factory=list)
    workspace: Path | None = None  # the working tree's root, when reading the workspace

    @classmethod
    def open(cls, tree: TreeLike, cache: Cache, workspace: Path | None = None) -> Files:
        listing = None
        if workspace is not None:
            from mlci import git

            listing = git.worktree_files(workspace)
        files = cls(tree, cache, listing if listing is not None else tree.files(""))
        files.workspace = workspace
        files._index_outs()
        return files

    def _index_outs(self) -> None:
        for path in self.listing:
            name = posixpath.basename(path)
            if name == "dvc.lock":
                self._lock(path)
            elif name.endswith(".dvc") and not path.startswith(".dvc/"):
                self._dvc_file(path)

    def _document(self, path: str) -> dict[str, Any] | None:
        raw = self.tree.read(path)
        if raw is None:
            return None
        try:
            document = load_yaml(raw.decode("utf-8", "replace"))
        except ParseFailure as exc:
            self.problems.append((path, exc.line, exc.message))
            return None
        return document if isinstance(document, dict) else None

    def _add(self, path: str, entry: object, source: str) -> None:
        if isinstance(entry, dict) and "path" in entry:
            md5, legacy = _hash(entry)
            full = posixpath.normpath(posixpath.join(path, str(entry["path"])))
            self.outs[full] = Out(full, md5, legacy, source)

    def _lock(self, path: str) -> None:
        document = self._document(path)
        folder = posixpath.dirname(path)
        stages = (document or {}).get("stages")
        for name, stage in stages.items() if isinstance(stages, dict) else ():
            outs = stage.get("outs") if isinstance(stage, dict) else None
            if outs is not None and not isinstance(outs, list):
                # DVC's lockfile schema refuses it: `dvc diff` stops on this file
                self.problems.append((path, None, f"stage {name!r}: outs must be a list"))
                continue
            for out in outs or []:
                self._add(folder, out, path)

    def _dvc_file(self, path: str) -> None:
        document = self._document(path) or {}
        folder = posixpath.join(posixpath.dirname(path), str(document.get("wdir") or "."))
        outs = document.get("outs")
        for out in outs if isinstance(outs, list) else []:
            self._add(folder, out, path)

    # --- reading -----------------------------------------------------------------

    def _owner(self, path: str) -> Out | None:
        """The output that is `path` or holds it (a directory out)."""
        probe = path
        while probe not in ("", "."):
            if probe in self.outs:
                return self.outs[probe]
            parent = posixpath.dirname(probe)
            if parent == probe:  # "/" of an absolute path: nothing above it
                return None
            probe = parent
        return None

    def _git_dir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return [p for p in self.listing if p.startswith(prefix)]

    def isdir(self, path: str) -> bool:
        if self.workspace is not None and (self.workspace / path).is_dir():
            return True
        if self._git_dir(path):
            return True
        out = self.outs.get(path)
        return bool(out and out.md5 and out.md5.endswith(".dir"))

    def find(self, path: str) -> list[str]:
        """Every file under a directory: git's, and those of directory outs under it."""
        if self.workspace is not None and (self.workspace / path).is_dir():
            base = self.workspace / path
            return sorted(
                f"{path}/{p.relative_to(base).as_posix()}" for p in base.rglob("*") if p.is_file()
            )
        found = set(self._git_dir(path))
        prefix = path.rstrip("/") + "/"
        for out in self.outs.values():
            if not (out.path == path or out.path.startswith(prefix)):
                continue
            if out.md5 and out.md5.endswith(".dir"):
                manifest = self.cache.manifest(out.md5, out.legacy)
                if manifest is None:
                    if not self._git_dir(out.path):
                        self.missing[out.path] = self._why_missing(out)
                    # else a `cache: false` directory: git holds its files (found above),
                    # and no cache holds a manifest of it; DVC reads them from git too
                    continue
                found.update(f"{out.path}/{rel}" for rel in manifest)
            else:
                found.add(out.path)
        return sorted(found)

    def _why_missing(self, out: Out) -> str:
        return f"not in the local DVC cache ({(out.md5 or '')[:8]}); --pull fetches it"

    def read(self, path: str) -> bytes | None:
        raw = self.tree.read(path)
        if raw is not None:
            return raw
        out = self._owner(path)
        if out is None or not out.md5:
            return None
        if out.path == path:
            if out.md5.endswith(".dir"):
                return None
            raw = self.cache.read(out.md5, out.legacy)
        else:
            manifest = (
                self.cache.manifest(out.md5, out.legacy) if out.md5.endswith(".dir") else None
            )
            if manifest is None:
                if out.md5.endswith(".dir"):
                    self.missing[path] = self._why_missing(out)
                return None
            entry = manifest.get(posixpath.relpath(path, out.path))
            if entry is None:
                return None
            raw = self.cache.read(*entry)
        if raw is None:
            self.missing[path] = self._why_missing(out)
        return raw

    def exists(self, path: str) -> bool:
        if self.tree.read(path) is not None or self.isdir(path):
            return True
        return self._owner(path) is not None
