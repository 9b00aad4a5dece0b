"""The model under check: its file or folder (the [tool.mlci.model] path, else dvc.yaml's one
model artifact), its loader ('module:function', imported with the repository on sys.path),
and the sample rows it predicts on. numpy is imported when needed."""

from __future__ import annotations

import csv
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mlci.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from mlci.config import Config

__all__ = ["importable", "model_path", "parse_loader", "read_sample"]


def model_path(root: Path, cfg: Config) -> tuple[Path | None, str]:
    """The model file or folder, and where it was declared; (None, why) when none is."""
    if cfg.model.path:
        path = root / cfg.model.path
        if not path.exists():
            raise UsageError(
                f"[tool.mlci.model] path: {cfg.model.path} does not exist",
                hint="run the pipeline (mlci run) or fix the path",
            )
        return path, "[tool.mlci.model] path"
    from mlci import workspace

    project = workspace.find_project(root)
    if project is None:
        return None, "no [tool.mlci.model] path and no dvc.yaml"
    models = {
        name: art
        for name, art in project.artifacts.items()
        if art.get("type") == "model" and art.get("path")
    }
    if not models:
        return None, "no [tool.mlci.model] path and no artifact of type model in dvc.yaml"
    if len(models) > 1:
        raise UsageError(
            f"dvc.yaml declares {len(models)} model artifacts ({', '.join(sorted(models))})",
            hint="choose one: [tool.mlci.model] path = '<its path>'",
        )
    name, artifact = next(iter(models.items()))
    declared = str(artifact["path"])
    if "://" in declared:
        raise UsageError(
            f"dvc.yaml: artifact '{name}' is at {declared}, not in the repository",
            hint="set [tool.mlci.model] path to a local copy",
        )
    path = root / declared
    if not path.exists():
        raise UsageError(
            f"dvc.yaml: model artifact '{name}': {declared} does not exist",
            hint="run the pipeline (mlci run) or fetch it (dvc pull)",
        )
    return path, f"dvc.yaml artifact '{name}'"


@contextmanager
def importable(root: Path) -> Iterator[None]:
    """The repository root on sys.path while the loader imports and the model predicts."""
    entry = str(root)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def parse_loader(spec: str) -> tuple[str, str]:
    module, sep, function = spec.partition(":")
    if not sep or not module.strip() or not function.strip():
        raise UsageError(
            f"[tool.mlci.model] loader: expected 'module:function', got {spec!r}",
            hint="for example loader = 'pipelines.digits.model:load'",
        )
    return module.strip(), function.strip()


def read_sample(root: Path, cfg: Config) -> tuple[np.ndarray, bool]:
    """The first `latency_rows` rows of the sample as floats, the label column dropped;
    and whether there was a label column to drop."""
    import numpy as np

    path = root / cfg.model.sample
    rows: list[list[str]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        keep = [i for i, name in enumerate(header) if name != cfg.model.label]
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"line {reader.line_num}: {len(row)} fields, the header has {len(header)}"
                )
            rows.append([row[i] for i in keep])
            if len(rows) >= cfg.model.latency_rows:
                break
    if not rows:
        raise ValueError("no rows")
    return np.asarray(rows, dtype=np.float64), len(keep) < len(header)
