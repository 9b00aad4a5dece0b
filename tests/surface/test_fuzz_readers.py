"""Random file contents thrown at every reader: none may end in exit 4 or an unexpected exception.

In process (click's CliRunner), so each example costs a command, not a Python start.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlci.cli import cli
from tests.conftest import TINY_DVC_YAML, make_tiny_project

# its module-scoped fixtures are built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("fuzz-readers")

EXAMPLES = settings(
    max_examples=int(os.environ.get("MLCI_FUZZ_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

keys = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


def _yaml(tree: Any) -> str:
    return yaml.safe_dump(tree, allow_unicode=True)


def _json(tree: Any) -> str:
    return json.dumps(tree)


texts = st.one_of(
    trees.map(_json),
    trees.map(_yaml),
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")),
    st.sampled_from(["", "{", "[", "- a\n- b", "a: [", "stages: 3", "*x", "!!python/object:os.system x"]),
)  # fmt: skip


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return (
            "["
            + ", ".join(
                _toml_value(v) for v in value if v is not None and not isinstance(v, dict | list)
            )
            + "]"
        )
    return json.dumps(str(value))  # fmt: skip


def _toml(table: dict[str, Any], prefix: str = "tool.mlci") -> str:
    lines = [f"[{prefix}]"]
    nested = []
    for key, value in table.items():
        if isinstance(value, dict):
            nested.append(_toml(value, f"{prefix}.{json.dumps(key)}"))
        elif value is not None:
            lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
    return "\n".join([*lines, *nested]) + "\n"


LOCK = {
    "schema": "2.0",
    "stages": {
        "double": {
            "cmd": "python double.py",
            "deps": [{"path": "input.txt", "md5": "a" * 32, "size": 6}],
            "params": {"params.yaml": {"double.factor": 2}},
            "outs": [{"path": "work/doubled.txt", "md5": "b" * 32, "size": 5, "nfiles": 1}],
        }
    },
}
DOT_DVC = {"outs": [{"md5": "c" * 32 + ".dir", "size": 10, "nfiles": 2, "path": "data"}]}
ARTIFACTS = {"artifacts": {"model": {"path": "work/doubled.txt", "type": "model", "labels": ["a"]}}}


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield from _paths(child, (*at, key))


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def mutations(document: Any) -> st.SearchStrategy[Any]:
    """The document with one node (the root included) replaced by a random tree."""
    paths = list(_paths(document))
    return st.builds(lambda p, v: _replace(document, p, v), st.sampled_from(paths), trees)


config_keys = st.sampled_from(
    ["state_dir", "strict", "require_gpu", "report", "gates", "data", "model", "release",
     "dvc", "tracking", "precision", "min", "max_drop", "path", "suite", "stages", "id", "x"]
)  # fmt: skip
config_tables = st.recursive(
    scalars, lambda inner: st.dictionaries(config_keys, inner, max_size=4), max_leaves=10
).filter(lambda t: isinstance(t, dict))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("fuzz-home")
    with pytest.MonkeyPatch.context() as env:
        # module scope runs before the per-test isolation of tests/conftest.py: the same here
        env.setenv("HOME", str(home))
        env.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        env.setenv("DVC_NO_ANALYTICS", "1")
        env.setenv("DVC_GLOBAL_CONFIG_DIR", str(home / "dvc-global"))
        for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
            env.setenv(name, "Fuzz")
        for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
            env.setenv(name, "fuzz@example.com")
        repo = make_tiny_project(tmp_path_factory.mktemp("fuzz") / "tiny")
        (repo / "data.dvc").write_text(
            "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: data\n"
        )
        (repo / "metrics.json").write_text('{"total": 1.5}')
        yield repo


@pytest.fixture(scope="module")
def saved(pristine: Path) -> dict[str, Any]:
    """A report as `mlci report --format json` saves it, with a metric, a param and data."""
    result = CliRunner().invoke(cli, ["-C", str(pristine), "report", "--format", "json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy, symlinks=True)
    return copy


def _invoke(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(repo), *args], catch_exceptions=True)


def _never_a_bug(result: Result, what: str) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            f"{what}: unexpected {result.exception!r}\n{result.output}"
        ) from result.exception
    assert result.exit_code != 4, f"{what}: exit 4\n{result.output}"
    assert result.exit_code in (0, 1, 2), f"{what}: exit {result.exit_code}\n{result.output}"


def _put(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(text, encoding="utf-8", errors="surrogateescape")


READERS = {
    # file: (the commands that read it, a valid document to mutate, how it is written)
    "metrics.json": ([("report", "--format", "json"), ("report",)], {"total": 1.5, "nested": {"count": 3}}, _json),
    "params.yaml": ([("report", "--format", "json", "--all")], {"double": {"factor": 2}, "score": {"scale": 1.5}}, _yaml),
    "dvc.yaml": ([("report", "--format", "json"), ("models",)], {**yaml.safe_load(TINY_DVC_YAML), **ARTIFACTS}, _yaml),
    "dvc.lock": ([("report", "--format", "json")], LOCK, _yaml),
    "data.dvc": ([("report", "--format", "json")], DOT_DVC, _yaml),
}  # fmt: skip


def _check_reader(repo: Path, name: str, text: str) -> None:
    _put(repo, name, text)
    for command in READERS[name][0]:
        _never_a_bug(_invoke(repo, *command), f"{name} = {text!r}: mlci {' '.join(command)}")


@pytest.mark.parametrize("name", READERS)
@EXAMPLES
@given(data=st.data())
def test_random_file_contents(repo: Path, name: str, data: st.DataObject) -> None:
    _check_reader(repo, name, data.draw(texts))


@pytest.mark.parametrize("name", READERS)
@EXAMPLES
@given(data=st.data())
def test_mutated_documents(repo: Path, name: str, data: st.DataObject) -> None:
    """A valid document with one node replaced: shapes a reader must expect and refuse by name."""
    _commands, document, write = READERS[name]
    _check_reader(repo, name, write(data.draw(mutations(document))))


@EXAMPLES
@given(data=st.data())
def test_random_saved_report(repo: Path, saved: dict[str, Any], data: st.DataObject) -> None:
    text = data.draw(texts | mutations(saved).map(_json))
    _put(repo, "saved.json", text)
    for fmt in ("terminal", "markdown", "json"):
        result = _invoke(repo, "report", "--from", str(repo / "saved.json"), "--format", fmt)
        _never_a_bug(result, f"saved.json = {text!r}")


@EXAMPLES
@given(table=config_tables, raw=st.booleans(), text=st.text(max_size=40))
def test_random_tool_mlci(repo: Path, table: dict[str, Any], raw: bool, text: str) -> None:
    _put(repo, "pyproject.toml", f"[tool.mlci]\n{text}\n" if raw else _toml(table))
    for command in (("config",), ("config", "--format", "json"), ("report", "--format", "json")):
        _never_a_bug(_invoke(repo, *command), f"pyproject.toml = {table if not raw else text!r}")
