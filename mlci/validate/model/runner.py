"""`mlci validate model`: the gates of [tool.mlci.gates] and the model checks of [tool.mlci.model].

Gates read the metrics of the report (base and head values, and the paired-bootstrap
significance where predictions allow one); they never recompute a metric. Model checks
load the model in the working tree with the configured loader and time it on sample rows.

Only the standard library and light mlci modules are imported here: numpy and the report
builder are imported when needed, so importing this module costs a few milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlci.validate.model.checks import model_checks
from mlci.validate.model.gates import gates
from mlci.validate.results import Result

if TYPE_CHECKING:
    from mlci.config import Config

__all__ = ["validate"]


def validate(
    root: Path,
    cfg: Config,
    *,
    base: str | None = None,
    head: str = "workspace",
    checks: bool = True,
) -> Result:
    """Evaluate every gate on the metrics of `head` against `base` (None: the report's
    default base), then, with `checks`, the model checks on the model in the working tree.

    Raises UsageError (exit 2) for a gate naming no metric or an ambiguous one, a model
    path or sample that does not exist, and a malformed loader.
    """
    result = Result(kind="model")
    if cfg.gates:
        result.checks.extend(gates(root, cfg, base=base, head=head, extra=result.extra))
    if checks:
        result.checks.extend(model_checks(root, cfg, result.extra))
    return result
