"""Terminal output fits COLUMNS, and what it counts adds up.

The installed `mlci` runs as a subprocess, the way a user types it, with COLUMNS
set to 60, 80 and 120, on a git + DVC project whose names are long (and some of
them wide CJK), and on a copy of this repository's reference project. Every line
of stdout and stderr must fit; every table column has a header and content; the
key text (metric, param and check names) is shown whole; the validation counts
agree with each other and with the result file; data drift is shown.
The report's renderer, fed any report in process: test_widths_renderer.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import (
    BIN,
    ROOT,
    commit_all,
    copy_reference_project,
    git,
    isolated_env,
    make_tiny_project,
)

# its module-scoped fixtures are built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("widths")

WIDTHS = (60, 80, 120)
LONG_METRIC = "accuracy_on_the_held_out_validation_rows_of_the_measurements"
WIDE_METRIC = "検証データの精度"  # double-width characters
LONG_PARAM = "learning_rate_for_the_optimizer_of_the_network"
LONG_COLUMN = "temperature_of_the_sensor_in_degrees_celsius"
LONG_CURVE = "validation_accuracy_of_the_model_on_the_held_out_rows"

DVC_YAML = f"""\
stages:
  train_the_model_with_a_rather_long_stage_name:
    cmd: python train.py
    deps: [train.py, data/measurements.csv]
    params: [train]
    metrics: [metrics.json]
    plots:
      - plots/learning_curve_of_the_model.csv:
          title: Validation accuracy of the model per training epoch, on the held-out rows
          x: epoch
          y: {LONG_CURVE}
"""

TRAIN = f"""\
import csv, json, pathlib, yaml
params = yaml.safe_load(open("params.yaml"))["train"]
rows = list(csv.DictReader(open("data/measurements.csv")))
mean = sum(float(r["{LONG_COLUMN}"]) for r in rows) / len(rows)
rate = params["{LONG_PARAM}"]
metrics = {{"{LONG_METRIC}": round(0.9 + rate, 6), "{WIDE_METRIC}": round(mean / 100, 6), "rows": len(rows)}}
json.dump(metrics, open("metrics.json", "w"), ensure_ascii=False)
pathlib.Path("plots").mkdir(exist_ok=True)
with open("plots/learning_curve_of_the_model.csv", "w") as f:
    f.write("epoch,{LONG_CURVE}\\n")
    for epoch in range(40):
        f.write(f"{{epoch}},{{0.5 + 0.4 * (1 - 0.9 ** epoch) + rate}}\\n")
"""

GATES = f"""
[tool.mlci.gates.{LONG_METRIC}]
min = 0.5
max_drop = "1%"

[tool.mlci.gates."{WIDE_METRIC}"]
min = 5.0
severity = "warning"

[tool.mlci.gates.rows]
min = 1
"""


def measurements(shift: float) -> str:
    lines = [f"sensor_id,{LONG_COLUMN},status"]
    lines += [f"{i},{20 + (i % 10) + shift},{'ok' if i % 3 else 'drifting'}" for i in range(1, 201)]
    return "\n".join(lines) + "\n"


def mlci(cwd: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    return subprocess.run(
        [str(BIN / "mlci"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


class Outputs:
    """Each command's output at each width, run once per module."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root, self.home = root, home
        self.seen: dict[tuple[str, int], subprocess.CompletedProcess[str]] = {}

    def __call__(self, command: str, columns: int) -> subprocess.CompletedProcess[str]:
        if (command, columns) not in self.seen:
            with isolated_env(self.home):
                self.seen[command, columns] = mlci(self.root, *command.split(), columns=columns)
        return self.seen[command, columns]


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    """A git + DVC project with long and double-width names, a dataset and gates.

    main: the pipeline run on the first measurements; the branch `feature` (checked out)
    changes a param and shifts the long-named column (drift, and a broken expectation),
    runs again, and validates, uncommitted: `mlci report` compares it with main.
    """
    home = tmp_path_factory.mktemp("home")
    root = tmp_path_factory.mktemp("wide") / "project"
    root.mkdir()
    with isolated_env(home):
        git(root, "init", "-q", "-b", "main")
        subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=root, check=True)
        (root / "dvc.yaml").write_text(DVC_YAML)
        (root / "train.py").write_text(TRAIN)
        (root / "params.yaml").write_text(f"train:\n  {LONG_PARAM}: 0.01\n  seed: 1\n")
        (root / "data").mkdir()
        (root / "data" / "measurements.csv").write_text(measurements(0))
        (root / ".gitignore").write_text("/.mlci/\n")
        done = mlci(root, "init", "--data", "data/measurements.csv")
        assert done.returncode == 0, done.stderr
        with (root / "pyproject.toml").open("a", encoding="utf-8") as f:
            f.write(GATES)
        done = mlci(root, "run", "--no-tracking")
        assert done.returncode == 0, done.stderr
        commit_all(root, "baseline")
        git(root, "checkout", "-q", "-b", "feature")
        (root / "params.yaml").write_text(f"train:\n  {LONG_PARAM}: 0.02\n  seed: 1\n")
        (root / "data" / "measurements.csv").write_text(measurements(30))
        done = mlci(root, "run", "--no-pull", "--no-push")
        assert done.returncode == 0, done.stderr
        for kind in ("data", "model"):
            mlci(root, "validate", kind)
    return Outputs(root, home)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    """The reference project: its pipeline run and committed, then a run with fewer epochs."""
    home = tmp_path_factory.mktemp("home")
    root = copy_reference_project(tmp_path_factory.mktemp("digits") / "digits")
    shutil.copytree(ROOT / "gx", root / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    with isolated_env(home):
        git(root, "init", "-q", "-b", "main")
        commit_all(root, "reference project")
        subprocess.run([sys.executable, "-m", "pipelines.digits.data"], cwd=root, check=True)
        done = mlci(root, "run", "--no-tracking")
        assert done.returncode == 0, done.stderr
        commit_all(root, "baseline run")
        params = (root / "params.yaml").read_text()
        (root / "params.yaml").write_text(params.replace("epochs: 20", "epochs: 12"))
        done = mlci(root, "run", "--no-pull", "--no-push")
        assert done.returncode == 0, done.stderr
        for kind in ("data", "model"):
            mlci(root, "validate", kind, "--base", "HEAD")
    return Outputs(root, home)


def too_wide(text: str, columns: int) -> list[str]:
    return [f"{cell_len(line)}: {line}" for line in text.splitlines() if cell_len(line) > columns]


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """The rich tables in `text`: their headers and rows, split on the column dividers."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        if "╇" not in line:
            continue
        header_lines = []
        back = index - 1
        while back >= 0 and "┃" in lines[back]:
            header_lines.insert(0, lines[back])
            back -= 1
        header_cells = [[c.strip() for c in h.split("┃")] for h in header_lines]
        headers = [" ".join(filter(None, column)) for column in zip(*header_cells, strict=True)]
        rows = []
        forward = index + 1
        while forward < len(lines) and "│" in lines[forward]:
            rows.append([c.strip() for c in lines[forward].split("│")])
            forward += 1
        found.append((headers, rows))
    return found


# --- every command at every width ----------------------------------------------------------

WIDE_COMMANDS = (
    "report",
    "config",
    "doctor",
    "validate data",
    "validate model",
    "models",
    "models wide",
    "run --no-pull --no-push",
    "release wide@v0.0.1",
)


@pytest.mark.slow
@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("command", WIDE_COMMANDS)
def test_every_command_fits_its_terminal(wide: Outputs, command: str, columns: int) -> None:
    done = wide(command, columns)
    assert done.returncode != 4, done.stderr
    assert "Traceback" not in done.stderr
    assert too_wide(done.stdout, columns) == []
    assert too_wide(done.stderr, columns) == []
    if command.startswith("models"):
        return  # the registry's tables are `gto show`'s: tests/surface checks them against it
    for headers, rows in tables(done.stdout):
        assert all(headers), f"a column without a header: {headers}"
        for column, header in enumerate(headers):
            assert any(row[column] for row in rows), f"column {header!r} is empty"


@pytest.mark.slow
@pytest.mark.parametrize("columns", WIDTHS)
def test_report_shows_metric_and_param_names_whole(wide: Outputs, columns: int) -> None:
    text = wide("report", columns).stdout
    document = json.loads(wide("report --format json", 200).stdout)
    names = [m["name"] for m in document["metrics"]] + [p["name"] for p in document["params"]]
    assert {LONG_METRIC, WIDE_METRIC, f"train.{LONG_PARAM}"} <= set(names)
    for name in names:
        if cell_len(name) <= columns // 2:
            assert name in text, f"{name} is not shown whole at {columns} columns:\n{text}"
    assert "…" not in text.replace("CI ", "")  # only the interval's own ellipsis
    # the sparkline line of the long-named curve fits, and says where the curve starts and ends
    curve = [line for line in text.splitlines() if "→" in line and "▁" in line]
    assert curve and all(cell_len(line) <= columns for line in curve)


@pytest.mark.slow
@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("kind", ["data", "model"])
def test_validation_shows_check_names_and_counts_that_agree(
    wide: Outputs, kind: str, columns: int
) -> None:
    done = wide(f"validate {kind}", columns)
    assert done.returncode in (0, 1), done.stderr
    result = json.loads((wide.root / ".mlci" / "validation" / f"{kind}.json").read_text())
    checks = result["checks"]
    listed = checks if len(checks) <= 20 else [c for c in checks if c["verdict"] != "pass"]
    for check in listed:
        if cell_len(check["name"]) <= columns - 20:
            assert check["name"] in done.stdout, f"{check['name']} cut at {columns}"
        if check.get("target") and cell_len(check["target"]) <= columns - 20:
            assert check["target"] in done.stdout

    # each group line: "N things: ok|failed (a passed, b failed, ...)" and the counts add up
    # (read at the widest terminal, where no line wraps)
    done = wide(f"validate {kind}", max(WIDTHS))
    groups = re.findall(r"^(\d+) ([^:\n]+): (?:ok|failed) \(([^)]*)\)$", done.stdout, re.M)
    assert groups, done.stdout
    assert sum(int(n) for n, _, _ in groups) == len(checks)
    for n, _, tally in groups:
        assert sum(int(x) for x in re.findall(r"(\d+) \w", tally)) == int(n), tally
    # the closing line says the same, and so does the result file (the report reads it)
    summary = re.search(rf"^validate {kind}: (ok|failed): (.*)$", done.stdout, re.M)
    assert summary is not None, done.stdout
    assert summary.group(2) == result["summary"]
    total, _, tally = result["summary"].partition(": ")
    assert int(total.split()[0]) == len(checks)
    counted = {
        "passed": sum(1 for c in checks if c["verdict"] == "pass"),
        "skipped": sum(1 for c in checks if c["verdict"] == "skipped"),
        "without baseline": sum(1 for c in checks if c["verdict"] == "no-baseline"),
    }
    for word, number in counted.items():
        assert (f"{number} {word}" in tally) == bool(number or word == "passed"), tally
    assert sum(int(x) for x in re.findall(r"(\d+) \w", tally)) == len(checks)
    if kind == "model":
        assert total == "3 checks (3 gates)" or total.startswith("4 checks (3 gates, 1 model")


@pytest.mark.slow
def test_drift_is_shown_where_validation_results_are(wide: Outputs) -> None:
    validate = wide("validate data", 80).stdout
    line = next(x for x in validate.splitlines() if x.startswith("drift:"))
    assert "1 of 3 columns drifted" in line and LONG_COLUMN in validate
    report = wide("report", 80).stdout
    assert "drift: measurements" in report
    markdown = wide("report --format markdown", 80).stdout
    assert re.search(r"^Drift: measurements vs [0-9a-f]{8}: 1 of 3 columns drifted", markdown, re.M)


@pytest.mark.slow
def test_init_on_a_new_project_fits(tmp_path: Path) -> None:
    project = make_tiny_project(tmp_path / "tiny")
    for columns in WIDTHS:
        shutil.rmtree(project / ".github", ignore_errors=True)
        done = mlci(project, "init", "--force", columns=columns)
        assert done.returncode == 0, done.stderr
        assert "Next steps" in done.stderr
        assert too_wide(done.stdout + done.stderr, columns) == []
        # a numbered step continues under its own text, not under its number
        steps = re.findall(r"^  (\d)\.  ", done.stderr, re.M)
        assert steps[:3] == ["1", "2", "3"]


REFERENCE_COMMANDS = (
    "report",
    "config",
    "doctor",
    "validate data --base HEAD",
    "validate model --base HEAD",
    "run --no-pull --no-push",
    "plan",
)


@pytest.mark.slow
@pytest.mark.parametrize("command", REFERENCE_COMMANDS)
def test_the_reference_project_fits_80_columns(reference: Outputs, command: str) -> None:
    columns = 80  # the long-named project above tries 60 and 120 as well
    done = reference(command, columns)
    assert done.returncode in (0, 1), done.stderr
    assert too_wide(done.stdout, columns) == []
    assert too_wide(done.stderr, columns) == []
    for headers, rows in tables(done.stdout):
        assert all(headers), headers
        for column, header in enumerate(headers):
            assert any(row[column] for row in rows), f"column {header!r} is empty"
    if command == "report":
        for name in ("accuracy", "f1_macro", "train.epochs", "train_loss", "val_accuracy"):
            assert re.search(rf"(^|\s){re.escape(name)}\s", done.stdout), name
