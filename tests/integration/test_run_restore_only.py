"""`mlci run --restore-only`: the fanned-out join's promise that it runs no branch's stage.

Real git clones and real DVC against a local-folder remote: a stage the run-cache can
restore passes, one it cannot is refused before its command starts, with its outputs and
dvc.lock left as they were; `--allow-run` lets the join's own stages run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlci import api
from mlci.errors import StageNotRestored
from tests.conftest import BIN, git, set_param
from tests.integration.test_run_restore import clone, origin_with_lock, statuses


def test_restored_and_unchanged_stages_pass(tmp_path: Path) -> None:
    origin, _remote = origin_with_lock(tmp_path)
    runner = clone(origin, "runner")
    set_param(runner, "score", "scale", 2.0)
    api.run(runner, tracking_enabled=False)  # pushes the entry for scale 2.0

    fresh = api.run(clone(origin, "fresh"), tracking_enabled=False, restore_only=True)
    assert statuses(fresh) == {"double": "unchanged", "score": "unchanged"}
    mate = clone(origin, "teammate")
    set_param(mate, "score", "scale", 2.0)
    again = api.run(mate, tracking_enabled=False, restore_only=True)
    assert statuses(again) == {"double": "unchanged", "score": "cached"}
    assert json.loads((mate / "metrics.json").read_text())["total"] == 24.0


def test_a_stage_the_run_cache_cannot_restore_is_refused_before_its_command(
    tmp_path: Path,
) -> None:
    origin, _remote = origin_with_lock(tmp_path)
    runner = clone(origin, "runner")
    api.run(runner, tracking_enabled=False)  # the outputs as dvc.lock has them
    set_param(runner, "score", "scale", 3.0)
    metrics = (runner / "metrics.json").read_bytes()

    with pytest.raises(StageNotRestored, match=r"stage 'score' would run, but --restore-only"):
        api.run(runner, tracking_enabled=False, restore_only=True)

    # the command never started: the outputs and dvc.lock are what they were
    assert (runner / "metrics.json").read_bytes() == metrics
    assert git(runner, "status", "--porcelain") == "M params.yaml"
    record = json.loads((runner / ".mlci" / "run.json").read_text())
    assert record["status"] == "failed" and "stage 'score' would run" in record["error"]

    allowed = api.run(runner, tracking_enabled=False, restore_only=True, allow_run=("score",))
    assert statuses(allowed) == {"double": "unchanged", "score": "ran"}
    assert json.loads((runner / "metrics.json").read_text())["total"] == 36.0


def test_cli_exit_codes_and_one_line(tmp_path: Path) -> None:
    origin, _remote = origin_with_lock(tmp_path)
    runner = clone(origin, "runner")
    api.run(runner, tracking_enabled=False)
    set_param(runner, "double", "factor", 5)
    mlci = [str(BIN / "mlci"), "run", "--no-tracking"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*mlci, *args], cwd=runner, capture_output=True, text=True, timeout=120, check=False
        )

    refused = run("--restore-only", "--allow-run", "score")
    assert refused.returncode == 1, refused.stderr
    assert "stage 'double' would run, but --restore-only" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (runner / "work" / "doubled.txt").read_text() == "2 4 6"

    misuse = run("--allow-run", "double")
    assert misuse.returncode == 2
    assert "--allow-run is for --restore-only" in misuse.stderr

    both = run("--restore-only", "--allow-run", "double score")
    assert both.returncode == 0, both.stderr
    assert (runner / "work" / "doubled.txt").read_text() == "5 10 15"
