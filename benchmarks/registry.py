"""Measurement: the model registry, mlci reading GTO's tags against `gto show --json`.

A repository with 300 registered versions of two artifacts and, per version,
dev, staging and prod assignments and a dev unassignment: 1,500 annotated
registry tags plus a few deregistrations, written in one `git fast-import`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from benchmarks.harness import BenchError, Check, Comparison, Results, Shell, Side, at, measure

GOAL = 0.1  # mlci / gto show --json
VERSIONS = {"digits": 240, "encoder": 60}
DEREGISTERED = 10  # of digits' versions, every 24th
START = 1_700_000_000  # tag dates one second apart, so GTO's order is unambiguous
SHOW = (
    "import json, pathlib; from mlci import registry; "
    "print(json.dumps(registry.load(pathlib.Path('.')).show(), indent=4))"
)
MLCI = ("python", "-c", SHOW)
MLCI_CLI = ("mlci", "models", "--format", "json")
GTO = ("gto", "show", "--json")
DVC_YAML = """\
artifacts:
  digits:
    type: model
    path: models/digits
  encoder:
    type: model
    path: models/encoder
"""


def _data(text: str) -> str:
    """fast-import's `data` command; the LF after the bytes is optional, and added once."""
    return f"data {len(text.encode())}\n{text}" + ("" if text.endswith("\n") else "\n")


def _stream() -> tuple[str, int]:
    """A fast-import stream: one commit per version, then every tag; and the tag count."""
    parts: list[str] = []
    tags: list[tuple[str, int, str]] = []  # (tag, commit mark, message)
    mark = 0
    for name, count in VERSIONS.items():
        for i in range(count):
            mark += 1
            version = f"v{i // 100}.{i // 10 % 10}.{i % 10}"
            files = f"M 644 inline dvc.yaml\n{_data(DVC_YAML)}" if mark == 1 else ""
            parts.append(
                f"commit refs/heads/main\nmark :{mark}\n"
                f"committer mlci bench <bench@example.com> {START + mark} +0000\n"
                f"{_data(f'{name} {version}')}"
                f"M 644 inline models/{name}.txt\n{_data(version)}{files}\n"
            )
            tags.append(
                (f"{name}@{version}", mark, f"Registering artifact {name} version {version}")
            )
            for stage in ("dev", "staging", "prod"):
                tags.append((f"{name}#{stage}", mark, f"Assigning stage {stage} to {version}"))
            tags.append((f"{name}#dev!", mark, f"Unassigning stage dev from {version}"))
            if name == "digits" and i % 24 == 23:
                tags.append((f"{name}@{version}!", mark, f"Deregistering {version}"))
    counters: dict[str, int] = {}
    when = START + mark + 100
    for base, commit, message in tags:
        tag = base
        if "#" in base:
            name = base.split("#", 1)[0]
            counters[name] = counters.get(name, 0) + 1
            tag = f"{base}#{counters[name]}"
        when += 1
        parts.append(
            f"tag {tag}\nfrom :{commit}\n"
            f"tagger mlci bench <bench@example.com> {when} +0000\n{_data(message)}"
        )
    return "".join(parts), len(tags)


def build(shell: Shell, repo: Path) -> int:
    """The repository with its registry tags; returns how many tags it has."""
    repo.mkdir(parents=True)
    shell.run(["git", "init", "--quiet", "-b", "main"], repo)
    stream, count = _stream()
    proc = subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        env=shell.env,
        input=stream,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(["git", "fast-import"], repo, proc)
    shell.run(["git", "checkout", "--quiet", "main"], repo)
    return count


def _cli_works(shell: Shell, repo: Path) -> bool:
    proc = subprocess.run(
        list(MLCI_CLI), cwd=repo, env=shell.env, capture_output=True, text=True, check=False
    )
    return proc.returncode == 0


def _agree(results: Results, label: str, mine: str, theirs: str, *, exact: bool) -> None:
    """exact: byte for byte (the Python call prints with gto's indent); else the same JSON data."""
    identical = mine == theirs
    same = identical or (not exact and json.loads(mine) == json.loads(theirs))
    if identical:
        detail = f"{len(mine):,} bytes, identical"
    elif same:
        detail = "the same JSON data (other indentation)"
    else:
        detail = "outputs differ"
    results.checks.append(Check(f"{label} equals gto's", same, detail))


def check_agreement(shell: Shell, repo: Path, results: Results, cli: bool) -> None:
    """mlci's JSON against gto's, for the registry and for one artifact's versions."""
    for name in (None, "digits"):
        gto_argv = ("gto", "show", "--json") if name is None else ("gto", "show", name, "--json")
        theirs = shell.run(gto_argv, repo).stdout.strip()
        show = SHOW if name is None else SHOW.replace(".show()", f".show({name!r})")
        mine = shell.run(("python", "-c", show), repo).stdout.strip()
        shown = "show()" if name is None else f"show({name!r})"
        _agree(results, f"registry.load(root).{shown}", mine, theirs, exact=True)
        if cli:
            argv = MLCI_CLI if name is None else ("mlci", "models", name, "--format", "json")
            mine = shell.run(argv, repo).stdout.strip()
            _agree(results, f"`{' '.join(argv)}`", mine, theirs, exact=False)


def measure_registry(shell: Shell, tmp: Path, reps: int, results: Results) -> None:
    repo = tmp / "registry"
    count = build(shell, repo)
    results.notes.append(
        f"registry: {count:,} annotated registry tags, {sum(VERSIONS.values())} versions"
    )
    cli = _cli_works(shell, repo)
    check_agreement(shell, repo, results, cli)
    sides = [Side("python -c 'registry.load(root).show()'", MLCI, at(repo))]
    if cli:
        sides.append(Side(" ".join(MLCI_CLI), MLCI_CLI, at(repo)))
    sides.append(Side(" ".join(GTO), GTO, at(repo)))
    times = measure(shell, sides, reps, warmup=0)  # check_agreement ran each once
    gto_times = times[-1]
    for side, subject in zip(sides[:-1], times[:-1], strict=True):
        results.comparisons.append(
            Comparison(f"registry: {side.label}", subject, sides[-1].label, gto_times, goal=GOAL)
        )
