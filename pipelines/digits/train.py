"""Train the digits classifier (scikit-learn MLP or a small torch CNN) epoch by epoch."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.digits.common import CLASSES, csv_bytes, load_params, read_xy, write_atomic
from pipelines.digits.model import MODEL_DIR, build_cnn, save_sklearn, save_torch, scale

TRAIN_CSV = Path("work/prepared/train.csv")
CURVE_CSV = Path("plots/learning_curve.csv")
BACKENDS = ("sklearn", "torch")
DEVICES = ("auto", "cpu", "cuda")


class TrainError(RuntimeError):
    """A configuration problem reported as one line on stderr, exit code 1."""


@dataclass(frozen=True)
class Epoch:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_accuracy: float


@dataclass(frozen=True)
class Split:
    x_fit: np.ndarray
    y_fit: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


OnEpoch = Callable[[Epoch], None]


def resolve_device(requested: str, backend: str) -> str:
    if requested not in DEVICES:
        raise TrainError(f"train.device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "cpu" or (backend == "sklearn" and requested == "auto"):
        return "cpu"
    try:
        import torch
    except ImportError as exc:
        raise TrainError(
            f"train.backend={backend}, train.device={requested} needs torch, which is not "
            "installed (pip install -r requirements-torch.txt)"
        ) from exc
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise TrainError(
            "train.device is 'cuda' but no CUDA GPU is available "
            "(torch.cuda.is_available() is False); set train.device to 'auto' or 'cpu'"
        )
    # scikit-learn always trains on the CPU; 'cuda' above only insists that a GPU exists
    if backend == "sklearn":
        return "cpu"
    return "cuda" if available else "cpu"


def hold_out(x: np.ndarray, y: np.ndarray, val_size: float, seed: int) -> Split:
    from sklearn.model_selection import train_test_split

    x_fit, x_val, y_fit, y_val = train_test_split(
        x, y, test_size=val_size, random_state=seed, stratify=y
    )
    return Split(x_fit, y_fit, x_val, y_val)


def _accuracy(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(predicted == actual))


def train_sklearn(
    data: Split, hp: dict[str, Any], seed: int, epochs: int, on_epoch: OnEpoch
) -> Any:
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(int(hp.get("hidden", 64)),),
        alpha=float(hp.get("alpha", 1e-4)),
        learning_rate_init=float(hp.get("lr", 1e-3)),
        batch_size=int(hp.get("batch_size", 32)),
        solver="adam",
        random_state=seed,
    )
    x_fit, x_val = scale(data.x_fit), scale(data.x_val)
    for epoch in range(1, epochs + 1):
        clf.partial_fit(x_fit, data.y_fit, classes=CLASSES)  # one pass over the data
        on_epoch(
            Epoch(
                epoch=epoch,
                train_loss=float(clf.loss_),
                train_accuracy=_accuracy(clf.predict(x_fit), data.y_fit),
                val_accuracy=_accuracy(clf.predict(x_val), data.y_val),
            )
        )
    return clf


def train_torch(
    data: Split, hp: dict[str, Any], seed: int, epochs: int, device: str, on_epoch: OnEpoch
) -> Any:
    # cuBLAS reads this when CUDA starts; deterministic algorithms need it
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    try:
        model = build_cnn(int(hp.get("channels", 16)), int(hp.get("hidden", 64))).to(device)
        optimizer = torch.optim.Adam(
            model.parameters(),
            lr=float(hp.get("lr", 3e-3)),
            weight_decay=float(hp.get("weight_decay", 0.0)),
        )
        batch_size = int(hp.get("batch_size", 32))
        generator = torch.Generator().manual_seed(seed)

        def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            xt = torch.from_numpy(scale(x).astype(np.float32)).to(device)
            return xt, torch.from_numpy(y.astype(np.int64)).to(device)

        def accuracy(xt: torch.Tensor, yt: torch.Tensor) -> float:
            model.eval()
            with torch.no_grad():
                return float((model(xt).argmax(dim=1) == yt).float().mean().item())

        x_fit, y_fit = tensors(data.x_fit, data.y_fit)
        x_val, y_val = tensors(data.x_val, data.y_val)
        n = len(y_fit)
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(n, generator=generator).to(device)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x_fit[idx]), y_fit[idx])
                loss.backward()
                optimizer.step()
                total += float(loss.item()) * len(idx)
            on_epoch(
                Epoch(
                    epoch=epoch,
                    train_loss=total / n,
                    train_accuracy=accuracy(x_fit, y_fit),
                    val_accuracy=accuracy(x_val, y_val),
                )
            )
        return model.cpu()
    finally:
        torch.use_deterministic_algorithms(was_deterministic)


def write_curve(curve: list[Epoch], path: Path = CURVE_CSV) -> None:
    header = [f.name for f in fields(Epoch)]
    write_atomic(path, csv_bytes(header, [astuple(e) for e in curve]))


def run(params: dict[str, Any]) -> None:
    backend = str(params.get("backend", "sklearn"))
    if backend not in BACKENDS:
        raise TrainError(f"train.backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    device = resolve_device(str(params.get("device", "auto")), backend)
    seed = int(params.get("seed", 42))
    epochs = int(params.get("epochs", 20))
    val_size = float(params.get("val_size", 0.15))
    hp = dict(params.get(backend) or {})

    x, y = read_xy(TRAIN_CSV)
    data = hold_out(x, y, val_size, seed)
    curve: list[Epoch] = []

    def on_epoch(e: Epoch) -> None:
        curve.append(e)
        print(
            f"epoch {e.epoch:>3}/{epochs} loss {e.train_loss:.4f} "
            f"train_acc {e.train_accuracy:.4f} val_acc {e.val_accuracy:.4f}",
            flush=True,
        )

    started = time.perf_counter()
    meta_params = {"seed": seed, "epochs": epochs, "val_size": val_size, **hp}
    if backend == "torch":
        model = train_torch(data, hp, seed, epochs, device, on_epoch)
        save_torch(model, meta_params, MODEL_DIR)
    else:
        model = train_sklearn(data, hp, seed, epochs, on_epoch)
        save_sklearn(model, meta_params, MODEL_DIR)
    write_curve(curve)
    elapsed = time.perf_counter() - started
    print(f"trained {backend} on {device} in {elapsed:.1f}s -> {MODEL_DIR}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.digits.train", description=__doc__)
    parser.parse_args(argv)
    try:
        run(load_params("train"))
    except TrainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
