"""One filesystem per DVC remote configuration for a whole `mlci run` (mlci.dvc.remoteonce).

DVC builds its remote afresh for every stage it restores from the run-cache; for S3
that is a new botocore client each time, most of a restore's time. Real git clones and
real DVC against a local-folder remote; the remotes DVC builds are kept where it builds
them, and their filesystems compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlci import api
from mlci.dvc.remoteonce import remote_once
from tests.conftest import make_tiny_project
from tests.integration.test_run_restore import clone, origin_with_lock, statuses


def remotes_built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The remotes DVC builds from now on (DVC's own class, each kept as it is built)."""
    from dvc import data_cloud

    built: list[Any] = []

    class Kept(data_cloud.Remote):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(data_cloud, "Remote", Kept)
    return built


def test_a_run_restoring_every_stage_from_the_run_cache_shares_one_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, _remote = origin_with_lock(tmp_path)
    runner = clone(origin, "runner")
    (runner / "dvc.lock").unlink()  # every stage has to come from the run-cache
    built = remotes_built(monkeypatch)

    result = api.run(runner, tracking_enabled=False, restore_only=True)

    assert statuses(result) == {"double": "cached", "score": "cached"}
    assert (runner / "metrics.json").read_bytes() == (origin / "metrics.json").read_bytes()
    # the check, the fetch, the run-cache and both stages' outputs: one filesystem
    assert len(built) > 2
    assert len({id(remote.fs) for remote in built}) == 1


def test_one_filesystem_per_configuration_across_repositories_and_dvcs_own_after(
    tmp_path: Path,
) -> None:
    from dvc.data_cloud import DataCloud
    from dvc.repo import Repo

    original = DataCloud.get_remote
    # S3 remotes (building their filesystems sends nothing); two endpoints, two configurations
    ports = {"first": 9, "second": 19}
    for name, port in ports.items():
        repo = make_tiny_project(tmp_path / name)
        with (repo / ".dvc" / "config").open("a") as config:
            config.write(
                f"[core]\n    remote = store\n['remote \"store\"']\n    url = s3://bucket/{name}\n"
                f"    endpointurl = http://127.0.0.1:{port}\n"
            )
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    with remote_once():
        one, again, two = Repo(first), Repo(first), Repo(second)
        assert one.cloud.get_remote("store").fs is one.cloud.get_remote().fs
        assert again.cloud.get_remote().fs is one.cloud.get_remote().fs  # a fresh Repo: a push
        assert two.cloud.get_remote().fs is not one.cloud.get_remote().fs
        assert one.cloud.get_remote().path == "bucket/first"
        assert two.cloud.get_remote().path == "bucket/second"
        assert "http://127.0.0.1:19" in str(two.cloud.get_remote().fs.fs_args)
    assert DataCloud.get_remote is original
    assert Repo(first).cloud.get_remote().fs is not one.cloud.get_remote().fs


def test_no_remote_is_dvcs_own_error(tmp_path: Path) -> None:
    from dvc.config import NoRemoteError
    from dvc.repo import Repo

    repo = make_tiny_project(tmp_path / "bare")
    with remote_once(), pytest.raises(NoRemoteError, match="no remote specified in"):
        Repo(str(repo)).cloud.get_remote(command="mlci-check")
