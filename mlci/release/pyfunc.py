"""The MLflow pyfunc wrapper for a model folder loaded by the project's own loader.

Logged with the model so that `mlflow models serve` and `models:/name@alias`
load it without knowing the project: the loader is a `module:function` string
and its code travels with the model (`code_paths`).
"""

from __future__ import annotations

import importlib
from typing import Any

try:  # mlflow is an extra; this module is only imported where it is installed
    from mlflow.pyfunc.model import PythonModel
except ImportError:  # pragma: no cover
    PythonModel = object  # type: ignore[assignment,misc]

__all__ = ["LoaderModel", "import_loader"]


def import_loader(spec: str) -> Any:
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise ValueError(f"loader must be 'module:function', not {spec!r}")
    return getattr(importlib.import_module(module_name), function)


class LoaderModel(PythonModel):
    def __init__(self, loader: str) -> None:
        self.loader = loader
        self._model: Any = None

    def load_context(self, context: Any) -> None:
        self._model = import_loader(self.loader)(context.artifacts["model"])

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np

        return self._model.predict(np.asarray(model_input, dtype=float))
