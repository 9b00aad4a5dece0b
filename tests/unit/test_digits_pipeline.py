"""The digits reference pipeline, stage by stage, in a temporary project directory."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from pipelines.digits import data, evaluate, model, prepare, train
from pipelines.digits.common import read_xy

REPO = Path(__file__).resolve().parents[2]
# md5 of data/digits.csv: scikit-learn's bundled digits never change, so neither may the export
DIGITS_MD5 = "118950e3156b0865eb0637374376d7f2"
N_ROWS = 1797


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _set_params(section: str, **values: Any) -> None:
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    params[section].update(values)
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project directory after the data and prepare stages, built once per module."""
    root = tmp_path_factory.mktemp("digits")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert data.main([]) == 0
        assert prepare.main([]) == 0
    return root


@pytest.fixture
def project(prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "project"
    shutil.copytree(prepared, root)
    monkeypatch.chdir(root)
    yield root


def test_data_export_is_byte_identical_and_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert data.main(["--out", "a"]) == 0
    assert "wrote" in capsys.readouterr().out
    first = tmp_path / "a" / "digits.csv"
    content = first.read_bytes()
    assert hashlib.md5(content, usedforsecurity=False).hexdigest() == DIGITS_MD5

    mtime = first.stat().st_mtime_ns
    assert data.main(["--out", "a"]) == 0
    out = capsys.readouterr().out
    assert "up to date" in out
    assert len(out.strip().splitlines()) == 1
    assert first.stat().st_mtime_ns == mtime
    assert [p.name for p in first.parent.iterdir()] == ["digits.csv"]  # no temp files left

    assert data.main(["--out", "b"]) == 0
    assert (tmp_path / "b" / "digits.csv").read_bytes() == content

    header, rows = _read_csv(first)
    assert header == [*(f"pixel_{i}" for i in range(64)), "label"]
    assert len(rows) == N_ROWS
    assert b"\r" not in content
    assert all(v.isdigit() for v in rows[0])
    assert [int(r[-1]) for r in rows[:10]] == list(range(10))  # sklearn's order


def test_data_export_rewrites_a_changed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "data" / "digits.csv"
    target.parent.mkdir()
    target.write_text("stale\n", encoding="utf-8")
    assert data.main([]) == 0
    assert hashlib.md5(target.read_bytes(), usedforsecurity=False).hexdigest() == DIGITS_MD5


def test_prepare_splits_stratified_and_deterministic(project: Path) -> None:
    train_csv, test_csv = Path("work/prepared/train.csv"), Path("work/prepared/test.csv")
    x_train, y_train = read_xy(train_csv)
    x_test, y_test = read_xy(test_csv)
    assert (len(y_train), len(y_test)) == (1347, 450)
    assert x_train.shape[1] == x_test.shape[1] == 64

    x_all, y_all = read_xy(Path("data/digits.csv"))
    everything = np.column_stack([x_all, y_all])
    recombined = np.vstack([np.column_stack([x_train, y_train]), np.column_stack([x_test, y_test])])
    assert sorted(map(tuple, recombined.tolist())) == sorted(map(tuple, everything.tolist()))

    total, held_out = Counter(y_all.tolist()), Counter(y_test.tolist())
    for label, count in total.items():
        assert abs(held_out[label] - 0.25 * count) <= 1

    before = train_csv.read_bytes(), test_csv.read_bytes()
    assert prepare.main([]) == 0
    assert (train_csv.read_bytes(), test_csv.read_bytes()) == before


def test_sklearn_train_and_evaluate(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main([]) == 0
    epochs = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))["train"]["epochs"]
    assert len(capsys.readouterr().out.splitlines()) <= epochs + 1
    meta = json.loads(Path("models/digits/meta.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "sklearn"
    assert meta["n_features"] == 64
    assert meta["classes"] == list(range(10))
    assert sorted(p.name for p in Path("models/digits").iterdir()) == ["meta.json", "model.pkl"]

    header, rows = _read_csv(Path("plots/learning_curve.csv"))
    assert header == ["epoch", "train_loss", "train_accuracy", "val_accuracy"]
    assert [int(r[0]) for r in rows] == list(range(1, epochs + 1))
    assert all(0.0 <= float(v) <= 1.0 for r in rows for v in r[2:])
    assert float(rows[-1][1]) < float(rows[0][1])  # the loss goes down

    assert evaluate.main([]) == 0
    text = Path("metrics/metrics.json").read_text(encoding="utf-8")
    metrics = json.loads(text)
    assert text == json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    assert set(metrics) == {"accuracy", "f1_macro", "per_class", "n_test"}
    assert metrics["accuracy"] > 0.9
    assert isinstance(metrics["f1_macro"], float)
    assert metrics["n_test"] == 450
    assert list(metrics["per_class"]["f1"]) == [str(c) for c in range(10)]

    header, rows = _read_csv(Path("metrics/predictions.csv"))
    assert header == ["index", "label", "predicted", "correct"]
    assert [int(r[0]) for r in rows] == list(range(450))
    assert all(int(r[3]) == int(r[1] == r[2]) for r in rows)
    assert sum(int(r[3]) for r in rows) / len(rows) == pytest.approx(metrics["accuracy"])

    header, confusion = _read_csv(Path("plots/confusion.csv"))
    assert header == ["actual", "predicted"]
    assert confusion == [r[1:3] for r in rows]

    predictor = model.load("models/digits")
    x_test, _ = read_xy(Path("work/prepared/test.csv"))
    predicted = predictor.predict(x_test[:20])
    assert predicted.dtype.kind == "i"
    assert predicted.tolist() == [int(r[2]) for r in rows[:20]]
    proba = predictor.predict_proba(x_test[:20])
    assert proba.shape == (20, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="shape"):
        predictor.predict(x_test[:3, :10])


def test_sklearn_training_is_deterministic(project: Path) -> None:
    assert train.main([]) == 0
    first = Path("plots/learning_curve.csv").read_bytes()
    assert train.main([]) == 0
    assert Path("plots/learning_curve.csv").read_bytes() == first


@pytest.mark.slow
def test_torch_backend_trains_on_cpu(project: Path) -> None:
    pytest.importorskip("torch")
    _set_params("train", backend="torch", device="cpu", epochs=10)
    assert train.main([]) == 0
    assert evaluate.main([]) == 0
    assert sorted(p.name for p in Path("models/digits").iterdir()) == ["meta.json", "model.pt"]
    metrics = json.loads(Path("metrics/metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy"] > 0.85
    assert model.load("models/digits").meta["backend"] == "torch"
    _, rows = _read_csv(Path("plots/learning_curve.csv"))
    assert len(rows) == 10


@pytest.mark.parametrize("backend", ["sklearn", "torch"])
def test_cuda_without_gpu_fails_clearly(
    project: Path,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _set_params("train", backend=backend, device="cuda")
    assert train.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "'cuda'" in err
    assert "no CUDA GPU" in err
    assert not Path("models/digits").exists()


def test_cuda_without_gpu_exits_1_from_the_command_line(project: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    _set_params("train", device="cuda")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.digits.train"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "no CUDA GPU" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_backend_or_device_is_rejected(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_params("train", device="gpu")
    assert train.main([]) == 1
    assert "train.device" in capsys.readouterr().err
    _set_params("train", device="cpu", backend="xgboost")
    assert train.main([]) == 1
    assert "train.backend" in capsys.readouterr().err
