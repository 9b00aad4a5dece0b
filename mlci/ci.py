"""The CI context: what GitHub Actions tells a job, and the files and commands it reads back.

Off Actions every writer is a no-op that returns False, so the same code runs on a laptop.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from mlci.errors import ServiceError, UsageError

__all__ = [
    "AnnotationLevel",
    "CiContext",
    "add_summary",
    "annotate",
    "context",
    "escape_data",
    "escape_property",
    "git_env",
    "in_actions",
    "mask",
    "redact",
    "set_env",
    "set_output",
]

AnnotationLevel = Literal["error", "warning", "notice"]
_LEVELS = ("error", "warning", "notice")
_PULL_REF = r"^refs/pull/(\d+)/(?:merge|head)$"
_PR_EVENTS = ("pull_request", "pull_request_target")


@dataclass(frozen=True)
class CiContext:
    in_actions: bool
    event_name: str | None = None
    # the payload can be large and holds user text: keep it out of repr and comparisons
    event: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    event_error: str | None = None
    repository: str | None = None
    sha: str | None = None
    ref: str | None = None
    ref_name: str | None = None
    head_ref: str | None = None
    base_ref: str | None = None
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    run_id: str | None = None
    run_attempt: str | None = None
    runner_name: str | None = None
    workflow: str | None = None
    job: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def is_pull_request(self) -> bool:
        return self.event_name in _PR_EVENTS or self.pr_number is not None

    @property
    def _pull_request(self) -> Mapping[str, Any]:
        pull = self.event.get("pull_request")
        return pull if isinstance(pull, Mapping) else {}

    @property
    def pr_number(self) -> int | None:
        for candidate in (self._pull_request.get("number"), self.event.get("number")):
            if isinstance(candidate, int) and not isinstance(candidate, bool):
                return candidate
        match = re.match(_PULL_REF, self.ref or "")
        return int(match.group(1)) if match else None

    @property
    def run_url(self) -> str | None:
        if not (self.repository and self.run_id):
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def branch(self) -> str | None:
        if self.head_ref:
            return self.head_ref
        if self.ref and self.ref.startswith("refs/tags/"):
            return None
        return self.ref_name

    @property
    def base_sha(self) -> str | None:
        base = self._pull_request.get("base")
        sha = base.get("sha") if isinstance(base, Mapping) else None
        return sha if isinstance(sha, str) and sha else None


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def in_actions(env: Mapping[str, str] | None = None) -> bool:
    return _environ(env).get("GITHUB_ACTIONS") == "true"


def _load_event(path: str | None) -> tuple[dict[str, Any], str | None]:
    if not path:
        return {}, None
    import json

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {}, f"cannot read event file {path}: {exc}"
    if not isinstance(data, dict):
        return {}, f"event file {path} does not hold a JSON object"
    return data, None


def context(env: Mapping[str, str] | None = None) -> CiContext:
    env = _environ(env)

    def get(name: str) -> str | None:
        return env.get(name) or None

    event, event_error = _load_event(get("GITHUB_EVENT_PATH"))
    return CiContext(
        in_actions=in_actions(env),
        event_name=get("GITHUB_EVENT_NAME"),
        event=event,
        event_error=event_error,
        repository=get("GITHUB_REPOSITORY"),
        sha=get("GITHUB_SHA"),
        ref=get("GITHUB_REF"),
        ref_name=get("GITHUB_REF_NAME"),
        head_ref=get("GITHUB_HEAD_REF"),
        base_ref=get("GITHUB_BASE_REF"),
        server_url=get("GITHUB_SERVER_URL") or "https://github.com",
        api_url=get("GITHUB_API_URL") or "https://api.github.com",
        run_id=get("GITHUB_RUN_ID"),
        run_attempt=get("GITHUB_RUN_ATTEMPT"),
        runner_name=get("RUNNER_NAME"),
        workflow=get("GITHUB_WORKFLOW"),
        job=get("GITHUB_JOB"),
        token=get("GITHUB_TOKEN") or get("GH_TOKEN"),
    )


def git_env(
    path: Path, *, token: str | None = None, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What git needs in a GitHub Actions job to commit, tag and push; {} elsewhere.

    The reusable workflows check out with `persist-credentials: false` and runners have
    no git identity: the token (`token`, else GITHUB_TOKEN) goes to git through the
    environment (git.token_auth), and commits and tags are made as the Actions bot
    unless an identity is configured.
    """
    from mlci import git

    ctx = context(env)
    if not ctx.in_actions:
        return {}
    found = {} if git.has_identity(path) else dict(git.ACTIONS_BOT_IDENTITY)
    found.update(git.token_auth(path, token or ctx.token, ctx.server_url))
    return found


# --- files the runner reads back after the step -----------------------------------------------


def _append(variable: str, text: str, env: Mapping[str, str] | None) -> bool:
    path = _environ(env).get(variable)
    if not path:
        return False
    try:
        with open(path, "a", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as exc:
        raise ServiceError(f"cannot write {variable} file {path}: {exc}") from exc
    return True


def _heredoc(name: str, value: str, what: str) -> str:
    # the runner reads NAME=VALUE when "=" comes before "<<", so neither may be in a name
    if not name or any(bad in name for bad in ("\n", "\r", "=", "<<")):
        raise UsageError(f"invalid {what} name {name!r}")
    delimiter = f"ghadelimiter_{os.urandom(16).hex()}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{os.urandom(16).hex()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_output(name: str, value: str, *, env: Mapping[str, str] | None = None) -> bool:
    return _append("GITHUB_OUTPUT", _heredoc(name, value, "output"), env)


def set_env(name: str, value: str, *, env: Mapping[str, str] | None = None) -> bool:
    return _append("GITHUB_ENV", _heredoc(name, value, "environment variable"), env)


def add_summary(markdown: str, *, env: Mapping[str, str] | None = None) -> bool:
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    return _append("GITHUB_STEP_SUMMARY", text, env)


# --- workflow commands on stdout ----------------------------------------------------------------


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(
    name: str,
    properties: Mapping[str, str],
    data: str,
    stream: TextIO | None,
) -> None:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    out = sys.stdout if stream is None else stream
    out.write(f"::{name}{' ' + props if props else ''}::{escape_data(data)}\n")
    out.flush()


def annotate(
    level: AnnotationLevel,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
    stream: TextIO | None = None,
    force: bool = False,
    env: Mapping[str, str] | None = None,
) -> bool:
    if level not in _LEVELS:
        raise UsageError(f"annotation level must be one of {', '.join(_LEVELS)}, not {level!r}")
    if not (force or in_actions(env)):
        return False
    properties: dict[str, str] = {}
    if file:
        properties["file"] = file
    if line is not None:
        properties["line"] = str(line)
    if title:
        properties["title"] = title
    _command(level, properties, message, stream)
    return True


def mask(
    value: str,
    *,
    stream: TextIO | None = None,
    force: bool = False,
    env: Mapping[str, str] | None = None,
) -> bool:
    if not value or not (force or in_actions(env)):
        return False
    _command("add-mask", {}, value, stream)
    return True


def redact(text: str, secrets: Iterable[str]) -> str:
    # longest first, so a secret that contains another is hidden whole
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
