"""Facts about the machine a run happens on: OS, CPU, memory and NVIDIA GPUs.

Nothing here raises: an unknown fact is None, and a GPU query that failed keeps
its reason in `Runner.gpu_error`.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = [
    "QUERY_GPU",
    "CommandRunner",
    "Gpu",
    "Runner",
    "current",
    "detect",
    "has_gpu",
    "parse_cuda_version",
    "parse_query_gpu",
    "run_command",
]

# (argv) -> (returncode, stdout, stderr). Raises FileNotFoundError when the tool
# is not installed and TimeoutError when it hangs.
CommandRunner = Callable[[list[str]], tuple[int, str, str]]

QUERY_GPU = [
    "nvidia-smi",
    "--query-gpu=index,name,memory.total,driver_version,uuid",
    "--format=csv,noheader,nounits",
]
_TIMEOUT_S = 10
# plain strings: re compiles and caches them on first use, not at import
_CUDA_RE = r"CUDA Version\s*:\s*([0-9]+(?:\.[0-9]+)*)"
_KERNEL_RE = r"^\d+\.\d+"


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_mib: int | None
    driver: str | None
    cuda: str | None
    uuid: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def details(self) -> str:
        parts = []
        if self.memory_mib is not None:
            parts.append(f"{self.memory_mib} MiB")
        if self.driver:
            parts.append(f"driver {self.driver}")
        if self.cuda:
            parts.append(f"CUDA {self.cuda}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Runner:
    os: str
    python: str
    cpu_model: str | None
    cpu_count: int
    memory_mib: int | None
    gpus: tuple[Gpu, ...]
    gpu_error: str | None
    runner_name: str | None

    def to_dict(self) -> dict[str, Any]:
        # the GPUs as a JSON list, in the field order of the dataclass
        return asdict(self) | {"gpus": [gpu.to_dict() for gpu in self.gpus]}

    def summary(self) -> str:
        cpus = f"{self.cpu_count} CPU{'' if self.cpu_count == 1 else 's'}"
        if self.cpu_model:
            cpus += f" ({self.cpu_model})"
        parts = [self.os, cpus]
        if self.memory_mib is not None:
            parts.append(f"{self.memory_mib / 1024:.1f} GiB RAM")
        parts.append(_gpu_summary(self.gpus, self.gpu_error))
        return ", ".join(parts)


def _gpu_summary(gpus: tuple[Gpu, ...], error: str | None) -> str:
    if not gpus:
        return f"no GPU ({error})" if error else "no GPU"
    groups: dict[tuple[str, str], int] = {}
    for gpu in gpus:
        key = (gpu.name, gpu.details())
        groups[key] = groups.get(key, 0) + 1
    return " + ".join(
        f"{count}\u00d7 {name}" + (f" ({details})" if details else "")
        for (name, details), count in groups.items()
    )


def has_gpu(runner: Runner) -> bool:
    return bool(runner.gpus)


def _value(field: str) -> str | None:
    field = field.strip()
    # nvidia-smi writes "[N/A]", "[Not Supported]", "[Unknown Error]" for missing values
    if not field or (field.startswith("[") and field.endswith("]")) or field == "N/A":
        return None
    return field


def _int(field: str) -> int | None:
    value = _value(field)
    if value is None:
        return None
    value = value.removesuffix("MiB").strip()
    try:
        return int(float(value))
    except ValueError:
        return None


def parse_query_gpu(csv_text: str, cuda: str | None) -> tuple[Gpu, ...]:
    gpus: list[Gpu] = []
    for line in csv_text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 5:
            continue
        # a name holding a comma would split in two: the last three fields are fixed
        index, name, (memory, driver, uuid) = fields[0], ",".join(fields[1:-3]), fields[-3:]
        position = _int(index)
        gpus.append(
            Gpu(
                index=len(gpus) if position is None else position,
                name=_value(name) or "unknown GPU",
                memory_mib=_int(memory),
                driver=_value(driver),
                cuda=cuda,
                uuid=_value(uuid),
            )
        )
    return tuple(gpus)


def parse_cuda_version(banner: str) -> str | None:
    match = re.search(_CUDA_RE, banner)
    return match.group(1) if match else None


def run_command(argv: list[str]) -> tuple[int, str, str]:
    import subprocess

    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{argv[0]} did not answer within {_TIMEOUT_S}s") from exc
    return done.returncode, done.stdout or "", done.stderr or ""


def _first_line(*texts: str) -> str | None:
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                return line.strip()
    return None


def _query_gpus(run: CommandRunner) -> tuple[tuple[Gpu, ...], str | None]:
    try:
        code, out, err = run(list(QUERY_GPU))
    except FileNotFoundError:
        return (), None
    except TimeoutError:
        return (), f"nvidia-smi timed out after {_TIMEOUT_S}s"
    except Exception as exc:  # whatever the runner raises, detection must not
        return (), f"nvidia-smi could not run: {exc}"
    if code != 0:
        return (), _first_line(out, err) or f"nvidia-smi exited with code {code}"
    gpus = parse_query_gpu(out, None)
    if not gpus:
        line = _first_line(out, err)
        return (), f"unexpected nvidia-smi output: {line}" if line else None
    cuda = _cuda_version(run)
    return tuple(replace(gpu, cuda=cuda) for gpu in gpus), None


def _cuda_version(run: CommandRunner) -> str | None:
    try:
        code, out, _ = run(["nvidia-smi"])
    except Exception:
        return None
    return parse_cuda_version(out) if code == 0 else None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _meminfo_mib(text: str) -> int | None:
    match = re.search(r"^MemTotal:\s*(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) // 1024 if match else None


def _cpuinfo_model(text: str) -> str | None:
    # x86 says "model name"; some ARM and other kernels use the other keys
    for key in ("model name", "Model", "Hardware", "cpu model", "cpu"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match and match.group(1).strip():
            return match.group(1).strip()
    return None


def _memory_mib() -> int | None:
    text = _read("/proc/meminfo")
    if text and (mib := _meminfo_mib(text)) is not None:
        return mib
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (AttributeError, ValueError, OSError):
        return None


def _cpu_model(run: CommandRunner) -> str | None:
    if sys.platform.startswith("linux"):
        text = _read("/proc/cpuinfo")
        return _cpuinfo_model(text) if text else None
    if sys.platform == "darwin":
        try:
            code, out, _ = run(["sysctl", "-n", "machdep.cpu.brand_string"])
        except (OSError, TimeoutError):
            return None
        return (out.strip() or None) if code == 0 else None
    import platform

    return platform.processor() or None


def _cpu_count() -> int:
    try:
        # the CPUs this process may use, which a container can limit below the host's
        return len(os.sched_getaffinity(0)) or os.cpu_count() or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _os_name() -> str:
    try:
        uname = os.uname()
    except AttributeError:
        import platform

        return f"{platform.system()} {platform.release()} {platform.machine()}".strip()
    release = re.match(_KERNEL_RE, uname.release)
    return f"{uname.sysname} {release.group(0) if release else uname.release} {uname.machine}"


def detect(run: CommandRunner = run_command) -> Runner:
    gpus, gpu_error = _query_gpus(run)
    return Runner(
        os=_os_name(),
        python=".".join(str(part) for part in sys.version_info[:3]),
        cpu_model=_cpu_model(run),
        cpu_count=_cpu_count(),
        memory_mib=_memory_mib(),
        gpus=gpus,
        gpu_error=gpu_error,
        runner_name=os.environ.get("RUNNER_NAME") or None,
    )


@functools.cache
def current() -> Runner:
    return detect()
