"""Every command in its default terminal output, on the three kinds of repository a user has."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, git
from tests.surface.conftest import check, mlci

COMMANDS = [
    "config",
    "doctor",
    "init",
    "models",
    "plan",
    "promote",
    "register",
    "release",
    "report",
    "retrain",
    "rollback",
    "run",
    "validate",
    "validate data",
    "validate model",
]


def test_help_of_every_command(tmp_path: Path) -> None:
    top = check(mlci("--help", cwd=tmp_path), 0)
    listed = {line.split()[0] for line in top.out.splitlines() if line.startswith("  ")}
    assert listed >= {c.split()[0] for c in COMMANDS}, top
    for command in COMMANDS:
        ran = check(mlci(*command.split(), "--help", cwd=tmp_path), 0)
        assert ran.out.startswith(f"Usage: mlci {command}"), ran
        assert ran.err == "", ran


# (command, exit code, text that must show on stdout or stderr)
REFERENCE = [
    ("config", 0, 'experiment = "digits"'),
    ("doctor", 0, "dvc.yaml found"),
    ("report", 0, "metrics/metrics.json"),
    ("run nosuchstage --no-pull --no-push --no-tracking", 2, "nosuchstage"),
    ("validate data", 2, "data/digits.csv"),
    ("validate model", 2, "gate 'accuracy'"),
    ("models", 0, "nothing registered"),
    ("models digits", 0, "nothing registered for digits"),
    ("promote digits v9.9.9 dev", 2, "v9.9.9"),
    ("rollback digits --stage prod", 2, "prod"),
    ("release", 2, "GITHUB_REF"),
    ("release digits@v9.9.9", 2, "digits@v9.9.9"),
    ("retrain", 0, "nothing to retrain"),
    ("init --dry-run", 0, "dry run: nothing written"),
]


@pytest.mark.parametrize(("command", "code", "shown"), REFERENCE, ids=[c for c, *_ in REFERENCE])
def test_reference_project(reference: Path, command: str, code: int, shown: str) -> None:
    ran = check(mlci(*command.split(), cwd=reference), code)
    assert shown in ran.out + ran.err, ran


def test_reference_project_writes_nothing_it_should_not(reference: Path) -> None:
    check(mlci("init", "--dry-run", cwd=reference), 0)
    check(mlci("retrain", "--dry-run", cwd=reference), 0)
    assert git(reference, "status", "--porcelain", "--untracked-files=all") == ""


def test_reference_project_models_after_register(reference: Path) -> None:
    """The issue's case: `mlci models` crashed on every repository with a model tag."""
    check(mlci("register", "digits", cwd=reference), 0)
    check(mlci("promote", "digits", "v0.0.1", "dev", cwd=reference), 0)
    table = check(mlci("models", cwd=reference), 0).out.splitlines()
    assert table[0].split() == ["name", "┃", "latest", "┃", "#dev"]
    assert table[2].split() == ["digits", "│", "v0.0.1", "│", "v0.0.1"]
    versions = check(mlci("models", "digits", cwd=reference), 0).out.splitlines()
    assert versions[2].split()[:5] == ["digits", "│", "v0.0.1", "│", "dev"]


FRESH = [
    ("config", 0, "# MLflow experiment: fresh"),
    ("doctor", 0, "no dvc.yaml: nothing to run"),
    # a DVC project with nothing declared yet: as `dvc metrics diff`, an empty answer
    ("report", 0, "No metrics declared in dvc.yaml."),
    ("run", 2, "no dvc.yaml"),
    ("validate data", 0, "nothing to validate"),
    ("validate model", 0, "no model to check"),
    ("models", 0, "nothing registered"),
    ("register model", 2, "model"),
    ("promote model v1.0.0 dev", 2, "model"),
    ("rollback model --stage dev", 2, "model"),
    ("release model@v1.0.0", 2, "model@v1.0.0"),
    ("retrain", 2, "no dataset to retrain"),
    ("init --dry-run", 2, "no dvc.yaml"),
]


@pytest.mark.parametrize(("command", "code", "shown"), FRESH, ids=[c for c, *_ in FRESH])
def test_fresh_git_and_dvc_project(fresh: Path, command: str, code: int, shown: str) -> None:
    ran = check(mlci(*command.split(), cwd=fresh), code)
    assert shown in ran.out + ran.err, ran


def test_fresh_project_runs_its_first_pipeline(fresh: Path) -> None:
    """`dvc stage add`, then `mlci run` and `mlci report` as the quick start has them."""
    (fresh / "make.py").write_text(
        "import json\njson.dump({'score': 0.5}, open('metrics.json', 'w'))\n"
    )
    subprocess.run(
        [str(BIN / "dvc"), "stage", "add", "-q", "-n", "make", "-d", "make.py",
         "-M", "metrics.json", "python make.py"],
        cwd=fresh, check=True, capture_output=True,
    )  # fmt: skip
    ran = check(mlci("run", "--no-pull", "--no-push", "--no-tracking", cwd=fresh), 0)
    assert "1 ran" in ran.out, ran
    ran = check(mlci("report", "--format", "json", cwd=fresh), 0)
    assert json.loads(ran.out)["head"] is not None
    ran = check(mlci("report", cwd=fresh), 0)
    assert "score" in ran.out, ran


def gto_show(repo: Path, *args: str) -> list[list[str]]:
    done = subprocess.run(
        [str(BIN / "gto"), "show", *args, "--plain"],
        cwd=repo, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return [line.split("  ") for line in done.stdout.splitlines()]


def cells(table: str) -> list[list[str]]:
    """The cells of mlci's table, its rule line left out."""
    rows = [line for line in table.splitlines() if line.strip() and set(line) - set("━╇ ")]
    return [[cell.strip() for cell in line.replace("┃", "│").split("│")] for line in rows]


def _plain(rows: list[list[str]]) -> list[list[str]]:
    return [[cell.strip() for cell in row if cell.strip()] for row in rows]


def test_models_prints_the_table_gto_show_prints(tagged: Path) -> None:
    ours = cells(check(mlci("models", cwd=tagged), 0).out)
    assert ours == [
        ["name", "latest", "#prod", "#staging"],
        ["model", "v1.1.0", "v1.0.0", "v1.0.0"],
        ["other", "v0.1.0", "-", "-"],
    ]
    assert ours == _plain(gto_show(tagged))
    ours = cells(check(mlci("models", "model", cwd=tagged), 0).out)
    assert [row[:2] for row in ours] == [
        ["artifact", "version"],
        ["model", "v1.1.0"],
        ["model", "v1.0.0"],
    ]
    assert ours[1][2] == "" and set(ours[2][2].split(", ")) == {"prod", "staging"}
    assert _plain(ours) == _plain(gto_show(tagged, "model"))


TAGGED = [
    ("report", 2, "no dvc.yaml"),
    ("models model@latest", 0, "v1.1.0"),
    ("models nosuch", 2, "'nosuch'"),
    ("register model", 0, "model@v1.1.1"),
    ("register model --version bad", 2, "bad"),
    ("promote model v1.1.0 prod", 2, "staging"),
    ("promote model v1.1.0 dev", 0, "model#dev#3"),
    ("promote model v7.0.0 dev", 2, "v7.0.0"),
    ("rollback model --stage prod", 2, "prod"),
    ("release model@v9.9.9", 2, "model@v9.9.9"),
    ("release not-a-tag", 2, "not-a-tag"),
]


@pytest.mark.parametrize(("command", "code", "shown"), TAGGED, ids=[c for c, *_ in TAGGED])
def test_registry_repository(tagged: Path, command: str, code: int, shown: str) -> None:
    ran = check(mlci(*command.split(), cwd=tagged), code)
    assert shown in ran.out + ran.err, ran
