"""DVC's files parsed as DVC parses them, without importing DVC."""

from __future__ import annotations

from mlci import dvc


def test_flatten_like_dvc() -> None:
    assert dvc.flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}, "f": {}}) == {
        "a": 1,
        "b.c": 2,
        "b.d.e": 3,
        "f": {},
    }


def test_yaml_like_dvc_reads_it() -> None:
    # DVC reads YAML 1.2: exponents without a dot are numbers, on/yes and dates stay strings
    assert dvc.parse(
        "lr: 1e-4\nshuffle: on\nask: yes\nday: 2024-01-01\nn: 42\nx: 1.5\nok: true\n"
    ) == {
        "lr": 0.0001,
        "shuffle": "on",
        "ask": "yes",
        "day": "2024-01-01",
        "n": 42,
        "x": 1.5,
        "ok": True,
    }
    assert dvc.parse('{"loss": 1e-05}', "metrics.json") == {"loss": 1e-05}
