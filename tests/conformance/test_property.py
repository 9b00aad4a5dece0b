"""Random small DVC projects, two revisions each: mlci must list what DVC lists.

Each example is a repository with pipelines at the root and in sub-folders (some with a
`wdir`), params files in YAML, JSON or TOML, and metrics files in JSON, YAML or TOML whose
values are drawn from what DVC has rules for: nested keys, lists and nulls (dropped),
NaN and the infinities, booleans, strings, and YAML 1.2 scalars written as text.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conformance.harness import Project, agree

# YAML scalars whose reading differs between YAML 1.1 and 1.2, or that DVC drops
YAML_TOKENS = [
    "017", "0o17", "10:30", "on", "yes", "1e-4", "1_000", "0x1F", ".inf", "-.inf", ".nan",
    "true", "False", "null", "~", "1.", "+5", "0b101", "'quoted'", "[1, 2]", "{}", "{a: 1}",
    "2024-01-01",
]  # fmt: skip
KEYS = st.sampled_from(["acc", "loss", "f1", "train", "val", "a", "b"])
SCALARS = st.one_of(
    st.integers(-5, 5),
    st.sampled_from([0.5, 0.25, -1.5, 1e-4, float("nan"), float("inf"), float("-inf")]),
    st.booleans(),
    st.sampled_from(["x", "yes", "017", "NaN"]),
    st.none(),
    st.lists(st.integers(0, 3), max_size=2),
)
VALUES = st.recursive(SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)


@dataclass
class Pipeline:
    folder: str  # "" for the root
    wdir: str  # "" or a sub-folder of `folder`
    metrics_format: str
    params_format: str
    top_level: bool  # metrics declared at the top level, not in the stage


PIPELINES = st.builds(
    Pipeline,
    folder=st.sampled_from(["", "a", "b/c"]),
    wdir=st.sampled_from(["", "w"]),
    metrics_format=st.sampled_from(["json", "yaml", "toml", "yml-tokens"]),
    params_format=st.sampled_from(["yaml", "json", "toml"]),
    top_level=st.booleans(),
)


def _toml(values: dict[str, Any]) -> str:
    lines, tables = [], []
    for key, value in values.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, float) and math.isnan(value):
            lines.append(f"{key} = nan")
        elif isinstance(value, float) and value in (float("inf"), float("-inf")):
            lines.append(f"{key} = {'-' if value < 0 else ''}inf")
        elif isinstance(value, int | float | str | list):
            lines.append(f"{key} = {json.dumps(value)}")
    text = "\n".join(lines) + "\n"
    for key, table in tables:
        body = _toml(table)
        text += f"[{key}]\n{body}" if "[" not in body else ""
    return text


def _yaml(values: dict[str, Any], indent: str = "") -> str:
    out = []
    for key, value in values.items():
        if isinstance(value, dict):
            out.append(f"{indent}{key}:" + (" {}" if not value else ""))
            out.append(_yaml(value, indent + "  ").rstrip("\n"))
        elif isinstance(value, float) and math.isnan(value):
            out.append(f"{indent}{key}: .nan")
        elif isinstance(value, float) and abs(value) == float("inf"):
            out.append(f"{indent}{key}: {'-' if value < 0 else ''}.inf")
        else:
            out.append(f"{indent}{key}: {json.dumps(value)}")
    return "\n".join(line for line in out if line) + "\n"


def _metrics_text(fmt: str, values: dict[str, Any], tokens: list[str]) -> tuple[str, str]:
    if fmt == "json":
        return "json", json.dumps(values)
    if fmt == "toml":
        return "toml", _toml({k: v for k, v in values.items() if v is not None})
    if fmt == "yaml":
        return "yaml", _yaml(values)
    return "yaml", "".join(f"t{i}: {token}\n" for i, token in enumerate(tokens))


def _params_text(fmt: str, values: dict[str, Any]) -> str:
    clean = {
        k: v
        for k, v in values.items()
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    }
    if fmt == "json":
        return json.dumps(clean)
    if fmt == "toml":
        return _toml(clean)
    return _yaml(clean)


def _write(project: Project, pipelines: list[Pipeline], draw: Any, revision: int) -> None:
    for index, pipe in enumerate(pipelines):
        base = f"{pipe.folder}/" if pipe.folder else ""
        work = f"{base}{pipe.wdir}/" if pipe.wdir else base
        params_file = f"params.{pipe.params_format}"
        params = draw(st.dictionaries(KEYS, VALUES, min_size=1, max_size=3))
        project.write(f"{work}{params_file}", _params_text(pipe.params_format, params))
        suffix, text = _metrics_text(
            pipe.metrics_format,
            draw(st.dictionaries(KEYS, VALUES, max_size=4)),
            draw(st.lists(st.sampled_from(YAML_TOKENS), min_size=1, max_size=4)),
        )
        metrics = f"m{index}.{suffix}"
        project.write(f"{work}{metrics}", text)
        keys = draw(st.lists(KEYS, max_size=2, unique=True))
        key_list = json.dumps(keys) if keys else "[]"
        wdir = f"\n    wdir: {pipe.wdir}" if pipe.wdir else ""
        stage_metrics = (
            "" if pipe.top_level else f"\n    metrics:\n      - {metrics}:\n          cache: false"
        )
        top = (
            f"\nmetrics:\n  - {pipe.wdir + '/' if pipe.wdir else ''}{metrics}"
            if pipe.top_level
            else ""
        )
        project.write(
            f"{base}dvc.yaml",
            f"stages:\n  s{index}:\n    cmd: echo {revision}{wdir}\n"
            f"    params:\n      - {params_file}: {key_list}{stage_metrics}\n{top}\n",
        )


PROJECTS = st.lists(PIPELINES, min_size=1, max_size=3, unique_by=lambda p: p.folder)
_counter = itertools.count()


def _check(
    tmp_path_factory: pytest.TempPathFactory, pipelines: list[Pipeline], data: st.DataObject
) -> None:
    draw = data.draw
    project = Project(tmp_path_factory.mktemp(f"prop{next(_counter)}") / "p")
    for revision, tag in enumerate(("v1", "v2")):
        _write(project, pipelines, draw, revision)
        project.commit(tag)
    agree(project)


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pipelines=PROJECTS, data=st.data())
def test_random_projects_agree(
    tmp_path_factory: pytest.TempPathFactory, pipelines: list[Pipeline], data: st.DataObject
) -> None:
    _check(tmp_path_factory, pipelines, data)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pipelines=PROJECTS, data=st.data())
def test_many_random_projects_agree(
    tmp_path_factory: pytest.TempPathFactory, pipelines: list[Pipeline], data: st.DataObject
) -> None:
    _check(tmp_path_factory, pipelines, data)
