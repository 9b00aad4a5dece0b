"""On a machine with an NVIDIA GPU: what mlci and the reference project do with one.

CI has no GPU, so here every test is skipped; they run where a GPU is lent (docs/testing.md,
"On a GPU"). They import only what such a machine's stock Python has beside mlci's own
light modules (numpy, scikit-learn, torch, PyYAML, pytest): `mlci.hardware`, the fan-out
branch records and their report table, and the digits pipeline. nvidia-smi and torch are
the oracles: mlci must read the machine as they do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci import hardware
from mlci.fanout import records
from mlci.report import branches
from tests.unit import test_digits_pipeline

NVIDIA_SMI = shutil.which("nvidia-smi")
REPO = Path(__file__).resolve().parents[2]

# the digits project after its data and prepare stages (a module fixture, shared)
prepared = test_digits_pipeline.prepared

pytestmark = pytest.mark.skipif(
    NVIDIA_SMI is None, reason="no NVIDIA GPU here (nvidia-smi is not on PATH)"
)


def smi(*args: str) -> str:
    assert NVIDIA_SMI is not None
    return subprocess.run(
        [NVIDIA_SMI, *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_detect_reads_every_gpu_as_nvidia_smi_lists_it() -> None:
    query = "--query-gpu=index,name,memory.total,driver_version,uuid"
    rows = [
        [field.strip() for field in line.split(",")]
        for line in smi(query, "--format=csv,noheader,nounits").strip().splitlines()
    ]
    runner = hardware.detect()

    assert runner.gpu_error is None
    assert hardware.has_gpu(runner)
    assert [(g.index, g.name, g.memory_mib, g.driver, g.uuid) for g in runner.gpus] == [
        (int(r[0]), r[1], int(r[2]), r[3], r[4]) for r in rows
    ]
    banner = re.search(r"CUDA Version:\s*([0-9.]+)", smi())
    assert banner is not None
    assert {g.cuda for g in runner.gpus} == {banner.group(1)}
    assert runner.gpus[0].name in runner.summary()
    assert f"driver {rows[0][3]}" in runner.summary()


def test_torch_sees_the_gpus_mlci_reports() -> None:
    torch = pytest.importorskip("torch")
    runner = hardware.detect()
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        pytest.skip("CUDA_VISIBLE_DEVICES hides some GPUs from torch")
    assert torch.cuda.is_available()
    assert torch.cuda.device_count() == len(runner.gpus)
    assert [torch.cuda.get_device_name(i) for i in range(len(runner.gpus))] == [
        g.name for g in runner.gpus
    ]


def test_a_branch_record_from_this_runner_names_its_gpu_in_the_report(tmp_path: Path) -> None:
    runner = hardware.detect()
    record = records.BranchRecord(
        name="train@cnn",
        targets=["train@cnn", "evaluate@cnn"],
        runs_on=["self-hosted", "gpu"],
        status="ok",
        runner=runner.to_dict(),
        stages=[{"name": "train@cnn", "status": "ran", "seconds": 12.5}],
    )
    path = records.write(tmp_path, record)
    (line,) = branches.lines([records.read(path).to_dict()])
    assert line.gpu == ", ".join(g.name for g in runner.gpus)
    assert runner.gpus[0].name in branches.markdown([record.to_dict()])


def train_on(prepared: Path, folder: Path, **params: Any) -> Path:
    """A copy of the prepared project trained (torch CNN) and evaluated with `params`."""
    from pipelines.digits import evaluate, train

    shutil.copytree(prepared, folder)
    values = yaml.safe_load((folder / "params.yaml").read_text(encoding="utf-8"))
    values["train"].update({"backend": "torch", "epochs": 5, **params})
    (folder / "params.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        assert train.main([]) == 0
        assert evaluate.main([]) == 0
    return folder


def test_auto_picks_the_gpu_and_cuda_is_accepted() -> None:
    from pipelines.digits.train import resolve_device

    assert resolve_device("auto", "torch") == "cuda"
    assert resolve_device("cuda", "torch") == "cuda"


def test_the_cnn_trains_on_the_gpu_deterministically_and_serves_on_a_cpu(
    prepared: Path, tmp_path: Path
) -> None:
    first = train_on(prepared, tmp_path / "first", device="cuda")
    second = train_on(prepared, tmp_path / "second", device="cuda")

    metrics = json.loads((first / "metrics" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy"] > 0.9, metrics
    # torch.use_deterministic_algorithms on CUDA: the same seed, the same weights and curve
    for file in ("plots/learning_curve.csv", "metrics/metrics.json"):
        assert (first / file).read_bytes() == (second / file).read_bytes(), file
    for saved in sorted((first / "models" / "digits").iterdir()):
        assert saved.read_bytes() == (second / "models" / "digits" / saved.name).read_bytes()

    # the model trained on the GPU loads and predicts where no GPU is (a CPU serving box)
    probe = (
        "import json, pathlib, torch\n"
        "from pipelines.digits.model import load\n"
        "from pipelines.digits.common import read_xy\n"
        "assert not torch.cuda.is_available()\n"
        "x, y = read_xy(pathlib.Path('work/prepared/test.csv'))\n"
        "print(json.dumps(float((load().predict(x) == y).mean())))\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=first,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == pytest.approx(metrics["accuracy"])
