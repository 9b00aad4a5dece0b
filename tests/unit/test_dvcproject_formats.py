"""mlci's YAML reading against the reader DVC uses (ruamel, YAML 1.2), and DVC's value rules."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlci.dvcproject.formats import ParseFailure, load
from mlci.dvcproject.values import extract_metrics, flatten
from mlci.snapshot import from_json_value, to_json

TOKENS = [
    "017", "0o17", "0x1F", "0b101", "10:30", "1_000", "+5", "-0", "1.", ".5", "1e-4", "1E5",
    "1.5e+3", ".inf", "-.inf", "+.inf", ".nan", ".NaN", "true", "True", "FALSE", "on", "yes",
    "no", "off", "y", "null", "~", "Null", "2024-01-01", "0.1_0", "'017'", "x", "0o8", "09",
]  # fmt: skip


def _ruamel(text: str) -> Any:
    from ruamel.yaml import YAML  # DVC's YAML reader, in its "safe" mode

    return YAML(typ="safe").load(text)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6))
def test_yaml_scalars_read_as_dvc_reads_them(tokens: list[str]) -> None:
    text = "".join(f"k{i}: {token}\n" for i, token in enumerate(tokens))
    ours, theirs = load("m.yaml", text.encode()), _ruamel(text)
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert _same(ours[key], theirs[key]), (key, ours[key], theirs[key])


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("m.json", '{\n "a": 1,\n "b": x\n}', 3),
        ("m.yaml", "a: 1\nb: [1\n", 3),
        ("m.toml", "a = 1\nb = \n", 2),
        ("m.py", "A = 1\ndef (:\n", 2),
    ],
)
def test_parse_failures_name_the_line(name: str, text: str, line: int) -> None:
    with pytest.raises(ParseFailure) as caught:
        load(name, text.encode())
    assert caught.value.line == line


def test_metrics_keep_what_dvc_keeps() -> None:
    document = {"a": 1, "b": [1], "c": None, "d": {}, "e": {"f": True, "g": "s", "h": [2]}}
    assert flatten(extract_metrics(document)) == {"a": 1, "e.f": True, "e.g": "s"}
    assert extract_metrics([1, 2]) is None


def test_json_is_strict_and_reads_back() -> None:
    values = [math.nan, math.inf, -math.inf, 1.5, "x"]
    written = to_json(values)
    assert written == ["NaN", "Infinity", "-Infinity", 1.5, "x"]
    back = [from_json_value(v) for v in written]
    assert math.isnan(back[0]) and back[1:] == [math.inf, -math.inf, 1.5, "x"]
