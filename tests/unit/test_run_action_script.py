"""actions/run/run.sh: the `mlci run` command line each input combination makes.

The script runs for real under bash, with an `mlci` on PATH that writes the arguments it
was given, one a line (the act end-to-end tests run it with the real mlci).
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "actions" / "run" / "run.sh"
DEFAULTS = {
    "MLCI_TARGETS": "",
    "MLCI_FORCE": "false",
    "MLCI_PULL": "true",
    "MLCI_PUSH": "true",
    "MLCI_TRACKING": "true",
    "MLCI_VERBOSE": "false",
    "MLCI_WORKING_DIRECTORY": ".",
}


def argv(tmp_path: Path, **inputs: str) -> list[str]:
    fake = tmp_path / "bin" / "mlci"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" >"$ARGS_FILE"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "args.txt"
    env = {
        "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "ARGS_FILE": str(out),
        **DEFAULTS,
        **inputs,
    }
    subprocess.run(["bash", str(SCRIPT)], env=env, check=True, timeout=30)
    return out.read_text().splitlines()


def test_defaults_run_the_whole_pipeline(tmp_path: Path) -> None:
    assert argv(tmp_path) == ["run"]
    assert (tmp_path / "output.txt").read_text() == "run-json=./.mlci/run.json\n"


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"MLCI_RESTORE_ONLY": "true"}, ["run", "--restore-only"]),
        (
            {"MLCI_RESTORE_ONLY": "true", "MLCI_ALLOW_RUN": "report sub/dvc.yaml:compare"},
            [
                "run",
                "--restore-only",
                "--allow-run",
                "report",
                "--allow-run",
                "sub/dvc.yaml:compare",
            ],
        ),
        # the join's stages mean nothing without fan-out: every stage may run
        ({"MLCI_RESTORE_ONLY": "false", "MLCI_ALLOW_RUN": "report"}, ["run"]),
        (
            {"MLCI_PUSH": "false", "MLCI_TARGETS": "train@a evaluate@a", "MLCI_FORCE": "true"},
            ["run", "--force", "--no-push", "train@a", "evaluate@a"],
        ),
    ],
)
def test_inputs_become_flags(tmp_path: Path, inputs: dict[str, str], expected: list[str]) -> None:
    assert argv(tmp_path, **inputs) == expected
