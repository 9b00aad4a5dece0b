"""The serving benchmark's HTTP client: a small asyncio HTTP/1.1 load generator.

CONCURRENCY keep-alive connections send one body to a server for a given time (bounded
in requests too); the answered requests' latencies and the errors end up in a `Load`.
The measurement that uses it is benchmarks/serving.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CONCURRENCY = 16
MAX_REQUESTS = 500_000  # a bound on top of the time limit
REQUEST_TIMEOUT = 10.0


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    first_error: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def add(self, other: Load) -> None:
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        self.seconds += other.seconds
        self.first_error = self.first_error or other.first_error

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        return float(np.percentile(np.asarray(self.latencies), q))


# ---------------------------------------------------------------- the load generator


async def _read_response(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        await reader.readexactly(length)
        return status
    while size := int((await reader.readline()).split(b";")[0], 16):
        await reader.readexactly(size + 2)
    await reader.readline()
    return status


async def _client(
    port: int, request: bytes, deadline: float, load: Load, budget: list[int]
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        started = time.perf_counter()
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError) as exc:
            load.errors += 1
            load.first_error = load.first_error or f"{type(exc).__name__}: {exc}"
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        if status == 200:
            load.latencies.append(time.perf_counter() - started)
        else:
            load.errors += 1
            load.first_error = load.first_error or f"HTTP {status}"
    if writer is not None:
        writer.close()


async def _drive(port: int, request: bytes, seconds: float) -> Load:
    load = Load()
    budget = [MAX_REQUESTS]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_client(port, request, deadline, load, budget) for _ in range(CONCURRENCY))
    )
    load.seconds = time.perf_counter() - started
    return load


def hammer(url: str, path: str, body: dict[str, Any], seconds: float) -> Load:
    port = int(url.rsplit(":", 1)[1])
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    return asyncio.run(_drive(port, head + payload, seconds))
