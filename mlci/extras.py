"""mlci's optional extras: which one a command needs, and the line that installs it.

`pip install mlci` is the light core (`--help`, `config`, `report`, `report --from`,
the registry's tags). Everything else needs an extra; a command that lacks one stops
with exit 2 and the pip line, never with a traceback.
"""

from __future__ import annotations

import importlib.util

from mlci.errors import UsageError

__all__ = ["EXTRAS", "MissingExtra", "from_import_error", "missing", "require"]

# extra -> (the module that proves it installed, what it brings)
EXTRAS: dict[str, tuple[str, str]] = {
    "dvc": ("dvc", "DVC"),
    "tracking": ("mlflow", "MLflow"),
    "gx": ("great_expectations", "Great Expectations"),
    "serve": ("bentoml", "BentoML"),
    "registry": ("gto", "GTO"),
    "spark": ("pyspark", "PySpark"),
    "s3": ("dvc_s3", "DVC's S3 remote"),
}

# modules mlci imports that arrive with an extra (a dependency of it)
_MODULE_EXTRA: dict[str, str] = {
    **{module: extra for extra, (module, _what) in EXTRAS.items()},
    "pandas": "gx",
    "numpy": "gx",
    "s3fs": "s3",
}


class MissingExtra(UsageError):
    """A command needs an extra that is not installed (exit 2)."""

    def __init__(self, extra: str, needed_for: str = "") -> None:
        what = EXTRAS.get(extra, (extra, extra))[1]
        purpose = f"{needed_for} needs {what}" if needed_for else f"{what} is not installed"
        super().__init__(
            f"{purpose}: pip install 'mlci[{extra}]'",
            hint="`pip install mlci` is the light core: config, report and the registry's tags",
        )
        self.extra = extra


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(extra: str) -> bool:
    return not _installed(EXTRAS[extra][0])


def require(extra: str, *, module: str | None = None, needed_for: str = "") -> None:
    """Raise MissingExtra when `module` (default: the extra's own) cannot be imported."""
    if not _installed(module or EXTRAS[extra][0]):
        raise MissingExtra(extra, needed_for)


def from_import_error(exc: ImportError) -> MissingExtra | None:
    """The extra a failed import belongs to, when it is one of mlci's extras' modules."""
    name = getattr(exc, "name", None) or ""
    extra = _MODULE_EXTRA.get(name.partition(".")[0])
    if extra is None or _installed(name.partition(".")[0]):
        # installed but broken inside: not a missing extra
        return None
    return MissingExtra(extra)
