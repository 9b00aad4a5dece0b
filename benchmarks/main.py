"""`python -m benchmarks`: set up throwaway copies of the reference project, measure, report."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from benchmarks import clone, noop, project, report, startup
from benchmarks.harness import BenchError, Results, Shell, isolated_env

REPO = Path(__file__).resolve().parents[1]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--fast", type=int, default=10, help="repetitions of startup commands")
    parser.add_argument("--noop", type=int, default=7, help="repetitions of no-op runs")
    parser.add_argument("--slow", type=int, default=3, help="repetitions of clone and full runs")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir, print its path")
    args = parser.parse_args(argv)
    if min(args.fast, args.noop, args.slow) < 1:
        parser.error("repetitions must be at least 1")
    return args


def _machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = ", ".join(f"{name} {version(name)}" for name in ("mlci", "dvc", "click"))
    return f"{cores} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}; {versions}"


def _step(message: str) -> None:
    print(f"› {message}", flush=True)


def _missing_tools(bin_dir: Path) -> list[str]:
    return [tool for tool in ("python", "mlci", "dvc") if not (bin_dir / tool).exists()]


def _measure(shell: Shell, tmp: Path, args: argparse.Namespace) -> Results:
    results = Results()
    _step("copying the reference project into a fresh git repository")
    remote = tmp / "remote"
    source = project.new_repo(shell, REPO, tmp / "source", remote)

    _step(f"1/3 startup: mlci --help, mlci config vs import click ({args.fast}×)")
    startup.measure_startup(shell, source, args.fast, results)
    startup.check_cli_imports(shell, source, results)
    startup.profile_config(shell, source, results)

    _step("first full `mlci run` (fills the remote), dvc.lock committed")
    shell.run(["mlci", "run"], source)
    project.commit_all(shell, source, "dvc.lock of the first run")
    noop.settle(shell, source, remote)
    _step(f"2/3 no-op runs vs plain dvc ({args.noop}×)")
    noop.measure_noop(shell, source, args.noop, results)

    _step(f"3/3 fresh clone with a warm remote vs a full run ({args.slow}×)")
    clone.measure_clone(shell, source, remote, tmp, args.slow, results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    bin_dir = Path(sys.executable).parent
    if missing := _missing_tools(bin_dir) + project.missing_files(REPO):
        print(f"cannot benchmark: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="mlci-bench-"))
    started = time.perf_counter()
    try:
        results = _measure(Shell(isolated_env(tmp, bin_dir)), tmp, args)
    except BenchError as exc:
        print(f"\nFAILED: {exc}\n{exc.tail()}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    reps = f"{args.fast} startup, {args.noop} no-op, {args.slow} clone/full"
    elapsed = time.perf_counter() - started
    print("\n" + "\n".join(report.summary(_machine(), reps, results, elapsed)))
    return 0 if all(check.ok for check in results.checks) else 1
