"""Bad input as a user meets it: the README's exit code, one line naming the thing, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make_tiny_project
from tests.surface.conftest import check, mlci

# every command, in a form that would work with good input; `{rev}` is where a revision goes
EVERY_COMMAND = [
    "config",
    "doctor",
    "report",
    "run --no-pull --no-push --no-tracking",
    "validate data",
    "validate model",
    "models",
    "register digits",
    "promote digits v0.0.1 dev",
    "rollback digits --stage dev",
    "release digits@v0.0.1",
    "retrain --dry-run",
    "init --dry-run",
]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return make_tiny_project(tmp_path / "tiny")


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_missing_directory(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "no-such-dir"
    check(mlci("-C", missing, *command.split(), cwd=tmp_path), 2, str(missing))


# outside a git repository: what each command needs, named; config and doctor still answer
NOT_GIT = {
    "config": 0,
    "doctor": 1,  # the `git` line fails, and doctor says so
    "report": 2,
    "run --no-pull --no-push --no-tracking": 2,
    "validate data": 2,
    "validate model": 2,
    "models": 2,
    "register digits": 2,
    "promote digits v0.0.1 dev": 2,
    "rollback digits --stage dev": 2,
    "release digits@v0.0.1": 2,
    "retrain --dry-run": 2,
    "init --dry-run": 2,
}


@pytest.mark.parametrize(("command", "code"), NOT_GIT.items())
def test_not_a_git_repository(tmp_path: Path, command: str, code: int) -> None:
    ran = check(mlci(*command.split(), cwd=tmp_path), code)
    if command == "doctor":
        assert "not a git repository" in ran.out, ran
    elif code == 2:
        assert str(tmp_path) in ran.errors[0] or "dvc.yaml" in ran.errors[0], ran


MISSING_REVISION = [
    "report --base nosuchrev",
    "report --head nosuchrev",
    "validate model --base nosuchrev",
    "validate data --base nosuchrev",
    "register digits --ref nosuchrev",
]


@pytest.mark.parametrize("command", MISSING_REVISION)
def test_missing_revision(reference: Path, command: str) -> None:
    check(mlci(*command.split(), cwd=reference), 2, "nosuchrev")


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[tool.mlci]\nnosuch = 1\n", "nosuch"),
        ("[tool.mlci.report]\nprecison = 3\n", "report.precison"),
        ("[tool.mlci.gates.accuracy]\nmin = 'high'\n", "gates.accuracy.min"),
        ("[tool.mlci\n", "pyproject.toml"),
    ],
)
def test_bad_config(tiny: Path, table: str, key: str) -> None:
    (tiny / "pyproject.toml").write_text(table)
    for command in ("config", "report", "run"):
        check(mlci(*command.split(), cwd=tiny), 2, key)
    ran = check(mlci("doctor", cwd=tiny), 1)  # doctor reports it on its `config` line
    assert key in ran.out, ran


@pytest.mark.parametrize(
    "content",
    ["", "   \n", "{", "[1, 2]", '{"total": NaN}', '{"total": Infinity}', '"metrics.json"',
     "null", "1e999", '{"total": [1, {"a": null}]}', "\x00\xff", "- a\n- b\n", "a: b: c"],
    ids=["empty", "blank", "corrupt", "list", "nan", "infinity", "string", "null", "number",
         "nested-list", "binary", "yaml-list", "bad-yaml"],
)  # fmt: skip
def test_odd_metrics(tiny: Path, content: str) -> None:
    (tiny / "metrics.json").write_text(content, encoding="utf-8", errors="surrogateescape")
    for fmt in ("terminal", "json"):
        ran = check(mlci("report", "--format", fmt, cwd=tiny), (0, 2), "metrics.json")
        if ran.code == 0 and fmt == "json":
            json.loads(ran.out)


@pytest.mark.parametrize(
    ("dvc_yaml", "named"),
    [
        ("stages: {\n", "dvc.yaml"),
        ("stages: [1, 2]\n", "dvc.yaml"),
        ("stages:\n  a:\n    deps: [x]\n", "cmd"),
        ("- just\n- a list\n", "dvc.yaml"),
    ],
    ids=["malformed", "stages-list", "no-cmd", "top-list"],
)
def test_invalid_dvc_yaml(tiny: Path, dvc_yaml: str, named: str) -> None:
    (tiny / "dvc.yaml").write_text(dvc_yaml)
    check(mlci("run", "--no-pull", "--no-push", "--no-tracking", cwd=tiny), 2, named)
    check(mlci("report", cwd=tiny), (0, 2))
    check(mlci("config", cwd=tiny), 0)
    ran = check(mlci("doctor", cwd=tiny), 1)
    line = next(line for line in ran.out.splitlines() if line.split()[1:2] == ["dvc"])
    assert line.startswith("✗") and "dvc.yaml is invalid" in line and named in line, ran


def test_unwritable_output(tiny: Path) -> None:
    under_file = tiny / "input.txt" / "report.md"
    check(mlci("report", "-o", under_file, cwd=tiny), 2, str(under_file), "input.txt is a file")
    check(mlci("report", "-o", tiny, cwd=tiny), 2, str(tiny))


def _closed_pipe() -> int:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before mlci writes a byte: every write fails
    return write


CLOSED_PIPE = ["--help", "config", "doctor", "report", "report --format json"]


@pytest.mark.parametrize("command", CLOSED_PIPE)
def test_closed_stdout_pipe(tiny: Path, command: str) -> None:
    """`mlci config | head -1`: quiet, and 141 (128 + SIGPIPE) as git and a shell report it."""
    stdout = _closed_pipe()
    try:
        ran = mlci(*command.split(), cwd=tiny, stdout=stdout)
    finally:
        os.close(stdout)
    check(ran, 141)
    assert ran.err == "" or "warning" in ran.err, ran
    assert "Exception ignored" not in ran.err


def test_pipe_into_head(tiny: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", "set -o pipefail; mlci doctor | head -1; echo \"${PIPESTATUS[0]}\" >&2"],
        cwd=tiny, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.stdout.startswith("✓ config"), done
    assert done.stderr.strip().splitlines()[-1] in {"0", "141"}, done


NON_UTF8 = [
    {"PYTHONIOENCODING": "ascii"},
    {"LC_ALL": "C", "LANG": None, "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
     "PYTHONIOENCODING": None},
    {"PYTHONIOENCODING": "latin-1"},
]  # fmt: skip


@pytest.mark.parametrize("env", NON_UTF8, ids=["ascii", "C-locale", "latin-1"])
def test_stdout_that_is_not_utf8(tiny: Path, env: dict[str, str | None]) -> None:
    ran = check(mlci("doctor", cwd=tiny, env=env), 0)
    assert ran.out.startswith("ok config"), ran  # ✓ degraded to a word
    for command in ("config", "report", "validate model"):
        check(mlci(*command.split(), cwd=tiny, env=env), (0, 1))
    check(mlci("report", "--base", "nosuchrev", cwd=tiny, env=env), 2, "nosuchrev")


def test_no_color(tiny: Path) -> None:
    forced = {"FORCE_COLOR": "1", "TERM": "xterm-256color"}
    colored = check(mlci("config", cwd=tiny, env={**forced, "NO_COLOR": None}), 0)
    assert "\x1b[" in colored.out  # the check below can fail
    for command in ("config", "doctor", "report"):
        ran = check(mlci(*command.split(), cwd=tiny, env={**forced, "NO_COLOR": "1"}), (0, 1))
        assert "\x1b[" not in ran.out + ran.err, ran


@pytest.mark.parametrize("command", ["report", "config", "validate model", "doctor", "models"])
def test_80_columns(tiny: Path, command: str) -> None:
    check(mlci(*command.split(), cwd=tiny, env={"COLUMNS": "80"}), (0, 1))


def test_saved_report_that_is_not_one(tiny: Path, write: Callable[[Path, str, str], Path]) -> None:
    for text in ("", "{", "[]", '{"schema": 99}', "null", '{"head": 3}'):
        saved = write(tiny, "saved.json", text)
        check(mlci("report", "--from", saved, cwd=tiny), 2, "saved.json")
    check(mlci("report", "--from", tiny / "missing.json", cwd=tiny), 2, "missing.json")
