"""Faults a test injects: the next matching requests answered with an error (GitHub's body for
that status, or one the test gives), or held for a while before they are answered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.github_standin.messages import NOT_ACCESSIBLE, Resp, error_body

SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "C0DE:1234:5678:9ABC:DEF01234."
)
_MESSAGES = {
    401: "Bad credentials",
    404: "Not Found",
    409: "Conflict",
    422: "Validation Failed",
    429: SECONDARY_RATE_LIMIT,
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.",
}


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    remaining: int
    status: int = 0
    retry_after: int | None = None
    body: Any = None
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0 and self.method in {method, "*"} and bool(self.pattern.search(path))
        )

    def response(self) -> Resp:
        """The error this fault answers with."""
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        if isinstance(self.body, str | bytes):
            raw = self.body.encode() if isinstance(self.body, str) else self.body
            return Resp(self.status, None, headers, raw, "text/html; charset=utf-8")
        if self.body is not None:
            return Resp(self.status, self.body, headers)
        if self.status == 403:
            message = SECONDARY_RATE_LIMIT if self.retry_after is not None else NOT_ACCESSIBLE
        else:
            message = _MESSAGES.get(self.status, "Server Error")
        return Resp(self.status, error_body(self.status, message), headers)


def take(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The first fault that matches, with one use counted; hold the state's lock."""
    fault = next((f for f in faults if f.matches(method, path)), None)
    if fault is not None:
        fault.remaining -= 1
    return fault
