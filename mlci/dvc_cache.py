"""DVC's local cache, read by hash without importing DVC.

Where the cache is (`.dvc/config`, `.dvc/config.local`: `[cache] dir`), its two
layouts (DVC 3: `files/md5/ab/cdef…`; DVC 2: `ab/cdef…`), and the `.dir`
manifests that list the files of a directory output.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

__all__ = ["Cache"]

_SECTION = re.compile(r"^\s*\[\s*(?P<name>[^\]]+?)\s*\]\s*$")
_DIR = re.compile(r"^\s*dir\s*=\s*(?P<value>.+?)\s*$")


def _configured_dir(dvc_dir: Path) -> Path | None:
    """`[cache] dir` of the config files, the local one winning; relative to `.dvc/`."""
    found: Path | None = None
    for name in ("config", "config.local"):
        try:
            text = (dvc_dir / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        section = ""
        for line in text.splitlines():
            if match := _SECTION.match(line):
                section = match["name"].strip("'\"")
            elif section == "cache" and (match := _DIR.match(line)):
                value = match["value"].strip("'\"")
                found = Path(os.path.expanduser(value))
                found = found if found.is_absolute() else dvc_dir / found
    return found


class Cache:
    """Objects of the local DVC cache by hash: file contents and directory manifests."""

    def __init__(self, root: Path) -> None:
        self.dir = _configured_dir(root / ".dvc") or root / ".dvc" / "cache"
        self._manifests: dict[str, list[tuple[str, str]] | None] = {}

    def path(self, digest: str, *, legacy: bool = False) -> Path:
        base = self.dir if legacy else self.dir / "files" / "md5"
        return base / digest[:2] / digest[2:]

    def _paths(self, digest: str) -> list[Path]:
        return [self.path(digest), self.path(digest, legacy=True)]

    def has(self, digest: str) -> bool:
        return any(p.is_file() for p in self._paths(digest))

    def read(self, digest: str) -> bytes | None:
        for path in self._paths(digest):
            try:
                return path.read_bytes()
            except OSError:
                continue
        return None

    def manifest(self, digest: str) -> list[tuple[str, str]] | None:
        """(relpath, md5) of each file of a directory output; None when not in the cache."""
        if digest in self._manifests:
            return self._manifests[digest]
        raw = self.read(digest) if digest.endswith(".dir") else None
        entries: list[tuple[str, str]] | None = None
        if raw is not None:
            try:
                document = json.loads(raw)
                entries = [
                    (str(e["relpath"]).replace("\\", "/"), str(e.get("md5", "")))
                    for e in document
                    if isinstance(e, dict) and "relpath" in e
                ]
            except (ValueError, TypeError):
                entries = None
        self._manifests[digest] = entries
        return entries
