from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import config
from mlci.cli import cli
from mlci.errors import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / ".git").mkdir(exist_ok=True)  # marks the project root
    (tmp_path / "pyproject.toml").write_text(body)
    return tmp_path


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    cfg = config.load(tmp_path)
    assert cfg.file is None
    assert cfg.dvc.embedded_remote == ".mlci/dvc-remote"
    assert cfg.tracking_uri == f"sqlite:///{tmp_path / '.mlci' / 'mlflow.db'}"
    assert cfg.experiment_name == tmp_path.name
    assert all(source == "default" for _, _, source in cfg.effective())


def test_values_and_sources(tmp_path: Path) -> None:
    write(tmp_path, '[tool.mlci]\nrequire_gpu = true\n[tool.mlci.tracking]\nexperiment = "exp"\n')
    cfg = config.load(tmp_path)
    assert cfg.require_gpu is True
    assert cfg.experiment_name == "exp"
    sources = {key: source for key, _, source in cfg.effective()}
    assert sources["require_gpu"] == "pyproject.toml"
    assert sources["tracking.experiment"] == "pyproject.toml"
    assert sources["dvc.remote"] == "default"


def test_env_tracking_uri_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, '[tool.mlci.tracking]\nuri = "http://127.0.0.1:1"\n')
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:2")
    cfg = config.load(tmp_path)
    assert cfg.tracking_uri == "http://127.0.0.1:2"
    row = next(r for r in cfg.effective() if r[0] == "tracking.uri")
    assert row == ("tracking.uri", "http://127.0.0.1:2", "env MLFLOW_TRACKING_URI")


def test_loads_from_a_subdirectory(tmp_path: Path) -> None:
    write(tmp_path, "[tool.mlci]\nstrict = true\n")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    cfg = config.load(tmp_path / "sub" / "deeper")
    assert cfg.root == tmp_path
    assert cfg.strict is True


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("[tool.mlci]\nrequire_gpus = true\n", "unknown key 'require_gpus'"),
        ("[tool.mlci.tracking]\nexperimnt = 'x'\n", "unknown key 'tracking.experimnt'"),
        ("[tool.mlci]\nrequire_gpu = 'yes'\n", "'require_gpu'"),
        ("[tool.mlci]\ndvc = 3\n", "'dvc'"),
        ("[tool.mlci]\nstate_dir = '/abs'\n", "'state_dir': must be a relative path"),
        ("[tool.mlci]\nstate_dir = '../out'\n", "'state_dir'"),
        ("[tool.mlci.dvc]\nrun_cache = 1\n", "'dvc.run_cache'"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path: Path, body: str, named: str) -> None:
    write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        config.load(tmp_path)
    assert named in info.value.message
    assert str(tmp_path / "pyproject.toml") in info.value.message
    assert info.value.exit_code == 2


def test_malformed_toml(tmp_path: Path) -> None:
    write(tmp_path, "[tool.mlci\nrequire_gpu = true\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(tmp_path)


def test_cli_config_exit_2_names_key(tmp_path: Path) -> None:
    write(tmp_path, "[tool.mlci]\nbogus = 1\n")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "config"])
    assert result.exit_code == 2
    assert "unknown key 'bogus'" in result.output
    assert "Traceback" not in result.output


def test_cli_config_shows_sources(tmp_path: Path) -> None:
    write(tmp_path, "[tool.mlci]\nstrict = true\n")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "config"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("strict = "))
    assert line.split("#")[1].strip() == "pyproject.toml"
    assert "# default" in next(x for x in result.output.splitlines() if x.startswith("dvc.remote"))


def test_cli_config_json(tmp_path: Path) -> None:
    write(tmp_path, "[tool.mlci]\nstrict = true\n")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "config", "--format", "json"])
    data = json.loads(result.output)
    rows = {row["key"]: row for row in data["settings"]}
    assert rows["strict"] == {"key": "strict", "value": True, "source": "pyproject.toml"}
    assert rows["tracking.enabled"]["source"] == "default"
