"""mlci/cli/fastexit.py: once armed, the process ends after every atexit handler has run,
with the armed code and its output flushed, and without Python's module teardown."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """\
    import atexit, sys
    import mlci.cli.fastexit as fastexit

    class Teardown:
        def __del__(self):  # runs when Python clears this module at exit
            sys.stderr.write("teardown ran\\n")

    kept = Teardown()
    atexit.register(lambda: sys.stderr.write("atexit handler ran\\n"))
    sys.stdout.write("buffered " * 20000)  # still in the buffer when the process exits
    if ARM:
        sys.exit(fastexit.arm(CODE))
    sys.exit(CODE)
    """
)


def _run(arm: bool, code: object) -> subprocess.CompletedProcess[str]:
    script = SCRIPT.replace("ARM", repr(arm)).replace("CODE", repr(code))
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(("code", "status"), [(0, 0), (None, 0), (2, 2), (130, 130)])
def test_armed_exit_keeps_code_output_and_handlers_and_skips_teardown(
    code: object, status: int
) -> None:
    done = _run(True, code)
    assert done.returncode == status
    assert done.stdout == "buffered " * 20000
    assert "atexit handler ran" in done.stderr
    assert "teardown ran" not in done.stderr


def test_unarmed_exit_is_pythons_own() -> None:
    # the control: the same script without `arm` tears down as usual (the check can fail)
    done = _run(False, 2)
    assert done.returncode == 2
    assert "atexit handler ran" in done.stderr
    assert "teardown ran" in done.stderr


def test_a_code_that_is_not_a_number_exits_1() -> None:
    assert _run(True, "not a number").returncode == 1
