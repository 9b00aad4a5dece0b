from __future__ import annotations

import json
import os

import pytest

from mlci import hardware
from mlci.hardware import Gpu, Runner, detect, has_gpu, parse_cuda_version, parse_query_gpu

# Recorded nvidia-smi outputs.
H100_QUERY = (
    "0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-5f3c0a9e-2b1d-4c7e-9a35-0e1f2a3b4c5d\n"
)
H100_BANNER = """\
Tue Mar 12 10:14:02 2024
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA H100 80GB HBM3          On  |   00000000:18:00.0 Off |                    0 |
| N/A   31C    P0             69W /  700W |       1MiB /  81559MiB |      0%      Default |
|                                         |                        |             Disabled |
+-----------------------------------------+------------------------+----------------------+
"""
# Recorded on an NVIDIA H200 machine (driver 580, CUDA 13.0) by tests/gpu's run there.
H200_QUERY = "0, NVIDIA H200, 143771, 580.159.04, GPU-892ab65f-970f-84fa-2bc5-f46331c585a2\n"
H200_BANNER = """\
Fri Dec  4 14:14:06 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.159.04             Driver Version: 580.159.04     CUDA Version: 13.0     |
+-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA H200                    On  |   00000000:00:06.0 Off |                    0 |
| N/A   38C    P0             97W /  700W |       0MiB / 143771MiB |      0%      Default |
|                                         |                        |             Disabled |
+-----------------------------------------+------------------------+----------------------+

+-----------------------------------------------------------------------------------------+
| Processes:                                                                              |
|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |
|        ID   ID                                                               Usage      |
|=========================================================================================|
|  No running processes found                                                             |
+-----------------------------------------------------------------------------------------+
"""
MULTI_QUERY = """\
0, NVIDIA A100-SXM4-80GB, 81920, 535.183.01, GPU-aaaaaaaa-0000-0000-0000-000000000000
1, NVIDIA A100-SXM4-80GB, 81920, 535.183.01, GPU-aaaaaaaa-0000-0000-0000-000000000001
2, Tesla T4, 15360, 535.183.01, GPU-bbbbbbbb-0000-0000-0000-000000000002
"""
MULTI_BANNER = (
    "| NVIDIA-SMI 535.183.01             Driver Version: 535.183.01   CUDA Version: 12.2     |\n"
)
NA_QUERY = "0, NVIDIA GeForce RTX 3090, [N/A], [N/A], [Not Supported]\n"
DRIVER_FAILURE = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n\n"
)


def fake(
    responses: dict[str, tuple[int, str, str] | BaseException],
) -> tuple[hardware.CommandRunner, list[list[str]]]:
    """A runner answering by argv[1] ("" for plain `nvidia-smi`); unknown tools are missing."""
    calls: list[list[str]] = []

    def run(argv: list[str]) -> tuple[int, str, str]:
        calls.append(argv)
        if argv[0] != "nvidia-smi":
            raise FileNotFoundError(argv[0])
        answer = responses[argv[1] if len(argv) > 1 else ""]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return run, calls


QUERY = hardware.QUERY_GPU[1]


H100 = Gpu(
    index=0,
    name="NVIDIA H100 80GB HBM3",
    memory_mib=81559,
    driver="550.54.15",
    cuda="12.4",
    uuid="GPU-5f3c0a9e-2b1d-4c7e-9a35-0e1f2a3b4c5d",
)
H200 = Gpu(
    index=0,
    name="NVIDIA H200",
    memory_mib=143771,
    driver="580.159.04",
    cuda="13.0",
    uuid="GPU-892ab65f-970f-84fa-2bc5-f46331c585a2",
)
# one GPU: what nvidia-smi answered, and what mlci reads from it
ONE_GPU = [(H100_QUERY, H100_BANNER, H100), (H200_QUERY, H200_BANNER, H200)]


@pytest.mark.parametrize(("query", "banner", "gpu"), ONE_GPU, ids=["H100", "H200"])
def test_parse_query_gpu_one(query: str, banner: str, gpu: Gpu) -> None:
    assert parse_query_gpu(query, parse_cuda_version(banner)) == (gpu,)


def test_parse_query_gpu_several_and_blank_lines() -> None:
    gpus = parse_query_gpu("\n" + MULTI_QUERY + "\n", None)
    assert [g.index for g in gpus] == [0, 1, 2]
    assert [g.name for g in gpus] == ["NVIDIA A100-SXM4-80GB"] * 2 + ["Tesla T4"]
    assert gpus[2].memory_mib == 15360
    assert all(g.cuda is None for g in gpus)


def test_parse_query_gpu_not_available_fields() -> None:
    (gpu,) = parse_query_gpu(NA_QUERY, None)
    assert gpu.name == "NVIDIA GeForce RTX 3090"
    assert gpu.memory_mib is None
    assert gpu.driver is None
    assert gpu.uuid is None


def test_parse_query_gpu_ignores_garbage() -> None:
    assert parse_query_gpu("No devices were found\n", None) == ()
    assert parse_query_gpu("", None) == ()


def test_parse_cuda_version() -> None:
    assert parse_cuda_version(H100_BANNER) == "12.4"
    assert parse_cuda_version(H200_BANNER) == "13.0"
    assert parse_cuda_version(MULTI_BANNER) == "12.2"
    assert parse_cuda_version("| CUDA Version: N/A |") is None
    assert parse_cuda_version("") is None


@pytest.mark.parametrize(("query", "banner", "gpu"), ONE_GPU, ids=["H100", "H200"])
def test_detect_one_gpu(query: str, banner: str, gpu: Gpu) -> None:
    run, calls = fake({QUERY: (0, query, ""), "": (0, banner, "")})
    runner = detect(run)
    assert has_gpu(runner)
    assert runner.gpu_error is None
    assert runner.gpus == (gpu,)
    assert [c for c in calls if c[0] == "nvidia-smi"] == [hardware.QUERY_GPU, ["nvidia-smi"]]
    assert runner.summary().endswith(
        f", 1\u00d7 {gpu.name} ({gpu.memory_mib} MiB, driver {gpu.driver}, CUDA {gpu.cuda})"
    )


def test_detect_several_gpus_groups_identical_names() -> None:
    run, _ = fake({QUERY: (0, MULTI_QUERY, ""), "": (0, MULTI_BANNER, "")})
    runner = detect(run)
    assert len(runner.gpus) == 3
    assert {g.cuda for g in runner.gpus} == {"12.2"}
    assert runner.summary().endswith(
        ", 2\u00d7 NVIDIA A100-SXM4-80GB (81920 MiB, driver 535.183.01, CUDA 12.2)"
        " + 1\u00d7 Tesla T4 (15360 MiB, driver 535.183.01, CUDA 12.2)"
    )


def test_detect_without_nvidia_tooling() -> None:
    run, calls = fake({QUERY: FileNotFoundError("nvidia-smi")})
    runner = detect(run)
    assert runner.gpus == ()
    assert runner.gpu_error is None
    assert not has_gpu(runner)
    assert ["nvidia-smi"] not in calls  # the banner is asked only when GPUs were found
    assert runner.summary().endswith(", no GPU")


def test_detect_driver_failure() -> None:
    run, calls = fake({QUERY: (9, DRIVER_FAILURE, "")})
    runner = detect(run)
    assert runner.gpus == ()
    assert runner.gpu_error == DRIVER_FAILURE.splitlines()[0]
    assert ["nvidia-smi"] not in calls
    assert runner.summary().endswith(f", no GPU ({DRIVER_FAILURE.splitlines()[0]})")


def test_detect_failure_with_message_on_stderr_or_none() -> None:
    run, _ = fake({QUERY: (6, "", "No devices were found\n")})
    assert detect(run).gpu_error == "No devices were found"
    run, _ = fake({QUERY: (12, "", "")})
    assert detect(run).gpu_error == "nvidia-smi exited with code 12"


def test_detect_timeout() -> None:
    run, _ = fake({QUERY: TimeoutError("nvidia-smi did not answer")})
    runner = detect(run)
    assert runner.gpus == ()
    assert runner.gpu_error is not None
    assert "timed out" in runner.gpu_error


def test_detect_not_available_fields_and_banner_failure() -> None:
    run, _ = fake({QUERY: (0, NA_QUERY, ""), "": TimeoutError()})
    runner = detect(run)
    (gpu,) = runner.gpus
    assert gpu.cuda is None
    assert gpu.memory_mib is None
    assert runner.summary().endswith(", 1\u00d7 NVIDIA GeForce RTX 3090")


def test_detect_unparseable_output() -> None:
    run, _ = fake({QUERY: (0, "something else entirely\n", "")})
    runner = detect(run)
    assert runner.gpus == ()
    assert runner.gpu_error == "unexpected nvidia-smi output: something else entirely"


def test_detect_survives_a_runner_that_breaks() -> None:
    run, _ = fake({QUERY: PermissionError("denied")})
    assert detect(run).gpu_error == "nvidia-smi could not run: denied"


def test_summary_without_gpu_and_unknown_facts() -> None:
    runner = Runner(
        os="Linux 6.1 x86_64",
        python="3.11.7",
        cpu_model="AMD EPYC 7763 64-Core Processor",
        cpu_count=2,
        memory_mib=23961,
        gpus=(),
        gpu_error=None,
        runner_name=None,
    )
    assert runner.summary() == (
        "Linux 6.1 x86_64, 2 CPUs (AMD EPYC 7763 64-Core Processor), 23.4 GiB RAM, no GPU"
    )
    bare = Runner("Darwin 23.4 arm64", "3.11.7", None, 1, None, (), None, None)
    assert bare.summary() == "Darwin 23.4 arm64, 1 CPU, no GPU"


def test_to_dict_is_json() -> None:
    run, _ = fake({QUERY: (0, MULTI_QUERY, ""), "": (0, MULTI_BANNER, "")})
    data = json.loads(json.dumps(detect(run).to_dict()))
    assert [g["name"] for g in data["gpus"]][-1] == "Tesla T4"
    assert data["gpus"][0]["cuda"] == "12.2"
    assert set(data) == {
        "os",
        "python",
        "cpu_model",
        "cpu_count",
        "memory_mib",
        "gpus",
        "gpu_error",
        "runner_name",
    }


def test_runner_name_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    run, _ = fake({QUERY: FileNotFoundError()})
    monkeypatch.setenv("RUNNER_NAME", "GitHub Actions 12")
    assert detect(run).runner_name == "GitHub Actions 12"
    monkeypatch.delenv("RUNNER_NAME")
    assert detect(run).runner_name is None


def test_proc_parsers() -> None:
    assert hardware._meminfo_mib("MemTotal:       24684084 kB\nMemFree: 1 kB\n") == 24105
    assert hardware._meminfo_mib("nothing") is None
    cpuinfo = "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7763\n"
    assert hardware._cpuinfo_model(cpuinfo) == "AMD EPYC 7763"
    assert hardware._cpuinfo_model("processor : 0\nHardware : BCM2835\n") == "BCM2835"
    assert hardware._cpuinfo_model("processor : 0\n") is None


def test_detect_on_this_machine() -> None:
    # the real default runner: this machine has no GPU, but the call must succeed either way
    runner = detect()
    assert runner.cpu_count >= 1
    assert runner.cpu_count <= (os.cpu_count() or 1)
    assert runner.memory_mib is None or runner.memory_mib > 64
    if os.path.exists("/proc/meminfo"):
        assert runner.memory_mib is not None
    assert runner.python.count(".") == 2
    assert runner.os.split()[0] in {"Linux", "Darwin", "Windows"}
    assert runner.summary().startswith(runner.os + ", ")
    json.dumps(runner.to_dict())


def test_current_is_cached() -> None:
    assert hardware.current() is hardware.current()
