"""Measurement 5: the served bento against `mlflow models serve` and a bare FastAPI app.

The same scikit-learn model three ways, each server with one worker on 127.0.0.1:

- ``bentoml serve`` of the bento mlci builds (pipelines/digits/service.py: validated
  rows, adaptive batching);
- ``mlflow models serve --env-manager local`` of the model logged with
  ``mlflow.sklearn.log_model`` (a pipeline: the /16 scaling, then the same estimator)
  into a sqlite store;
- a bare FastAPI app calling the model directly: the near-limit of a Python server.

A small asyncio HTTP/1.1 client (keep-alive, CONCURRENCY connections) sends a one-row and
a 100-row body to each for SECONDS (bounded in time and in requests) after a short
warm-up; requests/s, p50/p99 latency, errors and the cold start (launch → ready) end up
in a table. Every server is stopped, process group and all, before this returns. The
servers are in serving_servers.py, the load generator in serving_client.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import Check, Comparison, Results, Shell
from benchmarks.serving_client import CONCURRENCY, REQUEST_TIMEOUT, Load, hammer
from benchmarks.serving_servers import REPO, Server, bento_server, fastapi_server, mlflow_server

SECONDS = 10.0
WARMUP_SECONDS = 1.5
ROUNDS = 4  # each server's SECONDS split into turns
BATCH_ROWS = 100
GOAL_RPS = 1.5  # bento requests/s at least 1.5 times mlflow's ...
GOAL_P99 = 1.0  # ... at a p99 no worse than mlflow's
TOOLS = ("bentoml", "mlflow", "uvicorn")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a server: the process and its descendants (workers)."""
    from mlci.release.processes import process_tree

    total = 0
    for child, _start in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def missing_tools(bin_dir: Path) -> list[str]:
    return [tool for tool in TOOLS if not (bin_dir / tool).exists()]


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 (127.0.0.1)
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
        return json.loads(response.read())


# ---------------------------------------------------------------- the model they serve


def _model_dir(tmp: Path) -> tuple[Path, str]:
    """The reference project's trained sklearn model, else a stand-in trained here."""
    from pipelines.digits.model import load_meta, save_sklearn

    repo_model = REPO / "models" / "digits"
    if (repo_model / "meta.json").is_file() and load_meta(repo_model)["backend"] == "sklearn":
        dest = tmp / "model"
        shutil.copytree(repo_model, dest)
        return dest, "models/digits (the reference project's sklearn MLP)"
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = MLPClassifier((64,), max_iter=30, random_state=0).fit(x / 16.0, y)
    return save_sklearn(estimator, {"hidden": 64}, tmp / "model"), "a stand-in sklearn MLP"


# ---------------------------------------------------------------- measuring and reporting


@dataclass(frozen=True)
class Row:
    server: str
    body: str
    load: Load
    cold_start: float
    cpu_seconds: float  # the server's CPU time (all its processes) during the load

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / max(1, len(self.load.latencies))


def _exercise(
    servers: list[Server], bodies: dict[str, list[list[int]]], seconds: float
) -> list[Row]:
    """Per body, the servers take turns in ROUNDS short runs: drift hits all alike."""
    rows = []
    for body_label, body_rows in bodies.items():
        loads = {server.label: Load() for server in servers}
        cpu = dict.fromkeys(loads, 0.0)
        for server in servers:
            hammer(server.url, server.path, server.wrap(body_rows), WARMUP_SECONDS)
        for _round in range(ROUNDS):
            for server in servers:
                before = cpu_seconds(server.pid)
                part = hammer(server.url, server.path, server.wrap(body_rows), seconds / ROUNDS)
                cpu[server.label] += cpu_seconds(server.pid) - before
                loads[server.label].add(part)
        rows.extend(
            Row(server.label, body_label, loads[server.label], server.cold_start, cpu[server.label])
            for server in servers
        )
    return rows


def _check_answers(server: Server, rows: list[list[int]], expected: list[int]) -> str:
    got = server.unwrap(_post(server.url + server.path, server.wrap(rows)))
    if got == expected:
        return ""
    first = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), 0)
    return f"{server.label}: {len(got)} answers, first difference at row {first}"


def table(rows: list[Row]) -> list[str]:
    header = (
        "server",
        "body",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "requests",
        "CPU ms/req",
        "cold start",
    )
    cells = [header] + [
        (
            r.server,
            r.body,
            f"{r.load.rps:,.0f}",
            f"{r.load.percentile(50) * 1000:.1f}",
            f"{r.load.percentile(99) * 1000:.1f}",
            str(r.load.errors),
            f"{r.load.requests:,}",
            f"{r.cpu_ms_per_request:.2f}",
            f"{r.cold_start:.1f} s",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(cells[0]), rule, *(line(row) for row in cells[1:])]


def verdicts(rows: list[Row]) -> list[tuple[str, bool, str]]:
    """Per body: (body, goal met, "N times the req/s, p99 M times")."""
    found = []
    by = {(r.server, r.body): r for r in rows}
    for body in dict.fromkeys(r.body for r in rows):
        b, m = by[("bentoml serve", body)].load, by[("mlflow models serve", body)].load
        rps_ratio = b.rps / m.rps if m.rps else float("inf")
        p99_ratio = b.percentile(99) / m.percentile(99)
        ok = rps_ratio >= GOAL_RPS and p99_ratio <= GOAL_P99 and b.errors == 0
        found.append((body, ok, f"{rps_ratio:.2f}× req/s, p99 {p99_ratio:.2f}×, {b.errors} errors"))
    return found


def measure_serving(
    shell: Shell, tmp: Path, results: Results, seconds: float = SECONDS
) -> list[str]:
    """Start the three servers, load them in turns, stop them; fill `results`; return the
    table lines."""
    from sklearn.datasets import load_digits

    tmp = tmp / "serving"
    tmp.mkdir()
    model_dir, model_note = _model_dir(tmp)
    x = load_digits().data.astype(np.int64)
    bodies = {"1 row": x[:1].tolist(), f"{BATCH_ROWS} rows": x[:BATCH_ROWS].tolist()}
    from pipelines.digits.model import load

    expected = [int(v) for v in load(model_dir).predict(x[:BATCH_ROWS])]
    wrong: list[str] = []
    starts = [
        lambda: bento_server(shell, tmp, model_dir),
        lambda: mlflow_server(shell, tmp, model_dir, x[:2].tolist()),
        lambda: fastapi_server(shell, tmp, model_dir),
    ]
    with contextlib.ExitStack() as running:  # every server stopped on the way out
        servers = []
        for start in starts:  # one at a time: each cold start has the machine to itself
            server = running.enter_context(start())
            print(f"  {server.label}: ready in {server.cold_start:.1f} s", flush=True)
            if problem := _check_answers(server, x[:BATCH_ROWS].tolist(), expected):
                wrong.append(problem)
            servers.append(server)
        print(f"  load: {CONCURRENCY} connections, {', '.join(bodies)}", flush=True)
        rows = _exercise(servers, bodies, seconds)
    lines = table(rows)
    for body, ok, detail in verdicts(rows):
        lines.append(
            f"bento/mlflow, {body}: {detail} — goal ≥ {GOAL_RPS:g}× req/s at ≤ p99, no errors: "
            + ("PASS" if ok else "MISS")
        )
    lines.append(
        f"model: {model_note}; concurrency {CONCURRENCY}, {seconds:g} s per row in "
        f"{ROUNDS} turns after {WARMUP_SECONDS:g} s warm-up; one worker per server; "
        f"{len(os.sched_getaffinity(0))} CPUs shared by the servers and the client; "
        "CPU ms/req: the server's own CPU time per answered request"
    )
    errors = sum(r.load.errors for r in rows)
    first = next((f"{r.server}: {r.load.first_error}" for r in rows if r.load.errors), "")
    results.checks.append(
        Check(
            "serving: right answers, no errors",
            not wrong and errors == 0,
            "; ".join(wrong) or (f"{errors} errors ({first})" if errors else "all 3 servers"),
        )
    )
    by = {(r.server, r.body): r for r in rows}
    for body in bodies:
        b, m = by[("bentoml serve", body)], by[("mlflow models serve", body)]
        results.comparisons.append(
            Comparison(
                f"bentoml serve: s per 1000 req, {body}",
                [1000 / b.load.rps],
                "mlflow models serve",
                [1000 / m.load.rps],
                goal=round(1 / GOAL_RPS, 3),
            )
        )
        results.comparisons.append(
            Comparison(
                f"bentoml serve: p99, {body}",
                [b.load.percentile(99)],
                "mlflow models serve",
                [m.load.percentile(99)],
                goal=GOAL_P99,
            )
        )
    cold = {r.server: r.cold_start for r in rows}
    results.comparisons.append(
        Comparison(
            "bentoml serve: cold start",
            [cold["bentoml serve"]],
            "mlflow models serve",
            [cold["mlflow models serve"]],
        )
    )
    results.notes.extend(f"serving: {line}" for line in lines)
    return lines


def main() -> int:
    """`python -m benchmarks.serving`: only this measurement, its table printed."""
    import tempfile

    from benchmarks.harness import isolated_env

    bin_dir = Path(sys.executable).parent
    if missing := missing_tools(bin_dir):
        print(f"cannot benchmark serving: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="mlci-bench-serving-"))
    try:
        results = Results()
        started = time.perf_counter()
        lines = measure_serving(Shell(isolated_env(tmp, bin_dir)), tmp, results)
        print("\n".join(["", *lines, *(f"{c.name}: {c.detail}" for c in results.checks)]))
        print(f"whole serving benchmark: {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(c.ok for c in results.checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
