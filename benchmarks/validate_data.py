"""Measurement: `mlci validate data` against the same suite run by Great Expectations directly.

A generated CSV of 1,000,000 rows x 10 columns (8 numeric, 2 categorical; seeded)
and a suite of 10 expectations, validated three ways, each a fresh process per
repetition: mlci's CLI in a git repository with a `gx/` file context; a script
running the same suite through GX (pandas read, ephemeral context, dataframe
asset, ValidationDefinition); and the same 10 conditions in plain pandas.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchmarks import startup
from benchmarks.harness import BenchError, Check, Comparison, Results, Shell, Side, at, measure

ROWS = 1_000_000
SEED = 20_240_601
GOAL = 1.1  # mlci / GX directly
SUITE = "big"
CITIES = ("Berlin", "Lisbon", "Oslo", "Rome", "Vienna")
SEGMENTS = ("A", "B", "C")
COLUMNS = ("id", "age", "income", "score", "x1", "x2", "x3", "x4", "city", "segment")
# (line of the data file, 0 = header, column index, new text): an out-of-range age, a null income
CORRUPTIONS = ((123_457, 1, "200"), (654_322, 2, ""))
EXPECTED_FAILURES: set[tuple[str, str | None]] = {
    ("expect_column_values_to_be_between", "age"),
    ("expect_column_values_to_not_be_null", "income"),
}
EXPECTATIONS: list[dict[str, Any]] = [
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": list(COLUMNS)}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": ROWS, "max_value": ROWS}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 90}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "score", "min_value": 0, "max_value": 1}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "city", "value_set": list(CITIES)}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "segment", "value_set": list(SEGMENTS)}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "id", "type_": "int64"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
]  # fmt: skip

PYPROJECT = f"""\
[project]
name = "validate-bench"
version = "0"

[tool.mlci.data.big]
path = "data/big.csv"
suite = "{SUITE}"
"""

# argv: rows, seed, clean.csv, corrupt.csv, corruptions, categories (JSON)
GENERATE = """\
import json
import sys

import numpy as np
import pandas as pd

rows, seed, clean, corrupt, corruptions, categories = sys.argv[1:]
cities, segments = json.loads(categories)
rows = int(rows)
rng = np.random.default_rng(int(seed))
frame = pd.DataFrame(
    {
        "id": np.arange(rows, dtype="int64"),
        "age": rng.integers(18, 91, rows),
        "income": rng.lognormal(10, 0.5, rows).round(2),
        "score": rng.random(rows).round(4),
        **{f"x{i}": rng.normal(size=rows).round(4) for i in range(1, 5)},
        "city": rng.choice(cities, rows),
        "segment": rng.choice(segments, rows),
    }
)
frame.to_csv(clean, index=False)
with open(clean, "rb") as f:
    lines = f.read().split(b"\\n")
for line, column, text in json.loads(corruptions):
    fields = lines[line].split(b",")
    fields[column] = text.encode()
    lines[line] = b",".join(fields)
with open(corrupt, "wb") as f:
    f.write(b"\\n".join(lines))
"""

# argv: repository, expectations as JSON; the suite written through GX's file context
SUITE_SETUP = f"""\
import json
import os
import sys

os.environ["GX_ANALYTICS_ENABLED"] = "false"
import great_expectations as gx
import great_expectations.expectations as gxe

context = gx.get_context(mode="file", project_root_dir=sys.argv[1])
expectations = [
    getattr(gxe, "".join(part.title() for part in e["type"].split("_")))(**e["kwargs"])
    for e in json.loads(sys.argv[2])
]
context.suites.add(gx.ExpectationSuite(name={SUITE!r}, expectations=expectations))
"""

# argv: data.csv, suite.json (the file GX wrote); prints {"checks": n, "failed": [[type, column]]}
GX_DIRECT = """\
import json
import os
import sys

os.environ["GX_ANALYTICS_ENABLED"] = "false"
import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

frame = pd.read_csv(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    document = json.load(f)
context = gx.get_context(mode="ephemeral")
context.variables.progress_bars = ProgressBarsConfig(globally=False)
suite = context.suites.add(
    gx.ExpectationSuite(name=document["name"], expectations=document["expectations"])
)
definition = (
    context.data_sources.add_pandas("bench")
    .add_dataframe_asset("big")
    .add_batch_definition_whole_dataframe("all")
)
validation = gx.ValidationDefinition(name="bench", data=definition, suite=suite)
outcome = validation.run(
    batch_parameters={"dataframe": frame},
    result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
)
failed = [
    [r.expectation_config.type, r.expectation_config.kwargs.get("column")]
    for r in outcome.results
    if not r.success
]
print(json.dumps({"checks": len(outcome.results), "failed": failed}))
"""

# argv: data.csv, expectations.json; the same conditions in pandas, same output as GX_DIRECT
PANDAS = """\
import json
import sys

import pandas as pd

frame = pd.read_csv(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    expectations = json.load(f)
failed = []
for e in expectations:
    kind, kw = e["type"], e["kwargs"]
    column = kw.get("column")
    values = frame[column] if column else None
    if kind == "expect_table_columns_to_match_set":
        ok = set(frame.columns) == set(kw["column_set"])
    elif kind == "expect_table_row_count_to_be_between":
        ok = kw["min_value"] <= len(frame) <= kw["max_value"]
    elif kind == "expect_column_values_to_not_be_null":
        ok = not values.isna().any()
    elif kind == "expect_column_values_to_be_between":
        present = values.dropna()
        ok = bool(present.between(kw["min_value"], kw["max_value"]).all())
    elif kind == "expect_column_values_to_be_in_set":
        ok = bool(values.dropna().isin(kw["value_set"]).all())
    elif kind == "expect_column_values_to_be_of_type":
        ok = str(values.dtype) == kw["type_"]
    elif kind == "expect_column_values_to_be_unique":
        ok = not values.dropna().duplicated().any()
    else:
        raise SystemExit(f"no pandas check for {kind}")
    if not ok:
        failed.append([kind, column])
print(json.dumps({"checks": len(expectations), "failed": failed}))
"""

Failures = set[tuple[str, str | None]]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def build(shell: Shell, work: Path) -> tuple[Path, Path, Path]:
    """The scripts, clean and corrupt CSVs and the mlci repository; returns (repo, clean, corrupt)."""
    work.mkdir(parents=True)
    for name, text in (("generate.py", GENERATE), ("suite_setup.py", SUITE_SETUP)):
        _write(work, name, text)
    _write(work, "gx_direct.py", GX_DIRECT)
    _write(work, "pandas_checks.py", PANDAS)
    _write(work, "expectations.json", json.dumps(EXPECTATIONS))
    clean, corrupt = work / "clean.csv", work / "corrupt.csv"
    corruptions = json.dumps([list(c) for c in CORRUPTIONS])
    categories = json.dumps([CITIES, SEGMENTS])
    argv = [str(ROWS), str(SEED), str(clean), str(corrupt), corruptions, categories]
    shell.run(["python", "generate.py", *argv], work)
    repo = work / "repo"
    repo.mkdir()
    shell.run(["git", "init", "--quiet", "-b", "main"], repo)
    _write(repo, "pyproject.toml", PYPROJECT)
    _write(repo, ".gitignore", "data/\n.mlci/\n")  # data lives outside git, as with DVC
    shell.run(["python", str(work / "suite_setup.py"), str(repo), json.dumps(EXPECTATIONS)], repo)
    (repo / "data").mkdir()
    shutil.copyfile(clean, repo / "data" / "big.csv")
    shell.run(["git", "add", "-A"], repo)
    shell.run(["git", "commit", "--quiet", "-m", "suite and config"], repo)
    return repo, clean, corrupt


def _mlci(repo: Path) -> tuple[str, ...]:
    return ("mlci", "-C", str(repo), "validate", "data", "--base", "HEAD")


def _script(work: Path, script: str, data: Path, spec: Path) -> tuple[str, ...]:
    return ("python", str(work / script), str(data), str(spec))


def _suite_file(repo: Path) -> Path:
    return repo / "gx" / "expectations" / f"{SUITE}.json"


def _mlci_failures(shell: Shell, repo: Path) -> tuple[int, int, Failures]:
    """mlci's exit code, its number of checks and failing (expectation, column) pairs."""
    proc = subprocess.run(
        list(_mlci(repo)), cwd=repo, env=shell.env, capture_output=True, text=True, check=False
    )
    if proc.returncode not in (0, 1):
        raise BenchError(_mlci(repo), repo, proc)
    document = json.loads((repo / ".mlci" / "validation" / "data.json").read_text("utf-8"))
    checks = document["checks"]
    failed = {(c["name"], c["target"]) for c in checks if c["verdict"] == "fail"}
    return proc.returncode, len(checks), failed


def _script_failures(shell: Shell, argv: tuple[str, ...], cwd: Path) -> tuple[int, Failures]:
    found = json.loads(shell.run(argv, cwd).stdout)
    return int(found["checks"]), {(kind, column) for kind, column in found["failed"]}


def _shown(failures: Failures) -> str:
    return ", ".join(f"{kind}({column or 'table'})" for kind, column in sorted(failures, key=str))


def check_agreement(
    shell: Shell, work: Path, repo: Path, data: Path, expected: Failures, label: str
) -> Check:
    """mlci, GX and pandas on the dataset in repo/data/big.csv (a copy of `data`)."""
    shutil.copyfile(data, repo / "data" / "big.csv")
    code, mlci_count, mlci = _mlci_failures(shell, repo)
    gx_count, gx = _script_failures(
        shell, _script(work, "gx_direct.py", data, _suite_file(repo)), work
    )
    pd_count, pd = _script_failures(
        shell, _script(work, "pandas_checks.py", data, work / "expectations.json"), work
    )
    counts = {mlci_count, gx_count, pd_count}
    problems = []
    if counts != {len(EXPECTATIONS)}:
        problems.append(f"checks counted: mlci {mlci_count}, GX {gx_count}, pandas {pd_count}")
    if code != (1 if expected else 0):
        problems.append(f"mlci exited {code}")
    for side, found in (("mlci", mlci), ("GX", gx), ("pandas", pd)):
        if found != expected:
            problems.append(f"{side} failed [{_shown(found)}]")
    wanted = f"fail [{_shown(expected)}]" if expected else "pass"
    detail = (
        "; ".join(problems) + f" (expected: {wanted})"
        if problems
        else f"all {len(EXPECTATIONS)} checks counted by each; mlci (exit {code}), GX and pandas all {wanted}"
    )
    return Check(f"validate {label}: mlci, GX and pandas agree", not problems, detail)


def _import_notes(shell: Shell, repo: Path, reps: int, results: Results) -> None:
    line, packages = startup.import_profile(shell, "import mlci.validate.data", repo)
    heavy = sorted(packages.intersection(startup.HEAVY))
    results.notes.append(
        line + (f"; imports {', '.join(heavy)}" if heavy else "; no heavy package imported")
    )
    argv = ("python", "-c", "import great_expectations")
    (times,) = measure(shell, [Side("import gx", argv, at(repo))], reps, warmup=1)
    median = sorted(times)[len(times) // 2]
    results.notes.append(
        f'`python -c "import great_expectations"`: {median:.3f} s wall (median of {reps})'
    )


def measure_validate(shell: Shell, tmp: Path, reps: int, results: Results) -> None:
    work = tmp / "validate"
    repo, clean, corrupt = build(shell, work)
    try:
        # the clean run is each side's untimed warm-up (OS cache of the CSV and the venv)
        results.checks.append(check_agreement(shell, work, repo, clean, set(), "clean data"))
        shutil.copyfile(clean, repo / "data" / "big.csv")
        spec = work / "expectations.json"
        sides = [
            Side("mlci validate data --base HEAD", _mlci(repo), at(repo)),
            Side(
                "GX directly (pandas read, ValidationDefinition)",
                _script(work, "gx_direct.py", clean, _suite_file(repo)),
                at(work),
            ),
            Side(
                "plain pandas checks",
                _script(work, "pandas_checks.py", clean, spec),
                at(work),
            ),
        ]
        mlci, gx, pandas = measure(shell, sides, reps, warmup=0)
        label = f"{ROWS:,} rows × {len(COLUMNS)}, {len(EXPECTATIONS)} expectations"
        results.comparisons += [
            Comparison(f"{label}: {sides[0].label}", mlci, sides[1].label, gx, goal=GOAL),
            Comparison(f"{label}: {sides[0].label}", mlci, sides[2].label, pandas),
            Comparison(f"{label}: {sides[1].label}", gx, sides[2].label, pandas),
        ]
        results.checks.append(
            check_agreement(shell, work, repo, corrupt, EXPECTED_FAILURES, "corrupt data")
        )
        _import_notes(shell, repo, reps, results)
    finally:
        for path in (clean, corrupt, repo / "data" / "big.csv"):
            path.unlink(missing_ok=True)  # 2 x 70 MB: gone before the next measurement
