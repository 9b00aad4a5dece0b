"""One team stack (S3, PostgreSQL, `mlflow server`) for the whole session, stopped at its end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.teamstack.servers import TeamStack, team_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamStack]:
    with team_stack(tmp_path_factory.mktemp("teamstack")) as started:
        yield started


@pytest.fixture(autouse=True)
def _services_up(stack: TeamStack) -> None:
    """A test that took a service away leaves it down: up again for the next one."""
    for server in (stack.s3, stack.mlflow):
        if server.process is None:
            server.start()
