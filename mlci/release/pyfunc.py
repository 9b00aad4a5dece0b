"""The MLflow pyfunc wrapper for a model folder loaded by the project's own loader.

Logged with the model so that `mlflow models serve` and `models:/name@alias`
load it without knowing the project: the loader is a `module:function` string
and its code travels with the model (`code_paths`).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

with warnings.catch_warnings():
    # MLflow's import warns about type hints of its own classes
    warnings.simplefilter("ignore")
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


# MLflow wraps `predict` when the class is defined and warns that it has no type hints
with warnings.catch_warnings():
    warnings.simplefilter("ignore")

    class LoaderModel(PythonModel):
        def __init__(self, loader: str) -> None:
            self.loader = loader
            self._model: Any = None

        def load_context(self, context: Any) -> None:
            self._model = import_loader(self.loader)(context.artifacts["model"])

        # no type hints: MLflow reads them as an input schema, and rows of numbers have none to give
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            import numpy as np

            return self._model.predict(np.asarray(model_input, dtype=float))
