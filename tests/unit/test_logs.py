"""mlci.logs: library output into the command's log file, mlci's own messages on the terminal."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import pytest

from mlci import console, logs
from mlci.cli import failures


def shown(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def test_library_output_goes_to_the_file_and_mlci_messages_to_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "logs" / "run.log"
    with logs.captured(lambda: log, note=failures.log_note(" (-v shows them)")):
        console.info("mlci says this")
        sys.stderr.write("Successfully registered model 'm'.\n")
        with warnings.catch_warnings():
            warnings.simplefilter("always")  # the suite turns warnings into errors
            warnings.warn("a library's advice", UserWarning, stacklevel=1)
        logging.getLogger("mlflow.pyfunc").warning("a library's log record")
    lines = shown(capsys).splitlines()
    assert lines[0] == "mlci says this"
    assert lines[1].startswith("library warnings and messages: ")
    assert lines[1].endswith("run.log (-v shows them)")
    assert len(lines) == 2
    text = log.read_text()
    assert "Successfully registered model 'm'." in text
    assert "UserWarning: a library's advice" in text
    assert "WARNING mlflow.pyfunc: a library's log record" in text
    assert not isinstance(sys.stderr, type(logs._stream))


def test_show_writes_both_and_needs_no_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "run.log"
    with logs.captured(lambda: log, show=True):
        sys.stderr.write("\x1b[33mcoloured\x1b[0m library line\n")
    assert shown(capsys) == "\x1b[33mcoloured\x1b[0m library line\n"
    assert log.read_text() == "coloured library line\n"  # no colour codes in the file


def test_no_library_output_no_file_no_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "run.log"
    with logs.captured(lambda: log):
        console.info("only mlci")
    assert shown(capsys) == "only mlci\n"
    assert not log.exists()


def test_a_wrapper_of_the_stream_is_seen_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import colorama  # type: ignore[import-untyped]  # DVC's dependency

    log = tmp_path / "run.log"
    with logs.captured(lambda: log):
        colorama.init()  # what DVC's logging setup does: sys.stderr becomes a wrapper
        try:
            console.info("still on the terminal")
            sys.stderr.write("library\n")
        finally:
            colorama.deinit()
    assert shown(capsys).splitlines()[0] == "still on the terminal"
    assert log.read_text() == "library\n"


def test_a_handler_made_during_a_command_writes_to_the_terminal_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with logs.captured(lambda: tmp_path / "run.log"):
        kept = sys.stderr  # as a StreamHandler made at import time keeps it
    kept.write("after the command\n")
    assert shown(capsys).endswith("after the command\n")


def test_dry_runs_log_outside_the_project(tmp_path: Path) -> None:
    assert not logs.default_location("retrain", tmp_path, dry_run=True).is_relative_to(tmp_path)
    assert logs.default_location("validate data", tmp_path) == (
        tmp_path / ".mlci" / "logs" / "validate-data.log"
    )
