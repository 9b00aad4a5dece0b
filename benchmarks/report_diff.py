"""Measurement 4: `mlci report` against the DVC commands that give the same information."""

from __future__ import annotations

import json
import resource
import shlex
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.harness import Check, Comparison, Results, Shell, Side, at, measure

BASE, HEAD = "v1", "v2"  # tags of the base commit (first dvc.lock) and the head commit
MLCI = ("mlci", "report", "--base", BASE, "--head", HEAD, "--format", "json")
DVC = (
    ("dvc", "metrics", "diff", BASE, HEAD, "--json"),
    ("dvc", "params", "diff", BASE, HEAD, "--json"),
    ("dvc", "diff", BASE, HEAD, "--json"),
)


def _short(argv: tuple[str, ...]) -> str:
    """`dvc metrics diff`, `dvc params diff`, `dvc diff`: the command without its arguments."""
    return " ".join(argv[: argv.index("diff") + 1])


DVC_LABEL = " + ".join(_short(argv) for argv in DVC)
HISTORY = 5_000
GOAL = 0.25  # mlci / the three DVC commands together
HISTORY_GOAL = 1.1  # mlci on the long history / mlci on the small repository

PREPARE_STAGE = """\
  prepare:
    cmd: python prepare.py
    deps: [prepare.py]
    params: [prepare]
    outs: [data]
"""

DVC_YAML = (
    "stages:\n"
    + PREPARE_STAGE
    + """\
  train:
    cmd: python train.py {metrics}
    deps: [train.py, data]
    params: [train]
    metrics: [metrics.json]
"""
)

PREPARE = """\
import json
import os

import yaml

with open("params.yaml", encoding="utf-8") as f:
    params = yaml.safe_load(f)["prepare"]
os.makedirs("data", exist_ok=True)
with open("data/prepared.json", "w", encoding="utf-8") as f:
    json.dump(params, f, sort_keys=True)
with open("data/rows.csv", "w", encoding="utf-8") as f:
    f.write("".join(f"{i},{i * 7 % 13}\\n" for i in range(100)))
"""

# metrics derived from params and data, so that a changed param changes some of them
TRAIN = """\
import hashlib
import json
import sys

import yaml

count = int(sys.argv[1])
out = sys.argv[2] if len(sys.argv) > 2 else "metrics.json"
with open("params.yaml", encoding="utf-8") as f:
    train = yaml.safe_load(f)["train"]
with open("data/prepared.json", encoding="utf-8") as f:
    prepared = json.load(f)


def fraction(*parts):
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return int(digest[:12], 16) / 16**12


if count <= 5:
    metrics = {
        "accuracy": round(fraction(train, prepared, 0), 4),
        "loss": round(fraction(train, prepared, 1), 4),
        "f1": round(fraction(train, prepared, 2), 4),
        "epochs": train["epochs"],
        "samples": 1000,
    }
    metrics = dict(list(metrics.items())[:count])
else:
    per_group = count // len(train)
    metrics = {
        group: {
            f"m{i:03d}": fraction(train[group], prepared[group], i) * 10.0 ** -(i % 6)
            for i in range(per_group)
        }
        for group in sorted(train)
    }
with open(out, "w", encoding="utf-8") as f:
    json.dump(metrics, f, indent=1)
"""

# templating as DVC resolves it: vars, ${...} and a foreach stage (train@a, train@b)
TEMPLATED_YAML = (
    "vars:\n  - params.yaml\nstages:\n"
    + PREPARE_STAGE
    + """\
  train:
    foreach: [a, b]
    do:
      cmd: python train.py {metrics} metrics-${{item}}.json
      deps: [train.py, data]
      params: [train]
      metrics:
        - metrics-${{item}}.json
"""
)


@dataclass(frozen=True)
class Spec:
    name: str
    params: Callable[[bool], dict[str, Any]]  # head=False: the base commit's params
    metrics: int
    history: int = 0  # commits between base and head
    pipelines: int = 1  # >1: a monorepo, one dvc.yaml per folder and none at the root
    templated: bool = False


def small_params(head: bool) -> dict[str, Any]:
    """5 params; the head changes one in each stage."""
    return {
        "prepare": {"seed": 2 if head else 1, "split": 0.2},
        "train": {"lr": 0.05 if head else 0.1, "epochs": 10, "batch": 32},
    }


def _value(j: int, changed: bool) -> Any:
    """Ints, floats, strings, booleans, small floats in turn; p00 (an int) is the one changed."""
    kinds: list[Any] = [j * 3 + 1 + changed, round(0.1 + j / 97, 4), f"choice-{j}", j % 2 == 0]
    return kinds[j % 5] if j % 5 < 4 else float(f"{j % 3 + 1}e-05")


def wide_params(head: bool) -> dict[str, Any]:
    """1,000 params: 2 sections of 10 groups of 50; the head changes one in groups g00 to g04."""
    params: dict[str, Any] = {}
    for section in ("prepare", "train"):
        params[section] = {
            f"g{g:02d}": {f"p{j:02d}": _value(j, head and g < 5 and j == 0) for j in range(50)}
            for g in range(10)
        }
    return params


SPECS = (
    Spec("small", small_params, metrics=5),
    Spec("wide", wide_params, metrics=1_000),
    Spec(f"{HISTORY:,} commits", small_params, metrics=5, history=HISTORY),
    Spec("foreach + vars", small_params, metrics=5, templated=True),
    Spec("20 pipelines", small_params, metrics=5, pipelines=20),
)


def _folders(project: Path, spec: Spec) -> list[Path]:
    if spec.pipelines == 1:
        return [project]
    return [project / f"p{i:02d}" for i in range(spec.pipelines)]


def _write_params(project: Path, spec: Spec, head: bool) -> None:
    text = yaml.safe_dump(spec.params(head), sort_keys=False)
    for folder in _folders(project, spec):
        (folder / "params.yaml").write_text(text, encoding="utf-8")


def _commit(shell: Shell, project: Path, message: str, tag: str | None = None) -> None:
    shell.run(["git", "add", "-A"], project)
    shell.run(["git", "commit", "--quiet", "-m", message], project)
    if tag:
        shell.run(["git", "tag", tag], project)


def _history(shell: Shell, project: Path, commits: int) -> None:
    """`commits` commits on top of HEAD, each changing an unrelated file, in one fast-import."""
    parent = shell.run(["git", "rev-parse", "HEAD"], project).stdout.strip()
    chunks = []
    for i in range(commits):
        message, content = f"history {i}\n", f"{i}\n"
        chunks.append(
            f"commit refs/heads/main\n"
            f"committer mlci bench <bench@example.com> {1_700_000_000 + i} +0000\n"
            f"data {len(message)}\n{message}"
            + (f"from {parent}\n" if i == 0 else "")
            + f"M 100644 inline history.log\ndata {len(content)}\n{content}\n"
        )
    stream = project / ".git" / "history.fi"
    stream.write_text("".join(chunks), encoding="utf-8")
    shell.run(["bash", "-c", f"git fast-import --quiet < {shlex.quote(str(stream))}"], project)
    stream.unlink()
    shell.run(["git", "reset", "--quiet", "--hard"], project)


def build(shell: Shell, dest: Path, spec: Spec) -> Path:
    """A git + DVC repository: base commit `v1` after `dvc repro`, a param change, head `v2`."""
    dest.mkdir(parents=True)
    shell.run(["git", "init", "--quiet", "-b", "main"], dest)
    shell.run(["dvc", "init", "--quiet"], dest)
    pipeline = TEMPLATED_YAML if spec.templated else DVC_YAML
    for folder in _folders(dest, spec):
        folder.mkdir(exist_ok=True)
        (folder / "dvc.yaml").write_text(pipeline.format(metrics=spec.metrics), encoding="utf-8")
        (folder / "prepare.py").write_text(PREPARE, encoding="utf-8")
        (folder / "train.py").write_text(TRAIN, encoding="utf-8")
    _write_params(dest, spec, head=False)
    shell.run(["dvc", "repro", "--quiet", *(["-P"] if spec.pipelines > 1 else [])], dest)
    _commit(shell, dest, "base: first dvc.lock", tag=BASE)
    if spec.history:
        _history(shell, dest, spec.history)
    _write_params(dest, spec, head=True)
    shell.run(["dvc", "repro", "--quiet", *(["-P"] if spec.pipelines > 1 else [])], dest)
    _commit(shell, dest, "head: changed params", tag=HEAD)
    return dest


Changes = dict[str, dict[Any, Any]]  # kind -> key -> (base, head) or status


def mlci_changes(document: dict[str, Any]) -> Changes:
    """What `mlci report --format json` calls changed: metrics, params, data outputs."""
    return {
        "metrics": {
            (m["file"], m["name"]): (m["base"], m["head"])
            for m in document["metrics"]
            if m["base"] != m["head"]
        },
        "params": {
            (p["file"], p["name"]): (p["base"], p["head"])
            for p in document["params"]
            if p["base"] != p["head"]
        },
        # outputs only, as `_outputs` reads dvc diff: a directory without its "/" and its files
        "data": {
            d["path"].rstrip("/"): d["status"] for d in document["data"] if not d.get("within")
        },
    }


def _old_new(by_file: dict[str, dict[str, dict[str, Any]]]) -> dict[Any, Any]:
    return {
        (file, name): (row.get("old"), row.get("new"))
        for file, rows in by_file.items()
        for name, row in rows.items()
    }


def _outputs(diff: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """`dvc diff` per output: a directory as "dir/" (its files dropped), a rename as delete + add."""
    entries: list[tuple[str, str]] = []
    for status, rows in diff.items():
        for row in rows:
            path = row["path"]
            if isinstance(path, dict):  # renamed: {"old": …, "new": …}
                entries += [(path["old"], "deleted"), (path["new"], "added")]
            else:
                entries.append((path, status))
    folders = {path for path, _status in entries if path.endswith("/")}
    return {
        path.rstrip("/"): status
        for path, status in entries
        if path in folders or not any(path.startswith(folder) for folder in folders)
    }


def dvc_changes(metrics: dict[str, Any], params: dict[str, Any], diff: dict[str, Any]) -> Changes:
    return {"metrics": _old_new(metrics), "params": _old_new(params), "data": _outputs(diff)}


def differences(mlci: Changes, dvc: Changes, shown: int = 5) -> list[str]:
    lines = []
    for kind, ours in mlci.items():
        theirs = dvc[kind]
        keys = sorted({*ours, *theirs}, key=str)
        differing = [k for k in keys if ours.get(k, "(absent)") != theirs.get(k, "(absent)")]
        for key in differing[:shown]:
            name = ":".join(key) if isinstance(key, tuple) else key
            lines.append(
                f"{kind} {name}: mlci {ours.get(key, '(absent)')!r}, dvc {theirs.get(key, '(absent)')!r}"
            )
        if len(differing) > shown:
            lines.append(f"{kind}: {len(differing) - shown} more differ")
    return lines


def check_agreement(shell: Shell, name: str, project: Path, results: Results) -> None:
    """One untimed run of every command (the warm-up), its JSON compared side by side."""
    mlci = mlci_changes(json.loads(shell.run(MLCI, project).stdout))
    outputs = [json.loads(shell.run(argv, project).stdout or "{}") for argv in DVC]
    dvc = dvc_changes(*outputs)
    if found := differences(mlci, dvc):
        detail = "differ: " + "; ".join(found)
    elif found := [kind for kind, changes in mlci.items() if not changes]:
        detail = f"no {', no '.join(found)} changed on either side: the setup is broken"
    else:
        counts = ", ".join(f"{len(changes)} {kind}" for kind, changes in mlci.items())
        detail = f"the same changes ({counts} changed, same old/new values and statuses)"
    results.checks.append(
        Check(f"{name}: mlci report agrees with the three dvc commands", not found, detail)
    )


def build_all(shell: Shell, tmp: Path) -> list[tuple[Spec, Path]]:
    return [(spec, build(shell, tmp / f"report-{i}", spec)) for i, spec in enumerate(SPECS)]


def measure_report(
    shell: Shell, repos: list[tuple[Spec, Path]], reps: int, results: Results
) -> None:
    for spec, project in repos:
        check_agreement(shell, spec.name, project, results)
    # every repository's four commands take turns in one loop: drift hits them all alike
    sides = [
        Side(f"{spec.name}: {' '.join(argv)}", argv, at(project))
        for spec, project in repos
        for argv in (MLCI, *DVC)
    ]
    times = measure(shell, sides, reps, warmup=0)  # check_agreement ran each command once
    dvc_times: dict[str, list[float]] = {}
    for index, (spec, _project) in enumerate(repos):
        mlci, *plain = times[index * 4 : index * 4 + 4]
        dvc_times[spec.name] = [sum(run) for run in zip(*plain, strict=True)]
        results.comparisons.append(
            Comparison(
                f"{spec.name}: {' '.join(MLCI)}",
                mlci,
                f"{spec.name}: {DVC_LABEL}",
                dvc_times[spec.name],
                goal=GOAL,
            )
        )
        medians = ", ".join(
            f"{_short(argv)} {statistics.median(run):.3f} s"
            for argv, run in zip(DVC, plain, strict=True)
        )
        results.notes.append(f"{spec.name}: {medians}")
    layouts = [c for c in results.comparisons if c.goal == GOAL]
    worst = max(layouts, key=lambda c: c.ratio)
    ratios = sorted(c.ratio for c in layouts)
    results.notes.append(
        f"mlci report / the three dvc commands over {len(layouts)} layouts: median "
        f"{statistics.median(ratios):.2f}×, worst {worst.ratio:.2f}× ({worst.subject.split(':')[0]})"
    )
    results.comparisons.append(history(shell, repos, reps * 3, results))
    small, long = SPECS[0].name, SPECS[2].name
    results.comparisons.append(
        Comparison(
            f"{long}: {DVC_LABEL}", dvc_times[long], f"{small}: {DVC_LABEL}", dvc_times[small]
        )
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def history(
    shell: Shell, repos: list[tuple[Spec, Path]], reps: int, results: Results
) -> Comparison:
    """mlci on the long history against the small repository, in CPU time.

    CPU time (user + system of mlci and the git processes it waits for) rather than wall
    time: on a shared 2-core machine other work moves wall medians by ±20 % between runs,
    which would hide growth or invent it. The wall medians are noted beside it.
    """
    (small, small_project), _wide, (long, long_project) = repos[:3]
    cpu: list[list[float]] = [[], []]
    wall: list[list[float]] = [[], []]
    for i in range(1 + reps):  # one untimed warm-up round; the two take turns
        for project, cpu_times, wall_times in zip(
            (long_project, small_project), cpu, wall, strict=True
        ):
            before = _cpu()
            seconds = shell.timed(MLCI, project)
            if i:
                cpu_times.append(_cpu() - before)
                wall_times.append(seconds)
    long_wall, small_wall = (statistics.median(times) for times in wall)
    results.notes.append(
        f"mlci report wall time: {long.name} {long_wall:.3f} s, {small.name} {small_wall:.3f} s"
        f" ({long_wall / small_wall:.2f}×, medians of {reps})"
    )
    return Comparison(
        f"{long.name}: mlci report, CPU time",
        cpu[0],
        f"{small.name}: mlci report, CPU time",
        cpu[1],
        goal=HISTORY_GOAL,
    )
