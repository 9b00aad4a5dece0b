"""`mlci init`: CI workflows, `[tool.mlci]` and a gx/ skeleton for a git + DVC repository.

Every file is planned first (created, updated, unchanged, or in conflict: it
differs from what init would write), and written only when nothing conflicts
or `force` is given, so a refused run leaves the repository as it was and a
second run with the same options plans no change. pyproject.toml is edited as
text: init inserts its tables and keys (and, with `force`, replaces the lines
of its own keys); every other byte stays as it was, and the result is parsed
again to prove it.
"""

from __future__ import annotations

import configparser
import copy
import difflib
import json
import math
import os
import re
import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci import __version__, config, git
from mlci.dvc import load_project, load_yaml
from mlci.errors import ServiceError, UsageError

__all__ = [
    "DEFAULT_REF",
    "DEFAULT_REPO",
    "FileChange",
    "InitPlan",
    "init",
    "plan",
    "starter_suite",
    "write",
]

DEFAULT_REPO = "mlci-dev/mlci"
# the release tag of this mlci; `--ref` takes a commit SHA to pin by hash
DEFAULT_REF = f"v{__version__}"
DEFAULT_RUNNER = ("ubuntu-latest",)
WORKFLOWS_DIR = ".github/workflows"
GX_DIR = "gx"
INT_SET_MAX = 10  # an integer column with at most this many values gets a value set (labels)
TEXT_SET_MAX = 20  # a text column with at most this many values gets a value set
_SUITE_NAMESPACE = uuid.UUID("6f1d1c52-3c1e-4b8e-9a57-5d7f0e6b2a10")  # stable expectation ids

Action = Literal["create", "update", "unchanged", "conflict"]


@dataclass
class FileChange:
    path: str  # relative to the git top level, '/'-separated
    action: Action
    old: str | None  # None: the file does not exist
    new: str  # what init writes (for a conflict: what `force` writes)
    reason: str = ""  # an update: what is added; a conflict: what differs

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                (self.old or "").splitlines(keepends=True),
                self.new.splitlines(keepends=True),
                fromfile="/dev/null" if self.old is None else f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


@dataclass
class InitPlan:
    root: Path  # the git top level (the workflows live there)
    project: Path  # the folder with .dvc/ and dvc.yaml
    changes: list[FileChange] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def conflicts(self) -> list[FileChange]:
        return [c for c in self.changes if c.action == "conflict"]

    @property
    def pending(self) -> list[FileChange]:
        return [c for c in self.changes if c.action != "unchanged"]

    def diff(self) -> str:
        return "".join(change.diff() for change in self.pending)

    def check(self, *, force: bool) -> None:
        """Refuse (exit 2) when a file differs from what init writes, unless `force`."""
        if self.conflicts and not force:
            names = ", ".join(
                f"{c.path} ({c.reason})" if c.reason else c.path for c in self.conflicts
            )
            raise UsageError(
                f"not overwriting what differs from what mlci init writes: {names}",
                hint="`mlci init --dry-run` shows the diff; `--force` overwrites",
            )


# ---------------------------------------------------------------- entry points


def init(
    path: Path | None = None,
    *,
    data: Sequence[Path] = (),
    repo: str | None = None,
    ref: str | None = None,
    runner: Sequence[str] = (),
    mlci_version: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> InitPlan:
    """Plan the files; unless `dry_run`, write them (refusing conflicts without `force`)."""
    planned = plan(path, data=data, repo=repo, ref=ref, runner=runner, mlci_version=mlci_version)
    if not dry_run:
        write(planned, force=force)
    return planned


def write(planned: InitPlan, *, force: bool = False) -> None:
    planned.check(force=force)
    for change in planned.pending:
        target = planned.root / change.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(change.new.encode("utf-8"))
    planned.written = True


def plan(
    path: Path | None = None,
    *,
    data: Sequence[Path] = (),
    repo: str | None = None,
    ref: str | None = None,
    runner: Sequence[str] = (),
    mlci_version: str | None = None,
) -> InitPlan:
    start = (path or Path.cwd()).resolve()
    repo = _checked("--repo", repo or DEFAULT_REPO, r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
    ref = _checked("--ref", ref or DEFAULT_REF, r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
    if ".." in ref or ref.endswith((".", "/", ".lock")):
        raise UsageError(f"--ref: not a valid git ref: {ref!r}")
    labels = [_checked("--runner", label, r"[A-Za-z0-9_][A-Za-z0-9._-]*") for label in runner]
    if mlci_version is not None:
        _checked("--mlci-version", mlci_version, r"[A-Za-z0-9._+/~=-]+")

    root, project = _locate(start)
    shown_project = project.relative_to(root).as_posix()
    prefix = "" if shown_project == "." else f"{shown_project}/"
    datasets = [_dataset(start, project, file) for file in data]

    pyproject_path = project / "pyproject.toml"
    old_pyproject = _read(pyproject_path)
    tables = _config_tables(project, old_pyproject, datasets)
    pyproject = _merge_pyproject(f"{prefix}pyproject.toml", old_pyproject, tables)
    settings = _validated(f"{prefix}pyproject.toml", pyproject.text)

    result = InitPlan(root=root, project=project)
    pinned, unpinned_why = pin(repo, ref)
    workflows = _workflows(
        repo=repo,
        ref=pinned,
        runner=labels or list(DEFAULT_RUNNER),
        mlci_version=mlci_version,
        branch=_default_branch(root),
        working_directory=shown_project,
        validate_data=bool(settings.data),
    )
    for name, text in workflows.items():
        result.changes.append(_whole_file(root, f"{WORKFLOWS_DIR}/{name}", text))
    result.changes.append(pyproject.change(old_pyproject))
    result.changes.append(_gitignore(root, f"{prefix}.gitignore", settings.state_dir))
    # the gx/ project: kept as it is when there is one already
    skeleton = {
        "great_expectations.yml": GX_YML,
        ".gitignore": "uncommitted/\n",
        # GX writes this on first use otherwise: a stable id keeps the working tree clean
        "expectations/.ge_store_backend_id": (
            f"store_backend_id = {uuid.uuid5(_SUITE_NAMESPACE, project.name)}\n"
        ),
    }
    for name, text in skeleton.items():
        change = _whole_file(root, f"{prefix}{GX_DIR}/{name}", text)
        if change.action == "conflict":
            change = FileChange(change.path, "unchanged", change.old, change.old or "")
        result.changes.append(change)
    for dataset in datasets:
        suite = starter_suite(dataset.frame, dataset.name, dataset.shown)
        text = json.dumps(suite, indent=2, ensure_ascii=False) + "\n"
        result.changes.append(
            _whole_file(root, f"{prefix}{GX_DIR}/expectations/{dataset.name}.json", text)
        )
    result.next_steps = _next_steps(result, settings, datasets, ref=ref, unpinned=unpinned_why)
    return result


def pin(repo: str, ref: str) -> tuple[str, str]:
    """`ref` as the workflows write it: `SHA # ref` when the tag or branch resolves, else
    `ref` itself, with why it could not be pinned.

    A commit SHA is taken as it is. Otherwise git asks the server that hosts `repo`
    ($GITHUB_SERVER_URL, else https://github.com; bounded in time) for the commit.
    """
    if re.fullmatch(r"[0-9a-f]{40}", ref):
        return ref, ""
    server = (os.environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    try:
        sha = git.remote_ref(f"{server}/{repo}.git", ref)
    except ServiceError as exc:
        return ref, exc.message
    return f"{sha} # {ref}", ""


def _checked(option: str, value: str, pattern: str) -> str:
    if not re.fullmatch(pattern, value):
        raise UsageError(f"{option}: not a valid value: {value!r}")
    return value


def _locate(start: Path) -> tuple[Path, Path]:
    """The git top level and the DVC project folder (start, or the nearest one above it)."""
    if not start.is_dir():
        raise UsageError(f"no such directory: {start}")
    root = git.toplevel(start).resolve()
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            project = folder
            break
        if folder == root:
            raise UsageError(
                f"not a DVC repository: {start}",
                hint="mlci init sets up CI for a DVC pipeline: run `dvc init` first",
            )
    else:  # pragma: no cover - the git top level is always among the parents
        raise UsageError(f"not a DVC repository: {start}")
    if not project.is_relative_to(root):
        raise UsageError(f"the DVC project {project} is outside the git repository {root}")
    load_project(project)  # no dvc.yaml, or a broken one: exit 2 naming it
    return root, project


def _read(file: Path) -> str | None:
    try:
        return file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not a UTF-8 text file") from None
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror}") from None


def _whole_file(root: Path, shown: str, text: str) -> FileChange:
    old = _read(root / shown)
    if old is None:
        return FileChange(shown, "create", None, text)
    if old == text:
        return FileChange(shown, "unchanged", old, text)
    return FileChange(shown, "conflict", old, text)


def _gitignore(root: Path, shown: str, state_dir: str) -> FileChange:
    old = _read(root / shown)
    entry = state_dir.strip("/")
    ignored = {entry, f"{entry}/", f"/{entry}", f"/{entry}/", f"{entry}/*", f"/{entry}/*"}
    if old is not None and any(line.strip() in ignored for line in old.splitlines()):
        return FileChange(shown, "unchanged", old, old)
    base = old or ""
    if base and not base.endswith("\n"):
        base += "\n"
    new = f"{base}# mlci's state: run records, the MLflow database, the embedded DVC remote\n/{entry}/\n"
    return FileChange(shown, "create" if old is None else "update", old, new, f"/{entry}/ added")


def _default_branch(root: Path) -> str:
    branch = git.default_branch(root)
    if (
        branch == "main"
        and git.resolve(root, "refs/heads/main") is None
        and git.resolve(root, "refs/heads/master") is not None
    ):
        return "master"
    return branch


# ---------------------------------------------------------------- datasets


@dataclass
class _Data:
    name: str
    shown: str  # relative to the project, '/'-separated
    format: Literal["csv", "parquet"]
    delimiter: str
    frame: Any  # pandas.DataFrame


def _dataset(start: Path, project: Path, file: Path) -> _Data:
    full = (file if file.is_absolute() else start / file).resolve()
    if not full.is_file():
        raise UsageError(f"--data {file}: no such file")
    if not full.is_relative_to(project):
        raise UsageError(f"--data {file}: outside the project {project}")
    shown = full.relative_to(project).as_posix()
    suffix = full.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        fmt: Literal["csv", "parquet"] = "parquet"
    elif suffix in {".csv", ".tsv", ".txt"}:
        fmt = "csv"
    else:
        raise UsageError(f"--data {file}: expected a .csv or .parquet file")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", full.stem).strip("_") or "data"
    raw = full.read_bytes()
    delimiter = "," if fmt == "parquet" else _sniff_delimiter(raw)
    dataset = config.DatasetConfig(
        path=shown, suite=name, format=fmt, engine="pandas", delimiter=delimiter
    )
    # the same parser as `mlci validate data`: the suite describes what it will read
    from mlci.validate.data import read_table

    try:
        frame = read_table(raw, shown, dataset)
    except ImportError:
        raise ServiceError("reading --data needs pandas: pip install 'mlci[gx]'") from None
    if len(frame) == 0:
        raise UsageError(f"--data {file}: no rows to infer expectations from")
    return _Data(name, shown, fmt, delimiter, frame)


def _sniff_delimiter(raw: bytes) -> str:
    header = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    from mlci.validate.data import DELIMITERS

    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


_INT_TYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
]
_FLOAT_TYPES = ["float16", "float32", "float64", "FloatType", "DoubleType"]
_BOOL_TYPES = ["bool", "boolean", "BooleanType"]


def _kind(dtype: Any) -> str | None:
    text = str(dtype).lower()
    if text.startswith(("int", "uint")):
        return "int"
    if text.startswith("float"):
        return "float"
    if text in {"bool", "boolean"}:
        return "bool"
    if text in {"object", "str", "string"} or text.startswith("string"):
        return "text"
    return None  # dates, categories and such: a column check only


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def starter_suite(frame: Any, name: str, shown: str) -> dict[str, Any]:
    """An expectation suite that the data it was inferred from passes: its columns,
    their types and nulls, numeric ranges and small value sets, a row count range."""
    expectations: list[dict[str, Any]] = []

    def expect(kind: str, **kwargs: Any) -> None:
        key = f"{name}:{len(expectations)}:{kind}:{kwargs.get('column', '')}"
        expectations.append(
            {
                "id": str(uuid.uuid5(_SUITE_NAMESPACE, key)),
                "kwargs": kwargs,
                "meta": {},
                "severity": "critical",
                "type": kind,
            }
        )

    rows = len(frame)
    expect("expect_table_row_count_to_be_between", min_value=max(1, rows // 2), max_value=rows * 10)
    expect("expect_table_columns_to_match_set", column_set=[str(c) for c in frame.columns])
    for column in frame.columns:
        series = frame[column]
        label = str(column)
        present = series.dropna()
        if len(present) == rows:
            expect("expect_column_values_to_not_be_null", column=label)
        kind = _kind(series.dtype)
        types = {"int": _INT_TYPES, "float": _FLOAT_TYPES, "bool": _BOOL_TYPES}
        # no type check of text: GX 1.24 has no type name for pandas 3's `str` dtype
        if kind in types:
            expect("expect_column_values_to_be_in_type_list", column=label, type_list=types[kind])
        if kind in {"int", "float"} and len(present):
            low, high = _plain(present.min()), _plain(present.max())
            if kind == "float":
                low, high = float(low), float(high)
            if math.isfinite(low) and math.isfinite(high):
                expect(
                    "expect_column_values_to_be_between",
                    column=label,
                    min_value=low,
                    max_value=high,
                )
        limit = {"int": INT_SET_MAX, "text": TEXT_SET_MAX}.get(kind or "")
        if limit and len(present):
            values = sorted({_plain(v) for v in present.unique()}, key=str)
            if kind == "int":
                values.sort()
            # a value set only for columns whose values repeat (labels, categories), not ids
            if len(values) <= limit and len(values) * 2 <= len(present):
                expect("expect_column_values_to_be_in_set", column=label, value_set=values)
    return {
        "expectations": expectations,
        "id": str(uuid.uuid5(_SUITE_NAMESPACE, name)),
        "meta": {
            "notes": (
                f"{shown}: starter suite written by `mlci init` from {rows} rows. "
                "The ranges and value sets are the data's as it was: widen them where "
                "new data may rightly differ. Checked by `mlci validate data`."
            )
        },
        "name": name,
        "notes": None,
    }


# ---------------------------------------------------------------- pyproject.toml


@dataclass(frozen=True)
class _Table:
    keys: tuple[str, ...]
    values: dict[str, Any]
    soft: bool = False  # a suggestion: a value already set stays as it is
    comment: tuple[str, ...] = ()  # lines written below a new table's header


def _config_tables(project: Path, old: str | None, datasets: list[_Data]) -> list[_Table]:
    tables = [
        _Table(("tool", "mlci"), {}, soft=True, comment=_settings_comment(project)),
        _Table(("tool", "mlci", "tracking"), {"experiment": project.name}, soft=True),
    ]
    for dataset in datasets:
        values: dict[str, Any] = {"path": dataset.shown, "suite": dataset.name}
        if dataset.format != "csv":
            values["format"] = dataset.format
        if dataset.delimiter != ",":
            values["delimiter"] = dataset.delimiter
        tables.append(_Table(("tool", "mlci", "data", dataset.name), values))
    return tables


def _settings_comment(project: Path) -> tuple[str, ...]:
    metric = _a_metric(project) or "accuracy"
    key = _toml_key(metric)
    return (
        "# mlci's settings; every key is optional (`mlci config` shows them all).",
        "# Gates fail `mlci validate model`, and the pull request's check, when a metric",
        "# of dvc.yaml gets worse, e.g.:",
        f"# [tool.mlci.gates.{key}]",
        "# min = 0.9",
        '# max_drop = "2%"',
    )


def _a_metric(project: Path) -> str | None:
    """The first numeric metric in the workspace's metrics files, for the example gate."""
    from mlci.dvc import flatten

    try:
        files = load_project(project).metrics
    except UsageError:
        return None
    for file in files:
        path = project / file
        if not path.is_file():
            continue
        try:
            values = flatten(load_yaml(path, root=project))
        except UsageError:
            continue
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                return key
    return None


@dataclass
class _Merged:
    shown: str
    text: str
    added: list[str]
    conflicts: list[str]
    settings: list[str] = field(default_factory=list)  # each addition, as TOML: for the hint

    def change(self, old: str | None) -> FileChange:
        if old is None:
            return FileChange(self.shown, "create", None, self.text)
        if self.conflicts:
            return FileChange(self.shown, "conflict", old, self.text, "; ".join(self.conflicts))
        if self.text == old:
            return FileChange(self.shown, "unchanged", old, old)
        return FileChange(self.shown, "update", old, self.text, ", ".join(self.added) + " added")


_HEADER = re.compile(r"^\s*\[(\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _header_keys(inside: str) -> tuple[str, ...] | None:
    keys: list[str] = []
    for part in re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+', inside):
        if part.startswith('"'):
            keys.append(json.loads(part))
        elif part.startswith("'"):
            keys.append(part[1:-1])
        else:
            keys.append(part)
    return tuple(keys) or None


def _headers(lines: list[str]) -> list[tuple[int, tuple[str, ...] | None]]:
    """(line index, keys) of each table header; keys None for an array-of-tables header."""
    found = []
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            found.append((index, None if match.group(1) else _header_keys(match.group(2))))
    return found


def _lookup(document: dict[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = document
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _entry(key: str, value: Any) -> str:
    return f"{_toml_key(key)} = {_toml_value(value)}"


def _header(keys: tuple[str, ...]) -> str:
    return "[" + ".".join(_toml_key(k) for k in keys) + "]"


class _TomlText:
    """Line insertions and replacements in a TOML text; every other line kept as it is."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.headers = _headers(self.lines)
        self.inserts: dict[int, list[str]] = {}
        self.replaces: dict[int, str] = {}
        self.new_tables: list[str] = []

    def header_at(self, keys: tuple[str, ...]) -> int | None:
        return next((i for i, found in self.headers if found == keys), None)

    def _stop(self, start: int) -> int:
        return next((i for i, _ in self.headers if i > start), len(self.lines))

    def _region_end(self, start: int) -> int:
        """After the last key of the table whose header is at `start` (comments below it
        belong to what follows)."""
        end = self._stop(start)
        while end > start + 1 and (
            not self.lines[end - 1].strip() or self.lines[end - 1].lstrip().startswith("#")
        ):
            end -= 1
        return end

    def add_table(self, keys: tuple[str, ...], body: list[str]) -> None:
        self.new_tables += ["", _header(keys), *body]

    def add_keys(self, at: int, values: dict[str, Any]) -> None:
        self.inserts.setdefault(self._region_end(at), []).extend(
            _entry(k, v) for k, v in values.items()
        )

    def replace_key(self, at: int, key: str, value: Any) -> bool:
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        for index in range(at + 1, self._stop(at)):
            if pattern.match(self.lines[index]):
                self.replaces[index] = _entry(key, value)
                return True
        return False

    def render(self) -> str:
        lines, inserts = list(self.lines), {k: list(v) for k, v in self.inserts.items()}
        if self.new_tables:
            # beside the other [tool.mlci] tables, else at the end
            mlci = [i for i, keys in self.headers if keys and keys[:2] == ("tool", "mlci")]
            at = self._region_end(mlci[-1]) if mlci else len(lines)
            block = self.new_tables if lines else self.new_tables[1:]
            if at < len(lines) and lines[at].strip():
                block = [*block, ""]
            inserts.setdefault(at, []).extend(block)
        if lines and not lines[-1].endswith(("\n", "\r")) and len(lines) in inserts:
            lines[-1] += self.newline
        out: list[str] = []
        for index in range(len(lines) + 1):
            out.extend(f"{line}{self.newline}" for line in inserts.get(index, []))
            if index < len(lines):
                line = lines[index]
                if index in self.replaces:
                    line = self.replaces[index] + line[len(line.rstrip("\r\n")) :]
                out.append(line)
        return "".join(out)


def _merge_pyproject(shown: str, old: str | None, tables: list[_Table]) -> _Merged:
    text = old or ""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{shown}: not valid TOML: {exc}") from None
    edits = _TomlText(text)
    expected = copy.deepcopy(document)  # what the merged text must parse to
    merged = _Merged(shown, text, [], [])
    for table in tables:
        _merge_table(merged, edits, document, expected, table)
    merged.text = edits.render()
    try:
        check = tomllib.loads(merged.text)
    except tomllib.TOMLDecodeError:
        check = None
    if check != expected:
        raise UsageError(
            f"{shown}: cannot merge [tool.mlci] into it as text",
            hint=("add these settings by hand: " + "; ".join(merged.settings))
            if merged.settings
            else None,
        )
    return merged


def _merge_table(
    merged: _Merged,
    edits: _TomlText,
    document: dict[str, Any],
    expected: dict[str, Any],
    table: _Table,
) -> None:
    existing = _lookup(document, table.keys)
    if existing is not None and not isinstance(existing, dict):
        raise UsageError(f"{merged.shown}: {'.'.join(table.keys)} is not a table")
    target = expected
    for key in table.keys:
        target = target.setdefault(key, {})
    name = _header(table.keys)
    if existing is None:
        edits.add_table(
            table.keys, [*table.comment, *(_entry(k, v) for k, v in table.values.items())]
        )
        target.update(table.values)
        merged.added.append(name)
        merged.settings += [f"{name} {_entry(k, v)}" for k, v in table.values.items()]
        return
    missing = {k: v for k, v in table.values.items() if k not in existing}
    differ = {
        k: v
        for k, v in table.values.items()
        if k in existing and existing[k] != v and not table.soft
    }
    merged.conflicts += [
        f"{name} {k} is {existing[k]!r}, init writes {v!r}" for k, v in differ.items()
    ]
    at = edits.header_at(table.keys)
    if (not missing and not differ) or (at is None and table.soft):
        return  # a suggestion goes nowhere but into a table of its own header
    target.update(missing)
    target.update(differ)
    merged.added += [f"{name} {k}" for k in missing]
    merged.settings += [f"{name} {_entry(k, v)}" for k, v in {**missing, **differ}.items()]
    if at is None:
        if differ:
            raise _cannot_merge(merged.shown, table, differ)
        edits.add_table(table.keys, [_entry(k, v) for k, v in missing.items()])
        return
    if missing:
        edits.add_keys(at, missing)
    for key, value in differ.items():
        if not edits.replace_key(at, key, value):
            raise _cannot_merge(merged.shown, table, differ)


def _cannot_merge(shown: str, table: _Table, values: dict[str, Any]) -> UsageError:
    keys = ", ".join(values)
    return UsageError(
        f"{shown}: {'.'.join(table.keys)} {keys} differs from what init writes and is not "
        "a line of its own table that init can replace",
        hint="edit it by hand: " + "; ".join(f"{k} = {_toml_value(v)}" for k, v in values.items()),
    )


def _validated(shown: str, text: str) -> config.Config:
    from pydantic import ValidationError

    table = tomllib.loads(text).get("tool", {}).get("mlci", {})
    try:
        return config.Config.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(
            f"{shown}: [tool.mlci] {where}: {first['msg']}",
            hint="fix it, then run mlci init again (`mlci config` checks it)",
        ) from None


# ---------------------------------------------------------------- next steps


def _dvc_remote(project: Path) -> str | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read([project / ".dvc" / "config", project / ".dvc" / "config.local"])
    except configparser.Error:
        return None
    return parser.get("core", "remote", fallback=None)


def _next_steps(
    result: InitPlan,
    settings: config.Config,
    datasets: list[_Data],
    *,
    ref: str,
    unpinned: str,
) -> list[str]:
    steps = []
    written = [c.path for c in result.pending]
    if written:
        steps.append(
            f"review and commit: git add {' '.join(sorted(written))} && git commit -m 'CI with mlci'"
        )
    if not _dvc_remote(result.project):
        steps.append(
            "give CI a DVC remote it can reach (`dvc remote add -d storage s3://bucket/path`, "
            "committed; or the DVC_REMOTE_URL secret), with credentials as secrets "
            "(see the comments in .github/workflows/mlci-pr.yml)"
        )
    if not (result.project / "dvc.lock").is_file():
        steps.append(
            "run the pipeline (`mlci run`) and commit dvc.lock, so pull requests have a baseline"
        )
    if not settings.gates:
        steps.append(
            "add gates on your metrics in [tool.mlci.gates] (see the comment in pyproject.toml)"
        )
    for dataset in datasets:
        steps.append(
            f"check the starter suite: `mlci validate data {dataset.name}`; widen its ranges "
            f"and value sets in gx/expectations/{dataset.name}.json where new data may differ"
        )
    if unpinned:
        steps.append(
            f"pin the reusable workflows by commit: `mlci init --force --ref <SHA of {ref}>` "
            f"(zizmor's unpinned-uses asks for a SHA; {ref} could not be resolved: {unpinned})"
        )
    steps.append(
        "mlci-retrain.yml opens pull requests: give it a PR_TOKEN secret (a GitHub App or "
        "fine-grained token) so their CI runs; protect the `prod` environment with reviewers"
    )
    return steps


# ---------------------------------------------------------------- templates

GX_YML = """\
# Great Expectations' project (written by `mlci init`). The suites are
# expectations/<name>.json; `mlci validate data` reads them and writes nothing here.
config_version: 4

config_variables_file_path: uncommitted/config_variables.yml
plugins_directory: plugins/

stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: expectations/

  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/validations/

  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: checkpoints/

  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: validation_definitions/

expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store

data_docs_sites:
  local_site:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/data_docs/local_site/
    site_index_builder:
      class_name: DefaultSiteIndexBuilder
"""

_SECRETS_COMMENT = """\
    # A DVC remote or MLflow server that needs credentials gets them from secrets, e.g.:
    # secrets:
    #   AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
    #   AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    #   MLFLOW_TRACKING_URI: ${{ secrets.MLFLOW_TRACKING_URI }}
"""

_PR = """\
# Written by `mlci init`. Every pull request: reproduce what changed in the DVC pipeline,
# validate the data and the model, and report against the base branch. This run gets a
# read-only token: the report leaves it as an artifact, and mlci-pr-comment.yml posts it
# (the fork-safe split: https://github.com/@REPO@/blob/main/docs/actions.md).
name: mlci pr

on:
  pull_request:

permissions: {}

concurrency:
  group: mlci-pr-${{ github.event.pull_request.number }}
  cancel-in-progress: true

jobs:
  mlci:
    permissions:
      contents: read # read-only: the pull request's code runs here
    uses: @REPO@/.github/workflows/mlci-pr.yml@@REF@
@WITH@@SECRETS@"""

_PR_COMMENT = """\
# Written by `mlci init`. Posts the report of each finished `mlci pr` run: the comment,
# the mlci/report status and the mlci/data, mlci/model check runs. `workflow_run` runs
# this file as it is on the default branch, with a token that can write; the workflow it
# calls never checks out or runs the pull request's code, and reads the report as data.
name: mlci pr comment

on: # zizmor: ignore[dangerous-triggers] nothing from the pull request runs here: the artifact is data, rendered with escaping
  workflow_run:
    workflows: [mlci pr]
    types: [completed]

permissions: {}

jobs:
  mlci:
    permissions:
      actions: read # the report artifact of the pr run
      checks: write # mlci/data and mlci/model check runs
      pull-requests: write # the report comment
      statuses: write # the mlci/report commit status
    uses: @REPO@/.github/workflows/mlci-pr-comment.yml@@REF@
@WITH@"""

_MAIN = """\
# Written by `mlci init`. Pushes to @BRANCH@: reproduce the pipeline and fill the DVC
# remote's run-cache (pull requests then restore unchanged stages), then register a new
# model version when a model of dvc.yaml's artifacts changed.
name: mlci main

on:
  push:
    branches: [@BRANCH@]

permissions: {}

concurrency:
  group: mlci-main-${{ github.ref }}
  cancel-in-progress: false

jobs:
  mlci:
    permissions:
      contents: write # mlci release --auto: the registration tag and the GitHub Release
    uses: @REPO@/.github/workflows/mlci-main.yml@@REF@
@WITH@@SECRETS@"""

_RELEASE = """\
# Written by `mlci init`. Model-registry tags (GTO grammar): NAME@vX.Y.Z registers a
# version, NAME#STAGE#N deploys it to STAGE (in the GitHub environment of that name).
name: mlci release

on:
  push:
    tags:
      - '*@v*'
      - '*#*#*'

permissions: {}

concurrency:
  group: mlci-release-${{ github.ref }}
  cancel-in-progress: false

jobs:
  mlci:
    permissions:
      contents: write # the GitHub Release and its assets
      deployments: write # a stage tag's deployment and its status
    uses: @REPO@/.github/workflows/mlci-release.yml@@REF@
@WITH@@SECRETS@"""

_RETRAIN = """\
# Written by `mlci init`. Weekly (and on demand): retrain on the feedback collected by the
# served model; opens a pull request with the data diff when there is new data.
name: mlci retrain

on:
  schedule:
    - cron: '17 4 * * 1'
  workflow_dispatch:
    inputs:
      source:
        description: New labelled data (a path or URL); empty = the feedback store.
        type: string
        default: ''

permissions: {}

concurrency:
  group: mlci-retrain
  cancel-in-progress: false

jobs:
  mlci:
    permissions:
      contents: write # the data branch
      pull-requests: write # the pull request with the data diff
    uses: @REPO@/.github/workflows/mlci-retrain.yml@@REF@
@WITH@    # A pull request opened with GITHUB_TOKEN starts no workflow: pass a token whose
    # pull requests run CI (a GitHub App or fine-grained token), e.g.:
    # secrets:
    #   PR_TOKEN: ${{ secrets.PR_TOKEN }}
"""


def _with(inputs: dict[str, str]) -> str:
    if not inputs:
        return ""
    return "    with:\n" + "".join(f"      {k}: {v}\n" for k, v in inputs.items())


def _workflows(
    *,
    repo: str,
    ref: str,
    runner: list[str],
    mlci_version: str | None,
    branch: str,
    working_directory: str,
    validate_data: bool,
) -> dict[str, str]:
    common: dict[str, str] = {}
    if mlci_version is not None:
        common["mlci-version"] = f"'{mlci_version}'"
    project: dict[str, str] = dict(common)
    if working_directory != ".":
        project["working-directory"] = f"'{working_directory}'"
    labels = "'" + json.dumps(runner) + "'"
    pr = {"runner": labels, **project, "validate-data": "true" if validate_data else "false"}
    retrain = {**project, "source": "${{ inputs.source || '' }}"}
    files = {
        "mlci-pr.yml": (_PR, pr),
        "mlci-pr-comment.yml": (_PR_COMMENT, common),
        "mlci-main.yml": (_MAIN, {"runner": labels, **project}),
        "mlci-release.yml": (_RELEASE, project),
        "mlci-retrain.yml": (_RETRAIN, retrain),
    }
    return {
        name: template.replace("@REPO@", repo)
        .replace("@REF@", ref)
        .replace("@BRANCH@", branch)
        .replace("@WITH@", _with(inputs))
        .replace("@SECRETS@", _SECRETS_COMMENT)
        for name, (template, inputs) in files.items()
    }
