"""DVC's YAML parsing done once per text while mlci works in process (mlci/dvc/yamlcache.py)."""

from __future__ import annotations

import pytest

from mlci.dvc.yamlcache import parsed_once

LOCK = "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n"


def test_each_text_is_parsed_once_and_every_caller_gets_its_own_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dvc.utils import strictyaml
    from dvc.utils.serialize import _yaml

    parses: list[str] = []
    real = _yaml.parse_yaml

    def counted(text: str, path: str, typ: str = "safe") -> object:
        parses.append(path)
        return real(text, path, typ=typ)

    monkeypatch.setattr(_yaml, "parse_yaml", counted)
    with parsed_once():
        first = strictyaml.parse_yaml(LOCK, "dvc.lock")
        first["stages"]["train"]["cmd"] = "changed by its caller"
        second = _yaml.parse_yaml(LOCK, "dvc.lock")
        changed = strictyaml.parse_yaml(LOCK + "  other:\n    cmd: echo\n", "dvc.lock")
        round_trip = _yaml.parse_yaml_for_update(LOCK, "dvc.lock")
    assert second["stages"]["train"]["cmd"] == "python train.py"  # not the first caller's edit
    assert set(changed["stages"]) == {"train", "other"}  # a rewritten file is parsed anew
    assert round_trip["stages"]["train"]["cmd"] == "python train.py"
    assert parses == ["dvc.lock", "dvc.lock", "dvc.lock"]  # LOCK, the changed text, rt
    assert _yaml.parse_yaml is counted and strictyaml.parse_yaml is not counted  # given back


def test_a_text_that_does_not_parse_raises_every_time() -> None:
    from dvc.utils import strictyaml
    from dvc.utils.serialize import YAMLFileCorruptedError

    with parsed_once():
        for _ in range(2):
            with pytest.raises(YAMLFileCorruptedError):
                strictyaml.parse_yaml("stages: [unclosed", "dvc.yaml")
