from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from mlci import ci
from mlci.errors import ServiceError, UsageError

BASE_SHA = "3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
HEAD_SHA = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
PR_EVENT = {
    "action": "synchronize",
    "number": 7,
    "before": "0" * 40,
    "after": HEAD_SHA,
    "pull_request": {
        "number": 7,
        "title": "Tune the learning rate",
        "base": {"ref": "main", "sha": BASE_SHA, "repo": {"full_name": "acme/digits"}},
        "head": {"ref": "tune-lr", "sha": HEAD_SHA, "repo": {"full_name": "acme/digits"}},
    },
    "repository": {"full_name": "acme/digits"},
}
PUSH_EVENT = {
    "ref": "refs/heads/main",
    "before": BASE_SHA,
    "after": HEAD_SHA,
    "repository": {"full_name": "acme/digits"},
}


def actions_env(tmp_path: Path, event_name: str, event: object, **extra: str) -> dict[str, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "acme/digits",
        "GITHUB_SHA": HEAD_SHA,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_RUN_ID": "8123456789",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "mlci",
        "GITHUB_JOB": "reproduce",
        "RUNNER_NAME": "GitHub Actions 3",
        "GITHUB_HEAD_REF": "",
        "GITHUB_BASE_REF": "",
    }
    env.update(extra)
    return env


def parse_file_command(path: Path) -> dict[str, str]:
    """Read a GITHUB_OUTPUT / GITHUB_ENV file the way actions/runner does."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            key, value = line.split("=", 1)
            values[key] = value
            continue
        assert heredoc >= 0, f"invalid line {line!r}"
        key, delimiter = line.split("<<", 1)
        body: list[str] = []
        while lines[i] != delimiter:  # an IndexError here means no closing delimiter
            body.append(lines[i])
            i += 1
        i += 1
        values[key] = "\n".join(body)
    return values


# --- the context ----------------------------------------------------------------------------


def test_pull_request_context(tmp_path: Path) -> None:
    env = actions_env(
        tmp_path,
        "pull_request",
        PR_EVENT,
        GITHUB_REF="refs/pull/7/merge",
        GITHUB_REF_NAME="7/merge",
        GITHUB_HEAD_REF="tune-lr",
        GITHUB_BASE_REF="main",
        GITHUB_TOKEN="ghs_secretvalue123",
    )
    ctx = ci.context(env)
    assert ctx.in_actions
    assert ctx.event_name == "pull_request"
    assert ctx.event["action"] == "synchronize"
    assert ctx.event_error is None
    assert ctx.pr_number == 7
    assert ctx.is_pull_request
    assert ctx.branch == "tune-lr"
    assert ctx.base_ref == "main"
    assert ctx.base_sha == BASE_SHA
    assert ctx.sha == HEAD_SHA
    assert ctx.run_url == "https://github.com/acme/digits/actions/runs/8123456789"
    assert (ctx.run_attempt, ctx.workflow, ctx.job) == ("1", "mlci", "reproduce")
    assert ctx.runner_name == "GitHub Actions 3"
    assert ctx.token == "ghs_secretvalue123"


def test_push_context(tmp_path: Path) -> None:
    env = actions_env(
        tmp_path, "push", PUSH_EVENT, GITHUB_REF="refs/heads/main", GITHUB_REF_NAME="main"
    )
    ctx = ci.context(env)
    assert ctx.pr_number is None
    assert not ctx.is_pull_request
    assert ctx.branch == "main"
    assert ctx.head_ref is None  # Actions sets it to "" outside pull requests
    assert ctx.base_sha is None
    assert ctx.run_url == "https://github.com/acme/digits/actions/runs/8123456789"


def test_tag_push_has_no_branch(tmp_path: Path) -> None:
    env = actions_env(
        tmp_path, "push", PUSH_EVENT, GITHUB_REF="refs/tags/v1.2.0", GITHUB_REF_NAME="v1.2.0"
    )
    assert ci.context(env).branch is None


def test_pr_number_from_merge_ref_without_event() -> None:
    ctx = ci.context({"GITHUB_REF": "refs/pull/42/merge", "GITHUB_REF_NAME": "42/merge"})
    assert ctx.pr_number == 42
    assert ctx.event == {}
    assert ctx.event_error is None
    assert not ctx.in_actions


def test_pr_number_from_top_level_number(tmp_path: Path) -> None:
    env = actions_env(tmp_path, "pull_request_target", {"number": 11})
    assert ci.context(env).pr_number == 11


def test_enterprise_urls_and_defaults() -> None:
    ctx = ci.context({})
    assert (ctx.server_url, ctx.api_url) == ("https://github.com", "https://api.github.com")
    assert ctx.run_url is None
    assert ctx.token is None
    ghe = ci.context(
        {
            "GITHUB_SERVER_URL": "https://ghe.example.com/",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3",
            "GITHUB_REPOSITORY": "team/model",
            "GITHUB_RUN_ID": "5",
            "GH_TOKEN": "gho_fromcli",
        }
    )
    assert ghe.run_url == "https://ghe.example.com/team/model/actions/runs/5"
    assert ghe.api_url == "https://ghe.example.com/api/v3"
    assert ghe.token == "gho_fromcli"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"{not json", "cannot read event file"), (b"[1, 2]", "JSON object"), (b"\xff\xfe", "")],
)
def test_bad_event_file_does_not_raise(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    ctx = ci.context({"GITHUB_EVENT_PATH": str(path), "GITHUB_REF": "refs/pull/3/merge"})
    assert ctx.event == {}
    assert ctx.event_error is not None
    assert reason in ctx.event_error
    assert ctx.pr_number == 3


def test_missing_event_file_does_not_raise(tmp_path: Path) -> None:
    ctx = ci.context({"GITHUB_EVENT_PATH": str(tmp_path / "absent.json")})
    assert ctx.event == {}
    assert ctx.event_error is not None
    assert "absent.json" in ctx.event_error


def test_token_never_in_repr(tmp_path: Path) -> None:
    env = actions_env(tmp_path, "pull_request", PR_EVENT, GITHUB_TOKEN="ghs_secretvalue123")
    ctx = ci.context(env)
    assert "ghs_secretvalue123" not in repr(ctx)
    assert "ghs_secretvalue123" not in str(ctx)
    assert "token" not in repr(ctx)
    assert "acme/digits" in repr(ctx)


def test_context_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/from-environ")
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    ctx = ci.context()
    assert ctx.in_actions
    assert ctx.repository == "acme/from-environ"


# --- files the runner reads back ------------------------------------------------------------


TRICKY_VALUES = {
    "simple": "0.9731",
    "empty": "",
    "multiline": "line one\nline two\n\nline four",
    "trailing_newline": "ends with a newline\n",
    "delimiter_like": "EOF\nghadelimiter_0123\nname<<EOF\nkey=value",
    "unicode": "accuracy \u2191 0.97 \u2014 \u2705",
}


def test_set_output_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.write_text("earlier=step\n", encoding="utf-8")
    env = {"GITHUB_OUTPUT": str(out)}
    for name, value in TRICKY_VALUES.items():
        assert ci.set_output(name, value, env=env)
    assert parse_file_command(out) == {"earlier": "step", **TRICKY_VALUES}


def test_delimiter_never_in_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    chunks = iter([b"\x00" * 16, b"\x00" * 16, b"\x01" * 16])
    monkeypatch.setattr(os, "urandom", lambda n: next(chunks))
    value = f"x\nghadelimiter_{'00' * 16}\ny"
    assert ci.set_output("v", value, env={"GITHUB_OUTPUT": str(out)})
    assert parse_file_command(out) == {"v": value}
    assert f"v<<ghadelimiter_{'01' * 16}\n" in out.read_text(encoding="utf-8")


def test_set_env_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "env"
    env = {"GITHUB_ENV": str(path)}
    assert ci.set_env("MLCI_REPORT", "a=b\nc<<d", env=env)
    assert ci.set_env("MLCI_PLAIN", "1", env=env)
    assert parse_file_command(path) == {"MLCI_REPORT": "a=b\nc<<d", "MLCI_PLAIN": "1"}


@pytest.mark.parametrize("name", ["", "a=b", "a<<b", "two\nlines", "cr\r"])
def test_invalid_names_rejected(tmp_path: Path, name: str) -> None:
    env = {"GITHUB_OUTPUT": str(tmp_path / "o"), "GITHUB_ENV": str(tmp_path / "e")}
    with pytest.raises(UsageError):
        ci.set_output(name, "v", env=env)
    with pytest.raises(UsageError):
        ci.set_env(name, "v", env=env)


def test_add_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(path)}
    assert ci.add_summary("## Metrics", env=env)
    assert ci.add_summary("| acc | 0.97 |\n", env=env)
    assert path.read_text(encoding="utf-8") == "## Metrics\n| acc | 0.97 |\n"


def test_writers_are_noops_off_actions(tmp_path: Path) -> None:
    assert ci.set_output("a", "b", env={}) is False
    assert ci.set_env("A", "b", env={"GITHUB_ENV": ""}) is False
    assert ci.add_summary("# hi", env={}) is False
    assert list(tmp_path.iterdir()) == []


def test_writers_read_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert ci.set_output("from_environ", "yes")
    assert parse_file_command(out) == {"from_environ": "yes"}


def test_unwritable_file_is_a_service_error(tmp_path: Path) -> None:
    env = {"GITHUB_OUTPUT": str(tmp_path / "missing-dir" / "output")}
    with pytest.raises(ServiceError, match="GITHUB_OUTPUT"):
        ci.set_output("a", "b", env=env)


# --- workflow commands ----------------------------------------------------------------------

ON = {"GITHUB_ACTIONS": "true"}


def test_annotate_with_properties() -> None:
    stream = io.StringIO()
    assert ci.annotate(
        "error",
        "accuracy fell 2.1%\nfrom 0.97\r",
        file="src/train: v2, final.py",
        line=12,
        title="Gate: accuracy, 100%",
        stream=stream,
        env=ON,
    )
    assert stream.getvalue() == (
        "::error file=src/train%3A v2%2C final.py,line=12,title=Gate%3A accuracy%2C 100%25"
        "::accuracy fell 2.1%25%0Afrom 0.97%0D\n"
    )


def test_annotate_plain_and_levels() -> None:
    stream = io.StringIO()
    assert ci.annotate("warning", "a: b, c", stream=stream, env=ON)
    assert ci.annotate("notice", "done", title="t", stream=stream, env=ON)
    assert stream.getvalue() == "::warning::a: b, c\n::notice title=t::done\n"
    with pytest.raises(UsageError):
        ci.annotate("fatal", "x", stream=stream, env=ON)  # type: ignore[arg-type]


def test_annotate_off_actions_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert ci.annotate("error", "boom", env={}) is False
    assert ci.mask("s3cret", env={"GITHUB_ACTIONS": "false"}) is False
    assert capsys.readouterr().out == ""


def test_annotate_forced_and_default_stream(capsys: pytest.CaptureFixture[str]) -> None:
    assert ci.annotate("notice", "forced", force=True, env={})
    assert capsys.readouterr().out == "::notice::forced\n"


def test_mask() -> None:
    stream = io.StringIO()
    assert ci.mask("s3cret", stream=stream, env=ON)
    assert ci.mask("multi\nline%", stream=stream, env=ON)
    assert ci.mask("", stream=stream, env=ON) is False
    assert stream.getvalue() == "::add-mask::s3cret\n::add-mask::multi%0Aline%25\n"


def test_escaping_helpers() -> None:
    assert ci.escape_data("100%\r\n:,") == "100%25%0D%0A:,"
    assert ci.escape_property("100%\r\n:,") == "100%25%0D%0A%3A%2C"


def test_redact() -> None:
    text = "token ghs_abc and ghs_abcdef, url https://x:ghs_abc@github.com"
    assert ci.redact(text, ["ghs_abc", "ghs_abcdef", "", "ghs_abc"]) == (
        "token *** and ***, url https://x:***@github.com"
    )
    assert ci.redact("nothing here", []) == "nothing here"
    assert ci.redact("keep", [""]) == "keep"
