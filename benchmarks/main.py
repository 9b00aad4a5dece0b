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

from benchmarks import (
    clone,
    fanout,
    footprint,
    noop,
    project,
    registry,
    report,
    report_diff,
    restore,
    serving,
    startup,
    validate_data,
)
from benchmarks.harness import BenchError, Results, Shell, isolated_env

REPO = Path(__file__).resolve().parents[1]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--fast", type=int, default=10, help="repetitions of startup commands")
    parser.add_argument("--noop", type=int, default=7, help="repetitions of no-op runs")
    parser.add_argument("--slow", type=int, default=3, help="repetitions of clone and full runs")
    parser.add_argument("--report", type=int, default=5, help="repetitions of report diffs")
    parser.add_argument(
        "--report-only", action="store_true", help="run only measurement 4, mlci report"
    )
    parser.add_argument(
        "--serving", type=float, default=serving.SECONDS, help="seconds of load per server and body"
    )
    parser.add_argument(
        "--serving-only", action="store_true", help="run only the serving measurement"
    )
    parser.add_argument("--registry", type=int, default=5, help="repetitions of registry reads")
    parser.add_argument(
        "--registry-only", action="store_true", help="run only the model registry measurement"
    )
    parser.add_argument("--validate", type=int, default=3, help="repetitions of data validation")
    parser.add_argument(
        "--validate-only", action="store_true", help="run only the data validation measurement"
    )
    parser.add_argument(
        "--footprint-only", action="store_true", help="run only the install footprint measurement"
    )
    parser.add_argument(
        "--restore-only",
        action="store_true",
        help="run only the S3 restore measurement (mlci run vs dvc pull/repro/push)",
    )
    parser.add_argument(
        "--fanout-only", action="store_true", help="run only the fan-out measurement (act, S3)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir, print its path")
    args = parser.parse_args(argv)
    if min(args.fast, args.noop, args.slow, args.report) < 1:
        parser.error("repetitions must be at least 1")
    if args.serving <= 0:
        parser.error("--serving must be positive")
    if args.registry < 1:
        parser.error("--registry must be at least 1")
    if args.validate < 1:
        parser.error("--validate must be at least 1")
    return args


def _machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = ", ".join(f"{name} {version(name)}" for name in ("mlci", "dvc", "click"))
    return f"{cores} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}; {versions}"


def _step(message: str) -> None:
    print(f"› {message}", flush=True)


def _missing_tools(bin_dir: Path) -> list[str]:
    return [tool for tool in ("python", "mlci", "dvc") if not (bin_dir / tool).exists()]


def _measure_report(shell: Shell, tmp: Path, args: argparse.Namespace, results: Results) -> None:
    names = ", ".join(spec.name for spec in report_diff.SPECS)
    _step(f"building git + DVC repositories for mlci report: {names}")
    repos = report_diff.build_all(shell, tmp)
    _step(f"4/4 mlci report vs dvc metrics/params diff + dvc diff ({args.report}×)")
    report_diff.measure_report(shell, repos, args.report, results)


def _measure_serving(shell: Shell, tmp: Path, args: argparse.Namespace, results: Results) -> None:
    if missing := serving.missing_tools(Path(sys.executable).parent):
        results.notes.append(f"serving not measured: missing {', '.join(missing)}")
        return
    _step(
        f"serving: bentoml serve vs mlflow models serve vs bare FastAPI ({args.serving:g} s each)"
    )
    for line in serving.measure_serving(shell, tmp, results, args.serving):
        print(f"  {line}", flush=True)


def _measure_registry(shell: Shell, tmp: Path, args: argparse.Namespace, results: Results) -> None:
    if not (Path(sys.executable).parent / "gto").exists():
        results.notes.append("model registry not measured: gto is not installed")
        return
    _step(f"model registry: mlci reading 1,500 GTO tags vs gto show --json ({args.registry}×)")
    registry.measure_registry(shell, tmp, args.registry, results)


def _measure_validate(shell: Shell, tmp: Path, args: argparse.Namespace, results: Results) -> None:
    _step(
        f"data validation: mlci validate data vs GX directly vs pandas, 1,000,000 rows ({args.validate}×)"
    )
    validate_data.measure_validate(shell, tmp, args.validate, results)


def _measure_footprint(shell: Shell, tmp: Path, results: Results) -> None:
    _step("install footprint: the pull-request pipeline job's and the comment job's venvs")
    for line in footprint.measure_footprint(shell, tmp, results):
        print(f"  {line}", flush=True)


def _measure_restore(
    shell: Shell, source: Path, tmp: Path, args: argparse.Namespace, results: Results
) -> None:
    _step(f"restore from S3: fresh clone's mlci run vs dvc pull/repro/push ({args.slow}×)")
    restore.measure_restore(shell, source, tmp, args.slow, results)


def _restore_only(shell: Shell, tmp: Path, args: argparse.Namespace) -> Results:
    results = Results()
    _step("copying the reference project into a fresh git repository")
    source = project.new_repo(shell, REPO, tmp / "source", tmp / "remote")
    _step("first full `mlci run`, dvc.lock committed")
    shell.run(["mlci", "run", "--no-tracking"], source)
    project.commit_all(shell, source, "dvc.lock of the first run")
    _measure_restore(shell, source, tmp, args, results)
    return results


def _measure_fanout(shell: Shell, tmp: Path, results: Results) -> None:
    _step("fan-out: the main workflow under act, fan-out 4 vs one job (a few minutes)")
    for line in fanout.measure_fanout(tmp / "fanout", shell.env, results):
        print(f"  {line}", flush=True)


def _measure(shell: Shell, tmp: Path, args: argparse.Namespace) -> Results:  # noqa: PLR0911 - one return per --X-only
    results = Results()
    if args.fanout_only:
        _measure_fanout(shell, tmp, results)
        return results
    if args.footprint_only:
        _measure_footprint(shell, tmp, results)
        return results
    if args.validate_only:
        _measure_validate(shell, tmp, args, results)
        return results
    if args.registry_only:
        _measure_registry(shell, tmp, args, results)
        return results
    if args.serving_only:
        _measure_serving(shell, tmp, args, results)
        return results
    if args.report_only:
        _measure_report(shell, tmp, args, results)
        return results
    _step("copying the reference project into a fresh git repository")
    remote = tmp / "remote"
    source = project.new_repo(shell, REPO, tmp / "source", remote)

    _step(f"1/4 startup: mlci --help, mlci config vs import click ({args.fast}×)")
    startup.measure_startup(shell, source, args.fast, results)
    startup.check_cli_imports(shell, source, results)
    startup.profile_config(shell, source, results)

    _step("first full `mlci run` (fills the remote), dvc.lock committed")
    shell.run(["mlci", "run"], source)
    project.commit_all(shell, source, "dvc.lock of the first run")
    noop.settle(shell, source, remote)
    _step(f"2/4 no-op runs vs plain dvc ({args.noop}×)")
    noop.measure_noop(shell, source, args.noop, results)

    _step(f"3/4 fresh clone with a warm remote vs a full run ({args.slow}×)")
    clone.measure_clone(shell, source, remote, tmp, args.slow, results)
    _measure_restore(shell, source, tmp, args, results)
    _measure_report(shell, tmp, args, results)
    _measure_serving(shell, tmp, args, results)
    _measure_registry(shell, tmp, args, results)
    _measure_validate(shell, tmp, args, results)
    _measure_footprint(shell, tmp, results)
    _measure_fanout(shell, tmp, results)
    return results


def _repetitions(args: argparse.Namespace, only: bool) -> str:
    """The summary's line of how often each measurement ran."""
    alone = {
        "report_only": f"{args.report} report",
        "serving_only": f"{args.serving:g} s serving load per server and body",
        "registry_only": f"{args.registry} registry",
        "validate_only": f"{args.validate} validate",
        "footprint_only": "1 install per job",
        "restore_only": f"{args.slow} S3 restore",
        "fanout_only": "3 workflow runs each way, alternating",
    }
    for flag, reps in alone.items():
        if getattr(args, flag):
            return reps if flag != "report_only" else f"{reps}, {args.serving:g} s serving load"
    return (
        f"{args.fast} startup, {args.noop} no-op, {args.slow} clone/full, {args.report} report"
        f", {args.serving:g} s serving load, {args.registry} registry, {args.validate} validate"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    bin_dir = Path(sys.executable).parent
    only = (
        args.report_only
        or args.serving_only
        or args.registry_only
        or args.validate_only
        or args.footprint_only
        or args.fanout_only
    )
    needed = [] if only else project.missing_files(REPO)
    if missing := _missing_tools(bin_dir) + needed:
        print(f"cannot benchmark: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="mlci-bench-"))
    started = time.perf_counter()
    try:
        measured = _restore_only if args.restore_only else _measure
        results = measured(Shell(isolated_env(tmp, bin_dir)), tmp, args)
    except BenchError as exc:
        print(f"\nFAILED: {exc}\n{exc.tail()}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    reps = _repetitions(args, only)
    elapsed = time.perf_counter() - started
    print("\n" + "\n".join(report.summary(_machine(), reps, results, elapsed)))
    return 0 if all(check.ok for check in results.checks) else 1
