"""A served model asked over HTTP on 127.0.0.1: GET, POST JSON, and the smoke test that
compares its answers with the local model's (a disagreement is a failed gate, exit 1)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from mlci.errors import GateFailed

__all__ = ["get", "post_json", "smoke_test"]


def get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http only)
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_json(url: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 (http only)
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", errors="replace")


def smoke_test(url: str, rows: list[list[float]], expected: list[int]) -> None:
    """The served model answers like the local one: /predict, then /healthz and /metrics."""
    url = url.rstrip("/")
    try:
        status, body = post_json(f"{url}/predict", {"rows": rows})
    except OSError as exc:
        raise GateFailed(f"smoke test: POST {url}/predict failed: {exc}") from None
    if status != 200:
        raise GateFailed(f"smoke test: POST {url}/predict answered HTTP {status}: {body}")
    if not isinstance(body, list) or len(body) != len(expected):
        got = f"{len(body)} predictions" if isinstance(body, list) else repr(body)[:200]
        raise GateFailed(f"smoke test: expected {len(expected)} predictions, got {got}")
    for index, (served, local) in enumerate(zip(body, expected, strict=True)):
        if served != local:
            differing = sum(s != e for s, e in zip(body, expected, strict=True))
            raise GateFailed(
                f"smoke test: the served model disagrees with the local one on {differing} of "
                f"{len(expected)} rows; first at index {index}: served {served!r}, local {local!r}"
            )
    for path, needle in (("/healthz", b""), ("/metrics", b"# TYPE")):
        try:
            status, content = get(f"{url}{path}", timeout=10)
        except OSError as exc:
            raise GateFailed(f"smoke test: GET {url}{path} failed: {exc}") from None
        if status != 200 or needle not in content:
            raise GateFailed(f"smoke test: GET {url}{path} answered HTTP {status}")
