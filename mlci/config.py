"""The `[tool.mlci]` table of pyproject.toml: schema, defaults, clear errors.

Precedence for each value: environment variable (where one is documented),
then pyproject.toml, then the default. `Config.sources` records which one won.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from mlci.errors import ConfigError

# pydantic scans every installed package's entry points for plugins while it builds a
# model class (tens of ms on each `mlci` call); mlci's schema needs none. The switch is
# undone once the classes below exist, so stage commands mlci starts keep the user's plugins.
_SAVED_PLUGINS_SETTING = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"

from pydantic import (  # noqa: E402 (after the switch above)
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

__all__ = [
    "Config",
    "DatasetConfig",
    "DvcConfig",
    "GateConfig",
    "ModelConfig",
    "ReleaseConfig",
    "ReportConfig",
    "TrackingConfig",
    "find_root",
    "line_of",
    "load",
]

SECTION = "tool.mlci"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, strict=True)


class DvcConfig(_Section):
    remote: str = Field(
        "", description="DVC remote to pull from and push to; '' = the repo's default remote"
    )
    embedded_remote: str = Field(
        ".mlci/dvc-remote",
        description="local directory used as the remote when the repo configures none; '' turns it off",
    )
    run_cache: bool = Field(True, description="pull and push DVC's run-cache with the outputs")


class TrackingConfig(_Section):
    enabled: bool = Field(True, description="record an MLflow run for each `mlci run`")
    uri: str = Field(
        "",
        description="MLflow tracking URI; env MLFLOW_TRACKING_URI wins; '' = sqlite under state_dir",
    )
    experiment: str = Field(
        "", description="MLflow experiment name; '' = the repository's folder name"
    )


Statistic = Literal["accuracy", "f1_macro"]


def _default_significance() -> dict[str, Statistic]:
    return {"accuracy": "accuracy", "f1_macro": "f1_macro"}


class ReportConfig(_Section):
    id: str = Field(
        "",
        description="report id in the PR comment's hidden marker; '' = the workflow name, else 'pipeline'",
    )
    precision: int = Field(4, ge=0, le=12, description="significant digits shown for numbers")
    predictions: str = Field(
        "",
        description="per-sample predictions file (columns index,label,predicted) for significance tests",
    )
    significance: dict[str, Statistic] = Field(
        default_factory=_default_significance,
        description="metric name -> the statistic recomputed from the predictions file",
    )
    resamples: int = Field(1000, ge=100, le=100_000, description="bootstrap resamples")
    post: bool = Field(
        False,
        description="in GitHub Actions on a pull_request event, post the comment without --post",
    )


class DatasetConfig(_Section):
    path: str = Field(description="a data file or a glob, relative to the repository root")
    suite: str = Field(description="the expectation suite (gx/expectations/<suite>.json)")
    format: Literal["csv", "parquet"] = Field("csv", description="file format")
    engine: Literal["pandas", "spark"] = Field("pandas", description="GX data source engine")
    delimiter: str = Field(",", description="CSV field delimiter")

    @field_validator("path", "suite")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


_PERCENT = re.compile(r"^\d+(\.\d+)?%$")


class GateConfig(_Section):
    min: float | None = Field(None, description="the metric must be at least this")
    max: float | None = Field(None, description="the metric must be at most this")
    max_drop: float | str | None = Field(
        None,
        description="largest allowed fall against the base: absolute (0.01) or relative ('1%')",
    )
    max_rise: float | str | None = Field(
        None, description="largest allowed rise against the base: absolute or relative ('5%')"
    )
    require_significant: bool = Field(
        False, description="a rise must be significant (paired bootstrap), not within noise"
    )
    severity: Literal["error", "warning"] = Field("error", description="error fails the command")

    @field_validator("max_drop", "max_rise")
    @classmethod
    def _tolerance(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, str) and not _PERCENT.match(value.strip()):
            raise ValueError("must be a number or a percentage such as '1%'")
        if isinstance(value, float | int) and value < 0:
            raise ValueError("must not be negative")
        return value


class ModelConfig(_Section):
    path: str = Field(
        "", description="model file or folder; '' = the model in dvc.yaml's artifacts"
    )
    loader: str = Field(
        "",
        description="'module:function' that loads the model path and returns an object with .predict(rows)",
    )
    sample: str = Field(
        "", description="CSV of evaluation rows used for the load and latency checks"
    )
    label: str = Field("label", description="column of the sample dropped before predicting")
    max_size_mb: float | None = Field(None, description="size budget of the model file or folder")
    max_latency_ms_p50: float | None = Field(
        None, description="median latency budget for one batch"
    )
    max_latency_ms_p95: float | None = Field(
        None, description="95th-percentile latency budget for one batch"
    )
    latency_rows: int = Field(100, ge=1, description="rows per timed batch")
    latency_repeats: int = Field(30, ge=3, description="timed batches (after one warm-up call)")


class ReleaseConfig(_Section):
    stages: list[str] = Field(
        default_factory=lambda: ["dev", "staging", "prod"],
        description="allowed stages, in promotion order: a stage needs the one before it first",
    )
    protected: list[str] = Field(
        default_factory=lambda: ["prod"],
        description="stages that only accept versions whose commit is on the default branch",
    )
    registered_model: str = Field(
        "", description="MLflow registered model name; '' = the artifact's name"
    )
    service: str = Field(
        "",
        description="BentoML service 'package.module:Class' to build, serve and smoke-test; '' = none",
    )
    feedback_store: str = Field(
        ".mlci/feedback",
        description="where the served model stores feedback: a folder or an fsspec URL",
    )
    bump_label_prefix: str = Field(
        "release:",
        description="`mlci release --auto` reads the bump from PR labels PREFIX{major,minor,patch}; '' = never",
    )


class Config(_Section):
    state_dir: str = Field(
        ".mlci", description="where mlci keeps run.json, the MLflow db and results"
    )
    require_gpu: bool = Field(
        False, description="refuse to run the pipeline without a GPU (exit 3)"
    )
    strict: bool = Field(False, description="treat a missing baseline as a failure")
    dvc: DvcConfig = Field(default_factory=DvcConfig)  # type: ignore[arg-type]
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)  # type: ignore[arg-type]
    report: ReportConfig = Field(default_factory=ReportConfig)  # type: ignore[arg-type]
    data: dict[str, DatasetConfig] = Field(
        default_factory=dict, description="datasets to validate, by name"
    )
    gates: dict[str, GateConfig] = Field(
        default_factory=dict, description="model gates, keyed by metric ('name' or 'file:name')"
    )
    model: ModelConfig = Field(default_factory=ModelConfig)  # type: ignore[arg-type]
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)  # type: ignore[arg-type]
    runners: dict[str, list[str]] = Field(
        default_factory=dict,
        description="`mlci plan`: stage-name pattern (fnmatch) -> runner labels, first match wins; "
        "'default' for the rest",
    )

    # filled by load(), not part of the schema
    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _file: Path | None = PrivateAttr(default=None)
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def file(self) -> Path | None:
        """The pyproject.toml read, or None when there was none."""
        return self._file

    @property
    def sources(self) -> dict[str, str]:
        return self._sources

    @field_validator("state_dir")
    @classmethod
    def _relative_state_dir(cls, value: str) -> str:
        if not value or Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a relative path inside the repository")
        return value

    @field_validator("runners")
    @classmethod
    def _runner_labels(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for pattern, labels in value.items():
            if not pattern.strip():
                raise ValueError("a stage-name pattern must not be empty")
            if not labels or not all(label.strip() for label in labels):
                raise ValueError(f"'{pattern}' must be a non-empty list of runner labels")
        return value

    @property
    def state_path(self) -> Path:
        return self.root / self.state_dir

    @property
    def tracking_uri(self) -> str:
        if uri := os.environ.get("MLFLOW_TRACKING_URI"):
            return uri
        if self.tracking.uri:
            return self.tracking.uri
        return f"sqlite:///{self.state_path / 'mlflow.db'}"

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment or self.root.resolve().name

    def effective(self) -> list[tuple[str, Any, str]]:
        """(dotted key, value, source) for every setting, defaults filled in."""
        rows: list[tuple[str, Any, str]] = []

        def walk(model: BaseModel, prefix: str) -> None:
            for name in type(model).model_fields:
                value = getattr(model, name)
                key = f"{prefix}{name}"
                if isinstance(value, BaseModel):
                    walk(value, key + ".")
                elif isinstance(value, dict) and all(
                    isinstance(v, BaseModel) for v in value.values()
                ):
                    for item_name, item in value.items():
                        walk(item, f"{key}.{_toml_key(item_name)}.")
                else:
                    rows.append((key, value, self.sources.get(key, "default")))

        walk(self, "")
        for i, (key, _value, _source) in enumerate(rows):
            if key == "tracking.uri" and os.environ.get("MLFLOW_TRACKING_URI"):
                rows[i] = (key, os.environ["MLFLOW_TRACKING_URI"], "env MLFLOW_TRACKING_URI")
        return rows


if _SAVED_PLUGINS_SETTING is None:
    del os.environ["PYDANTIC_DISABLE_PLUGINS"]
else:
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = _SAVED_PLUGINS_SETTING


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[\w-]+", name) else json.dumps(name)


def line_of(config: Config, *keys: str) -> int | None:
    """The line of pyproject.toml that declares `[tool.mlci.<keys>]` (for annotations)."""
    if config.file is None:
        return None
    wanted = [
        re.escape(k) if re.fullmatch(r"[\w-]+", k) else f"[\"']{re.escape(k)}[\"']" for k in keys
    ]
    pattern = re.compile(r"^\s*\[\s*tool\.mlci\." + r"\.".join(wanted) + r"\s*\]\s*(#.*)?$")
    try:
        lines = config.file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((number for number, line in enumerate(lines, 1) if pattern.match(line)), None)


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder upwards holding .dvc/, .git or pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    if not here.is_dir():
        raise ConfigError(f"no such directory: {start or here}")
    for folder in (here, *here.parents):
        if (folder / ".dvc").is_dir() or (folder / ".git").exists():
            return folder
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def _flatten_keys(table: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in table.items():
        if isinstance(value, dict):
            keys.extend(_flatten_keys(value, f"{prefix}{_toml_key(key)}."))
        else:
            keys.append(f"{prefix}{_toml_key(key)}")
    return keys


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{loc}'"
    if kind == "model_type":
        return f"'{loc}' must be a table"
    return f"'{loc}': {error['msg'].removeprefix('Value error, ')} (got {error.get('input')!r})"


def load(root: Path | None = None) -> Config:
    root = find_root(root)
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    file: Path | None = None
    if pyproject.is_file():
        try:
            document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{pyproject}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{pyproject}: not valid TOML: not UTF-8 text") from None
        tool = document.get("tool", {})
        table = tool.get("mlci", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise ConfigError(f"{pyproject}: [{SECTION}] must be a table")
        file = pyproject
    try:
        config = Config.model_validate(table)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())  # type: ignore[arg-type]
        raise ConfigError(f"{pyproject}: [{SECTION}] {problems}") from None
    config._root = root
    config._file = file
    config._sources = {key: str(pyproject.name) for key in _flatten_keys(table)}
    return config
