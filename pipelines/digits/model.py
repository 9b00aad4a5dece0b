"""The digits model format, shared by train, evaluate, serving and release.

A model is a directory (``models/digits/``) holding ``meta.json``::

    {"backend": "sklearn" | "torch", "n_features": 64, "classes": [0, ..., 9],
     "input_scale": 16.0, "params": {...}}

plus ``model.pkl`` (a fitted scikit-learn classifier, joblib) or ``model.pt`` (a torch
state_dict of :func:`build_cnn`). Predictors take raw pixel rows (0..16, shape (n, 64));
dividing by ``input_scale`` happens here, so callers never preprocess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from pipelines.digits.common import CLASSES, N_FEATURES

if TYPE_CHECKING:
    from torch import nn

MODEL_DIR = Path("models/digits")
META_FILE = "meta.json"
SKLEARN_FILE = "model.pkl"
TORCH_FILE = "model.pt"
INPUT_SCALE = 16.0
Backend = Literal["sklearn", "torch"]


class Predictor(Protocol):
    meta: dict[str, Any]

    def predict(self, rows: np.ndarray) -> np.ndarray: ...

    def predict_proba(self, rows: np.ndarray) -> np.ndarray: ...


def scale(rows: np.ndarray | list[list[float]], input_scale: float = INPUT_SCALE) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != N_FEATURES:
        raise ValueError(f"expected rows of shape (n, {N_FEATURES}), got {array.shape}")
    return array / input_scale


def build_cnn(channels: int = 16, hidden: int = 64) -> nn.Sequential:
    """A small CNN over flat rows of 64 scaled pixels (reshaped to 1x8x8 inside)."""
    from torch import nn

    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, channels, kernel_size=3, padding=1),
        nn.ReLU(),
        # a strided conv instead of pooling: deterministic backward on CUDA as well
        nn.Conv2d(channels, 2 * channels, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(2 * channels * 4 * 4, hidden),
        nn.ReLU(),
        nn.Linear(hidden, len(CLASSES)),
    )


def _meta(backend: Backend, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "backend": backend,
        "n_features": N_FEATURES,
        "classes": list(CLASSES),
        "input_scale": INPUT_SCALE,
        "params": params,
    }


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    (path / META_FILE).write_text(text, encoding="utf-8")


def _clear(path: Path) -> None:
    # a directory switching backends must not keep the other backend's weights
    for name in (SKLEARN_FILE, TORCH_FILE):
        (path / name).unlink(missing_ok=True)


def save_sklearn(estimator: Any, params: dict[str, Any], path: Path = MODEL_DIR) -> Path:
    import joblib

    path.mkdir(parents=True, exist_ok=True)
    _clear(path)
    joblib.dump(estimator, path / SKLEARN_FILE)
    _write_meta(path, _meta("sklearn", params))
    return path


def save_torch(module: nn.Module, params: dict[str, Any], path: Path = MODEL_DIR) -> Path:
    import torch

    path.mkdir(parents=True, exist_ok=True)
    _clear(path)
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    torch.save(state, path / TORCH_FILE)
    _write_meta(path, _meta("torch", params))
    return path


class _Base:
    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta
        self.classes = np.asarray(meta["classes"], dtype=np.int64)
        self.input_scale = float(meta.get("input_scale", INPUT_SCALE))

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, rows: np.ndarray) -> np.ndarray:
        proba = self.predict_proba(rows)
        return np.asarray(self.classes[np.argmax(proba, axis=1)], dtype=np.int64)


class SklearnPredictor(_Base):
    def __init__(self, meta: dict[str, Any], estimator: Any) -> None:
        super().__init__(meta)
        self.estimator = estimator

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        proba = self.estimator.predict_proba(scale(rows, self.input_scale))
        return np.asarray(proba, dtype=np.float64)


class TorchPredictor(_Base):
    def __init__(self, meta: dict[str, Any], module: nn.Module) -> None:
        super().__init__(meta)
        self.module = module.eval()

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        import torch

        inputs = torch.from_numpy(scale(rows, self.input_scale).astype(np.float32))
        with torch.no_grad():
            proba = torch.softmax(self.module(inputs), dim=1)
        return proba.numpy().astype(np.float64)


def load_meta(path: Path = MODEL_DIR) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((Path(path) / META_FILE).read_text(encoding="utf-8"))
    if meta.get("n_features") != N_FEATURES:
        raise ValueError(f"{path}: model expects {meta.get('n_features')} features")
    return meta


def load(path: Path | str = MODEL_DIR) -> Predictor:
    path = Path(path)
    meta = load_meta(path)
    backend = meta.get("backend")
    if backend == "sklearn":
        import joblib

        return SklearnPredictor(meta, joblib.load(path / SKLEARN_FILE))
    if backend == "torch":
        import torch

        params = meta.get("params", {})
        module = build_cnn(int(params.get("channels", 16)), int(params.get("hidden", 64)))
        state = torch.load(path / TORCH_FILE, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
        return TorchPredictor(meta, module)
    raise ValueError(f"{path}: unknown backend {backend!r}")
