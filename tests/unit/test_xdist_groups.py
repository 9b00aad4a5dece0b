"""`make test` runs `pytest -n 2 --dist loadgroup`: the tests of one `xdist_group` run on one
worker, so a module's costly fixtures (the team stack's servers, a trained project) are
built once, and tests/teamstack run in file order. This checks that the groups hold."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("probe")


def test_a_grouped_test_carries_its_group_under_loadgroup(request: pytest.FixtureRequest) -> None:
    # set on each worker of `-n N --dist loadgroup` (pytest-xdist's remote.py)
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not under pytest-xdist's --dist loadgroup")
    # pytest-xdist schedules by this suffix; without it the group is split across workers
    assert request.node.nodeid.endswith("@probe"), request.node.nodeid
