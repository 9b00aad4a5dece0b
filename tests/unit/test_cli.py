from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mlci import __version__
from mlci.cli import cli, handle_errors
from mlci.errors import ConfigError, GateFailed, InternalError, MlciError, ServiceError, UsageError


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"mlci, version {__version__}"


def test_help_lists_commands_and_hides_traceback() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "config", "doctor"):
        assert f"  {command} " in result.output
    assert "--traceback" not in result.output


@click.command()
@click.option("--kind")
@handle_errors
def boom(kind: str) -> None:
    errors: dict[str, BaseException] = {
        "gate": GateFailed("accuracy fell below 0.9"),
        "usage": UsageError("params.yaml:3: bad"),
        "config": ConfigError("pyproject.toml: unknown key 'x'"),
        "service": ServiceError("remote unreachable", hint="check the network"),
        "internal": InternalError("invariant broken"),
        "bug": KeyError("surprise"),
        "interrupt": KeyboardInterrupt(),
    }
    raise errors[kind]


@pytest.mark.parametrize(
    ("kind", "code", "text"),
    [
        ("gate", 1, "error: accuracy fell below 0.9"),
        ("usage", 2, "error: params.yaml:3: bad"),
        ("config", 2, "unknown key 'x'"),
        ("service", 3, "hint: check the network"),
        ("internal", 4, "invariant broken"),
        ("bug", 4, "unexpected error: KeyError"),
        ("interrupt", 130, "interrupted"),
    ],
)
def test_errors_map_to_exit_codes(kind: str, code: int, text: str) -> None:
    result = CliRunner().invoke(boom, ["--kind", kind])
    assert result.exit_code == code
    assert text in result.output
    assert "Traceback" not in result.output


def test_unexpected_error_says_where_to_report() -> None:
    result = CliRunner().invoke(boom, ["--kind", "bug"])
    assert "Please report it at https://" in result.output
    assert "--traceback" in result.output


def test_hidden_traceback_flag_shows_the_stack(tmp_path: Path) -> None:
    # a real command through the group, so the root's --traceback is read
    result = CliRunner().invoke(cli, ["--traceback", "-C", str(tmp_path), "report"])
    assert result.exit_code == 2, result.output
    assert f"not a git repository: {tmp_path}" in result.output
    assert "Traceback (most recent call last)" in result.output


def test_exit_codes_are_distinct_classes() -> None:
    codes = {cls: cls.exit_code for cls in (GateFailed, UsageError, ServiceError, InternalError)}
    assert codes == {GateFailed: 1, UsageError: 2, ServiceError: 3, InternalError: 4}
    assert issubclass(ConfigError, UsageError)
    assert issubclass(GateFailed, MlciError)
