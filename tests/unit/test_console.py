"""What mlci prints: plain text under NO_COLOR, even on a terminal."""

from __future__ import annotations

import io

import pytest

from mlci import console


@pytest.mark.parametrize("no_color", ["1", ""])
def test_no_color_drops_every_style_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, no_color: str
) -> None:
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich takes the stream for a terminal
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    console.error("it [failed]")
    console.info("step", style="dim")
    text = stream.getvalue()
    if no_color:
        assert text == "error: it [failed]\nstep\n"
    else:
        assert "\x1b[" in text and "it [failed]" in text  # styled, markup taken literally
