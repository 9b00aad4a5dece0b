"""A runner restoring from a shared DVC remote: what `mlci run` fetches, runs and pushes.

Real git clones and real DVC against a local-folder remote. The remote's files are compared
before and after: a restore that produced nothing leaves it as it was, and whatever a
teammate's next run needs (outputs, run-cache entries) is on it afterwards.
"""

from __future__ import annotations

from pathlib import Path

from mlci import api, reproduce
from tests.conftest import commit_all, git, make_tiny_project, set_param


def statuses(result: reproduce.RunResult) -> dict[str, str]:
    return {s.name: s.status for s in result.record.stages}


def remote_files(remote: Path) -> dict[str, int]:
    """Every file of the remote folder, with its modification time in nanoseconds."""
    return {
        str(path.relative_to(remote)): path.stat().st_mtime_ns
        for path in remote.rglob("*")
        if path.is_file()
    }


def run_cache_entries(remote: Path) -> set[str]:
    return {key for key in remote_files(remote) if key.startswith("runs/")}


def origin_with_lock(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose first run is pushed to a shared remote folder and its dvc.lock committed."""
    remote = tmp_path / "shared-remote"
    origin = make_tiny_project(
        tmp_path / "origin", pyproject=f'[tool.mlci.dvc]\nembedded_remote = "{remote}"\n'
    )
    api.run(origin, tracking_enabled=False)
    commit_all(origin, "dvc.lock of the first run")
    return origin, remote


def clone(origin: Path, name: str) -> Path:
    path = origin.parent / name
    git(origin.parent, "clone", "-q", str(origin), str(path))
    return path


def test_fresh_clone_of_an_unchanged_pipeline_restores_all_and_leaves_the_remote_alone(
    tmp_path: Path,
) -> None:
    origin, remote = origin_with_lock(tmp_path)
    before = remote_files(remote)
    runner = clone(origin, "runner")

    result = api.run(runner, tracking_enabled=False)

    assert statuses(result) == {"double": "unchanged", "score": "unchanged"}
    assert result.record.remote is not None
    assert result.record.remote["pulled"] > 0
    assert result.record.remote["pushed"] == 0
    assert remote_files(remote) == before  # nothing new, nothing rewritten
    assert (runner / "work" / "doubled.txt").read_bytes() == (
        origin / "work" / "doubled.txt"
    ).read_bytes()
    assert (runner / "metrics.json").read_bytes() == (origin / "metrics.json").read_bytes()
    assert git(runner, "status", "--porcelain") == ""  # dvc.lock as committed


def test_clone_with_one_changed_stage_runs_it_and_pushes_outputs_and_its_entry(
    tmp_path: Path,
) -> None:
    origin, remote = origin_with_lock(tmp_path)
    entries = run_cache_entries(remote)
    runner = clone(origin, "runner")
    set_param(runner, "score", "scale", 2.0)

    result = api.run(runner, tracking_enabled=False)

    assert statuses(result) == {"double": "unchanged", "score": "ran"}
    assert result.record.metrics["total"] == 24.0
    assert result.record.remote is not None and result.record.remote["pushed"] > 0
    assert len(run_cache_entries(remote) - entries) == 1  # the score stage's new entry

    # a teammate with the same change restores it from the remote instead of running it;
    # everything it has came from the remote, so it sends nothing back
    pushed = remote_files(remote)
    mate = clone(origin, "teammate")
    set_param(mate, "score", "scale", 2.0)
    again = api.run(mate, tracking_enabled=False)
    assert statuses(again) == {"double": "unchanged", "score": "cached"}
    assert (mate / "metrics.json").read_bytes() == (runner / "metrics.json").read_bytes()
    assert again.record.remote is not None and again.record.remote["pushed"] == 0
    assert remote_files(remote) == pushed  # nothing new, nothing rewritten


def test_stage_restored_from_a_local_entry_the_remote_lacks_is_pushed(tmp_path: Path) -> None:
    origin, remote = origin_with_lock(tmp_path)
    runner = clone(origin, "runner")
    set_param(runner, "double", "factor", 3)
    ran = api.run(runner, push=False, tracking_enabled=False)  # entries for factor 3: local only
    assert statuses(ran) == {"double": "ran", "score": "ran"}
    set_param(runner, "double", "factor", 2)
    api.run(runner, push=False, tracking_enabled=False)  # back to dvc.lock's outputs
    entries = run_cache_entries(remote)

    set_param(runner, "double", "factor", 3)
    result = api.run(runner, tracking_enabled=False)

    assert statuses(result) == {"double": "cached", "score": "cached"}
    assert result.record.remote is not None and result.record.remote["pushed"] > 0
    assert len(run_cache_entries(remote) - entries) == 2
    mate = clone(origin, "teammate")
    set_param(mate, "double", "factor", 3)
    again = api.run(mate, tracking_enabled=False)
    assert statuses(again) == {"double": "cached", "score": "cached"}
    assert (mate / "work" / "doubled.txt").read_text() == "3 6 9"


def test_unchanged_stages_whose_outputs_the_remote_lacks_are_pushed(tmp_path: Path) -> None:
    """A runner whose cache held the outputs already: the remote gets what it lacks."""
    remote = tmp_path / "shared-remote"
    origin = make_tiny_project(
        tmp_path / "origin", pyproject=f'[tool.mlci.dvc]\nembedded_remote = "{remote}"\n'
    )
    api.run(origin, push=False, tracking_enabled=False)
    commit_all(origin, "dvc.lock, not pushed")

    result = api.run(origin, tracking_enabled=False)

    assert statuses(result) == {"double": "unchanged", "score": "unchanged"}
    assert result.record.remote is not None and result.record.remote["pushed"] > 0
    runner = clone(origin, "runner")
    again = api.run(runner, tracking_enabled=False)
    assert statuses(again) == {"double": "unchanged", "score": "unchanged"}
    assert (runner / "metrics.json").read_bytes() == (origin / "metrics.json").read_bytes()
