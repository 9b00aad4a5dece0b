"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.teamstack import servers


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[str]:
    """A live S3 server on 127.0.0.1 with the `dvc` bucket; its endpoint."""
    server = servers.s3_server(tmp_path)
    server.start()
    try:
        servers.make_buckets(servers.endpoint(server), servers.DVC_BUCKET)
        yield servers.endpoint(server)
    finally:
        server.stop()
