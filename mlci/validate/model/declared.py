"""Where a gate or a model setting is declared, for messages and annotations: the file
(pyproject.toml) and the line of its key. mlci.config is imported late."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlci.config import Config

__all__ = ["PYPROJECT", "line_of"]

PYPROJECT = "pyproject.toml"


def line_of(cfg: Config, *keys: str) -> int | None:
    # mlci.config (pydantic) is loaded whenever a Config exists; imported late all the same
    from mlci.config import line_of as config_line_of

    return config_line_of(cfg, *keys)
