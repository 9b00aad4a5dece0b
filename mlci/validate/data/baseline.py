"""The base revision's data: a dataset as of a git revision, from git's objects or, by hash,
from DVC's cache (fetching a missing object from the remote once per out)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path, PurePosixPath
from typing import Any

from mlci.config import Config, DatasetConfig
from mlci.errors import ServiceError, UsageError
from mlci.validate.data.readers import combine, is_glob, read_table

__all__ = ["base_frame"]


def _matches(path: str, pattern: str) -> bool:
    if not is_glob(pattern):
        return path == pattern
    if "**" in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    parts, wanted = PurePosixPath(path).parts, PurePosixPath(pattern).parts
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=True)
    )


def _cache_path(root: Path, digest: str) -> Path:
    return root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]


def _cache_read(root: Path, digest: str) -> bytes | None:
    try:
        return _cache_path(root, digest).read_bytes()
    except OSError:
        return None


def _dvc_file_outs(tree: Any) -> dict[str, str]:
    """Outs of the `.dvc` files of a revision: path -> md5 (for repos without dvc.yaml)."""
    import yaml

    outs: dict[str, str] = {}
    for relpath in tree.files(".dvc"):
        raw = tree.read(relpath)
        try:
            document = yaml.safe_load(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, yaml.YAMLError):
            continue
        folder = str(PurePosixPath(relpath).parent)
        for out in (document or {}).get("outs") or [] if isinstance(document, dict) else []:
            digest = out.get("md5") if isinstance(out, dict) else None
            if digest and out.get("path"):
                full = str(out["path"]) if folder == "." else f"{folder}/{out['path']}"
                outs[full] = str(digest)
    return outs


class _Fetcher:
    """Downloads missing cache objects of one revision, at most once per out."""

    def __init__(self, root: Path, cfg: Config, sha: str) -> None:
        self.root, self.cfg, self.sha = root, cfg, sha
        self.tried: set[str] = set()
        self.problem: str | None = None

    def read(self, digest: str, out: str) -> bytes | None:
        raw = _cache_read(self.root, digest)
        if raw is None and out not in self.tried:
            self.tried.add(out)
            self._fetch(out)
            raw = _cache_read(self.root, digest)
        return raw

    def _fetch(self, out: str) -> None:
        from mlci import dvc

        try:
            remote = dvc.resolve_remote(
                self.root, self.cfg.dvc.remote, self.cfg.dvc.embedded_remote
            )
        except UsageError as exc:
            self.problem = exc.message
            return
        if remote is None or (remote.embedded and not Path(remote.url).is_dir()):
            self.problem = "no DVC remote to fetch it from"
            return
        try:
            dvc.fetch_outputs(self.root, remote, self.sha, [out])
        except (ServiceError, UsageError) as exc:
            self.problem = exc.message


def _out_files(
    out: str, digest: str, pattern: str, fetcher: _Fetcher, missing: list[str]
) -> dict[str, bytes]:
    """The files of one DVC out that match the dataset's pattern, read from the cache."""
    wanted: dict[str, str] = {}
    if digest.endswith(".dir"):
        if not is_glob(pattern) and not pattern.startswith(out.rstrip("/") + "/"):
            return {}
        manifest = fetcher.read(digest, out)
        if manifest is None:
            missing.append(out)
            return {}
        try:
            entries = json.loads(manifest)
        except ValueError:
            return {}
        for entry in entries if isinstance(entries, list) else []:
            full = f"{out.rstrip('/')}/{entry.get('relpath', '')}"
            if entry.get("md5") and _matches(full, pattern):
                wanted[full] = str(entry["md5"])
    elif _matches(out, pattern):
        wanted[out] = digest
    found: dict[str, bytes] = {}
    for path, md5 in sorted(wanted.items()):
        raw = fetcher.read(md5, out)
        if raw is None:
            missing.append(path)
        else:
            found[path] = raw
    return found


def base_frame(root: Path, cfg: Config, dataset: DatasetConfig, sha: str) -> tuple[Any, str]:
    """The dataset as of revision `sha` (git objects, else DVC's cache by hash), or a note."""
    import pandas as pd  # type: ignore[import-untyped]

    from mlci import snapshot

    pattern = PurePosixPath(dataset.path).as_posix()
    short = sha[:8]
    try:
        snap = snapshot.take(root, sha, sha)
    except UsageError as exc:
        return None, f"cannot read revision {short}: {exc.message}"
    tree = snapshot.Tree(root, sha)
    contents: dict[str, bytes] = {}
    if not is_glob(pattern) and (raw := tree.read(pattern)) is not None:
        contents[pattern] = raw  # committed to git at that revision

    outs = {path: version.hash for path, version in snap.data.items() if version.hash}
    if not snap.has_pipeline:
        outs.update(_dvc_file_outs(tree))
    fetcher = _Fetcher(root, cfg, sha)
    missing: list[str] = []
    for out, digest in sorted(outs.items()) if not contents else []:
        contents.update(_out_files(out, digest, pattern, fetcher, missing))
    if not contents:
        if missing:
            why = f": {fetcher.problem}" if fetcher.problem else ""
            return None, f"{', '.join(missing)} at {short} is not in the local DVC cache{why}"
        return None, f"no file matches {pattern} at {short}"
    frames = []
    for path, raw in sorted(contents.items()):
        try:
            frames.append(read_table(raw, f"{path} at {short}", dataset))
        except UsageError as exc:
            return None, exc.message
    return combine(pd, frames, sorted(contents)).frame, ""
