"""mlci's JSON files under the state dir (`.mlci/`), written whole or not at all.

Write-then-rename: a crash or an interrupt never leaves half a file for the report, the
join or the next run to trip on.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["write_json"]


def write_json(path: Path, document: Any, *, sort_keys: bool = True) -> Path:
    """`document` as indented JSON at `path`, its folder made; the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=sort_keys, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
