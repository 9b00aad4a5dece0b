"""What is declared beside the tags: dvc.yaml `artifacts:` and the `stages:` of .gto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlci.dvc import load_yaml


def declarations(root: Path, directory: str = "") -> dict[str, dict[str, Any]]:
    """The `artifacts:` of DIRECTORY/dvc.yaml, by name ({} without one)."""
    path = root / directory / "dvc.yaml"
    if not path.is_file():
        return {}
    document = load_yaml(path, root=root)
    artifacts = document.get("artifacts") if isinstance(document, dict) else None
    if not isinstance(artifacts, dict):
        return {}
    return {str(k): dict(v) if isinstance(v, dict) else {} for k, v in artifacts.items()}


def declared_meta(
    root: Path, name: str, cache: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any] | None:
    """The dvc.yaml declaration of `name` (`dir:name` reads dir/dvc.yaml); `cache` by directory."""
    directory, _, base = name.rpartition(":")
    if directory not in cache:
        cache[directory] = declarations(root, directory)
    return cache[directory].get(base)


def gto_stages(root: Path) -> list[str] | None:
    """The `stages:` of .gto, which `gto show` lists in that order; None without one."""
    path = root / ".gto"
    if not path.is_file():
        return None
    config = load_yaml(path, root=root)
    stages = config.get("stages") if isinstance(config, dict) else None
    return [str(s) for s in stages] if isinstance(stages, list) else None
