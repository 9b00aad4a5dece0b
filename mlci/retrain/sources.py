"""Where `mlci retrain` reads new labelled data: the served model's feedback store
(`feedback-*.csv`), or a CSV file or folder given, local or behind an fsspec URL."""

from __future__ import annotations

import os
from pathlib import Path

from mlci.config import Config
from mlci.errors import ServiceError, UsageError

FEEDBACK_ENV = "MLCI_FEEDBACK_STORE"  # as in the served model (pipelines/digits/service.py)
FEEDBACK_PATTERN = "feedback-*.csv"


def _is_url(text: str) -> bool:
    return ("://" in text or "::" in text) and not text.startswith("file://")


def read_sources(
    root: Path, cfg: Config, source: str | None
) -> tuple[str, list[tuple[str, bytes]]]:
    """(where, [(shown name, content)]): the source's CSV files, sorted by name.

    No source: the feedback store's `feedback-*.csv` ($MLCI_FEEDBACK_STORE, else
    `[tool.mlci.release] feedback_store`, relative to the root); a store that does
    not exist yet holds nothing. A source given: a CSV file, or a folder's `*.csv`.
    """
    explicit = source is not None
    if source is None:
        source = os.environ.get(FEEDBACK_ENV) or cfg.release.feedback_store
    pattern = "*.csv" if explicit else FEEDBACK_PATTERN
    if _is_url(source):
        return source, _read_url(source, pattern, explicit=explicit)
    path = Path(source.removeprefix("file://"))
    if not path.is_absolute():
        path = (Path.cwd() if explicit else root) / path
    if path.is_file():
        return source, [(source, _read(path))]
    if path.is_dir():
        found = sorted(p for p in path.glob(pattern) if p.is_file())
        return source, [(f"{source.rstrip('/')}/{p.name}", _read(p)) for p in found]
    if explicit:
        raise UsageError(f"{source}: no such file or folder")
    return source, []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


def _read_url(url: str, pattern: str, *, explicit: bool) -> list[tuple[str, bytes]]:
    import fsspec  # type: ignore[import-untyped]  # installed with DVC; s3/gcs/azure need plugins

    try:
        fs, path = fsspec.core.url_to_fs(url)
        if fs.isfile(path):
            return [(url, fs.cat_file(path))]
        if not fs.isdir(path):
            if explicit:
                raise UsageError(f"{url}: no such file or folder")
            return []
        found = sorted(str(p) for p in fs.glob(f"{path.rstrip('/')}/{pattern}"))
        base = url.rstrip("/")
        return [(f"{base}/{p.rsplit('/', 1)[-1]}", fs.cat_file(p)) for p in found]
    except UsageError:
        raise
    except ImportError as exc:
        raise UsageError(f"{url}: no filesystem for this URL: {exc}") from None
    except Exception as exc:  # each fsspec backend raises its own types
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise ServiceError(f"{url}: cannot read: {text}") from None
