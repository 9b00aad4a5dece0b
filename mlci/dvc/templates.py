"""Templated dvc.yaml files and Python params files, resolved by DVC's own code.

DVC is imported inside the functions only, when a project uses these features.
"""

from __future__ import annotations

import io
import posixpath
from typing import Any, ClassVar

__all__ = ["TemplateError", "parse_python_params", "resolve_templates"]


class TemplateError(ValueError):
    """A dvc.yaml whose templating DVC cannot resolve; the message is DVC's."""


class _RevisionFs:
    """The little of DVC's filesystem interface its resolver uses, over one revision's files."""

    sep = "/"

    def __init__(self, files: Any) -> None:
        self._files = files

    def join(self, *parts: str) -> str:
        return posixpath.join(*[p for p in parts if p]) if any(parts) else ""

    def normpath(self, path: str) -> str:
        return posixpath.normpath(path)

    def relpath(self, path: str, start: str = "") -> str:
        return posixpath.relpath(path, start or ".")

    def suffix(self, path: str) -> str:
        return posixpath.splitext(path)[1]

    def exists(self, path: str) -> bool:
        return bool(self._files.exists(posixpath.normpath(path)))

    def isdir(self, path: str) -> bool:
        return bool(self._files.isdir(posixpath.normpath(path)))

    def open(self, path: str, mode: str = "r", encoding: str | None = None, **_: Any) -> Any:
        raw = self._files.read(posixpath.normpath(path))
        if raw is None:
            raise FileNotFoundError(path)
        return io.StringIO(raw.decode(encoding or "utf-8"))


def resolve_templates(
    document: dict[str, Any], files: Any, folder: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A templated dvc.yaml resolved by DVC's resolver: its sections, and the vars it used.

    `files` reads the revision (git objects or the workspace); `folder` is the dvc.yaml's
    folder, repo-relative. The vars are by file (repo-relative) then dotted key, as
    `dvc params diff` shows the ones that come from files other than the params files.
    """
    try:
        from dvc.exceptions import DvcException
        from dvc.parsing import DataResolver
    except ImportError:
        raise TemplateError(
            "uses templating (vars, ${...}, foreach or matrix), which needs DVC: "
            "pip install 'mlci[dvc]'"
        ) from None

    class _Repo:
        fs = _RevisionFs(files)
        config: ClassVar[dict[str, Any]] = {}

    try:
        resolver = DataResolver(_Repo(), folder, document)
        resolved = {
            "stages": resolver.resolve()["stages"],
            "metrics": resolver.resolve_metrics(),
            "params": resolver.resolve_params(),
            "plots": resolver.resolve_plots(),
            "artifacts": resolver.resolve_artifacts(),
        }
    except (DvcException, ValueError, TypeError, KeyError) as exc:
        raise TemplateError(" ".join(str(exc).split())) from None
    used: dict[str, dict[str, Any]] = {}
    for by_file in resolver.tracked_vars.values():
        for file, values in (by_file or {}).items():
            used.setdefault(posixpath.normpath(str(file)), {}).update(values)
    return resolved, used


def parse_python_params(text: str, name: str) -> Any:
    """A `.py` params file as DVC reads it (top-level assignments and classes)."""
    from dvc.utils.serialize import parse_py

    return parse_py(text, name)
