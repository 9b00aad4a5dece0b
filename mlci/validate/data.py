"""`mlci validate data`: each dataset of `[tool.mlci.data]` against its Great Expectations suite.

The only module that imports great_expectations, and only inside functions: the
import costs seconds, and `mlci report` / `mlci config` never pay it. Files are
found and parsed (pandas) and suite files read before GX is imported, so a typo
in a path or a broken file is a quick usage error (exit 2); a file that parses
but breaks expectations is a failing check (exit 1, decided by the caller).

GX runs in an ephemeral context: suites are read through the project's file
context (`gx/`), and the data source, batch definition and validation
definition mlci needs live in memory only, so a run never rewrites
`gx/great_expectations.yml` nor leaves anything behind under `gx/`.

Beside the checks, each dataset gets a profile (rows; per column null share,
mean/std, value frequencies) and, given a base revision, the same profile of the
dataset as of that revision, read from DVC's cache by hash, with a PSI drift
score per column. Drift is information for the report; it never fails.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import io
import json
import logging
import math
import os
import re
import shutil
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mlci.config import Config, DatasetConfig, line_of
from mlci.errors import ServiceError, UsageError
from mlci.validate.results import Check, Result, Severity

__all__ = [
    "DELIMITERS",
    "DOCS_DIR",
    "PSI_BINS",
    "SUITES_DIR",
    "profile",
    "psi",
    "read_table",
    "validate",
]

SUITES_DIR = "gx/expectations"
DOCS_DIR = "gx-docs"  # under the state dir (.mlci/)
EXAMPLES = 5  # unexpected values kept per check
LOW_CARDINALITY = 20  # at most this many distinct values: frequencies, categorical PSI
PSI_BINS = 10
PSI_EPSILON = 1e-4
DELIMITERS = (",", ";", "\t", "|")  # what a CSV header is checked (and sniffed) for
_DATA_SOURCE = "mlci"
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}

Progress = Callable[[str], None]


@dataclass
class _Table:
    """A dataset as loaded: the frame and where its rows came from."""

    frame: Any  # pandas.DataFrame
    files: list[str]  # paths relative to the root
    offsets: list[int] = field(default_factory=list)  # first row of each file in the frame

    def where(self, index: Any) -> str | None:
        """'data/x.csv row 7' (1-based data row, header not counted) for a frame index."""
        if not isinstance(index, int) or isinstance(index, bool):
            return None
        position = 0
        for i, start in enumerate(self.offsets):
            if index >= start:
                position = i
        return f"{self.files[position]} row {index - self.offsets[position] + 1}"


@dataclass
class _Dataset:
    name: str
    config: DatasetConfig
    table: _Table
    suite_file: str  # relative to the root
    suite: dict[str, Any]  # the JSON, as read
    lines: dict[str, int]  # expectation id -> line in the suite file


# ---------------------------------------------------------------- entry point


def validate(
    root: Path,
    cfg: Config,
    *,
    names: Sequence[str] = (),
    docs: bool = False,
    base_sha: str | None = None,
    progress: Progress | None = None,
) -> Result:
    """Validate the datasets (all, or `names`); one Check per expectation, profiles in extra."""
    say = progress or (lambda _message: None)
    selected = _select(cfg, names)
    datasets = []
    for name, dataset in selected:
        table = _load(root, cfg, name, dataset)
        say(f"{name}: {len(table.frame)} rows from {', '.join(table.files)}")
        suite_file, suite, lines = _read_suite(root, dataset.suite)
        datasets.append(_Dataset(name, dataset, table, suite_file, suite, lines))

    result = Result(kind="data")
    with _great_expectations() as gx:
        documents = _suite_documents(gx, root, datasets)
        # created last, so it is GX's current context too
        context = _ephemeral_context(gx, cfg if docs else None)
        suites: dict[str, tuple[Any, dict[str, int]]] = {}  # two datasets may share a suite
        spark: Any = None
        own_spark = False
        try:
            for item in datasets:
                if item.config.suite not in suites:
                    document = documents[item.config.suite]
                    suites[item.config.suite] = _suite(gx, context, item, document)
                suite, item.lines = suites[item.config.suite]
                say(
                    f"{item.name}: {len(suite.expectations)} expectations of suite '{item.config.suite}' ({item.config.engine})"
                )
                if item.config.engine == "spark":
                    if spark is None:
                        spark, own_spark = _spark_session()
                    batch = _spark_frame(spark, root, item)
                    source = context.data_sources.add_spark(
                        f"{_DATA_SOURCE}-{item.name}", persist=True
                    )
                else:
                    batch = item.table.frame
                    source = context.data_sources.add_pandas(f"{_DATA_SOURCE}-{item.name}")
                definition = source.add_dataframe_asset(
                    item.name
                ).add_batch_definition_whole_dataframe("all")
                validation = gx.ValidationDefinition(
                    name=f"{_DATA_SOURCE}-{item.name}", data=definition, suite=suite
                )
                outcome = validation.run(
                    batch_parameters={"dataframe": batch}, result_format=_RESULT_FORMAT
                )
                for expectation_result in outcome.results:
                    result.checks.append(_check(item, expectation_result))
            if docs:
                result.extra["docs"] = _build_docs(context, cfg)
                say(f"data docs: {result.extra['docs']}")
        finally:
            if spark is not None and own_spark:
                spark.stop()

    result.extra["datasets"] = {
        item.name: {
            "files": item.table.files,
            "rows": len(item.table.frame),
            "suite": item.suite_file,
            "engine": item.config.engine,
        }
        for item in datasets
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy on empty or constant columns
        result.extra["profiles"] = {
            item.name: _profile_entry(root, cfg, item, base_sha, say) for item in datasets
        }
    return result


def _select(cfg: Config, names: Sequence[str]) -> list[tuple[str, DatasetConfig]]:
    known = sorted(cfg.data)
    if not known:
        raise UsageError(
            "no datasets to validate",
            hint='declare one in pyproject.toml: [tool.mlci.data.NAME] path = "data/x.csv", suite = "x"',
        )
    unknown = [name for name in names if name not in cfg.data]
    if unknown:
        raise UsageError(
            f"unknown dataset {', '.join(repr(n) for n in unknown)} (known: {', '.join(known)})"
        )
    wanted = list(dict.fromkeys(names)) if names else known
    return [(name, cfg.data[name]) for name in wanted]


# ---------------------------------------------------------------- files


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _resolve(root: Path, cfg: Config, name: str, dataset: DatasetConfig) -> list[Path]:
    pattern = dataset.path
    if _is_glob(pattern):
        full = pattern if Path(pattern).is_absolute() else str(root / pattern)
        files = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
    else:
        path = Path(pattern) if Path(pattern).is_absolute() else root / pattern
        files = [path] if path.is_file() else []
    if not files:
        line = line_of(cfg, "data", name)
        where = f"pyproject.toml:{line}" if line else "pyproject.toml"
        raise UsageError(
            f"dataset '{name}': no file matches {pattern}",
            hint=f"[tool.mlci.data.{name}] path, declared at {where}",
        )
    return files


def _shown(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _load(root: Path, cfg: Config, name: str, dataset: DatasetConfig) -> _Table:
    import pandas as pd  # type: ignore[import-untyped]

    files = _resolve(root, cfg, name, dataset)
    shown = [_shown(root, path) for path in files]
    frames = [
        read_table(path.read_bytes(), label, dataset)
        for path, label in zip(files, shown, strict=True)
    ]
    return _combine(pd, frames, shown)


def _combine(pd: Any, frames: list[Any], shown: list[str]) -> _Table:
    offsets, start = [], 0
    for frame in frames:
        offsets.append(start)
        start += len(frame)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return _Table(frame=frame, files=shown, offsets=offsets)


def read_table(raw: bytes, shown: str, dataset: DatasetConfig) -> Any:
    """A pandas frame; a file that is not a table of this format is a UsageError naming it."""
    import pandas as pd

    if dataset.format == "parquet":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pd.read_parquet(io.BytesIO(raw))
        except (ValueError, OSError) as exc:
            raise UsageError(f"{shown}: cannot read as Parquet: {_first_line(exc)}") from None

    if b"\x00" in raw[:8192]:
        raise UsageError(f"{shown}: not a CSV file (binary content)")
    delimiter = dataset.delimiter
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DtypeWarning and such: the suite judges the types
            frame = pd.read_csv(io.BytesIO(raw), sep=delimiter, encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{shown}: not a UTF-8 CSV file") from None
    except (ValueError, OSError) as exc:  # pandas' ParserError and EmptyDataError included
        raise UsageError(
            f"{shown}: cannot parse as CSV (delimiter {delimiter!r}): {_first_line(exc)}"
        ) from None
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        other = next((d for d in DELIMITERS if d != delimiter and d in header), None)
        if other is not None:
            raise UsageError(
                f"{shown}: parsed as a single column with delimiter {delimiter!r}; "
                f"the header looks {other!r}-separated",
                hint=f"set delimiter = {json.dumps(other)} for this dataset in [tool.mlci.data]",
            )
    return frame


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# ---------------------------------------------------------------- suites


def _read_suite(root: Path, name: str) -> tuple[str, dict[str, Any], dict[str, int]]:
    shown = f"{SUITES_DIR}/{name}.json"
    path = root / shown
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"{shown}: expectation suite not found",
            hint="create the suite with Great Expectations (ctx.suites.add) in the repository's gx/ folder",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{shown}: cannot read: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{shown}: not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("expectations"), list):
        raise UsageError(f"{shown}: not an expectation suite (no 'expectations' list)")
    # the line of each expectation (for annotations): by its id, else by the order of "type" keys
    lines: dict[str, int] = {}
    ids = re.compile(r'^\s*"id"\s*:\s*"([^"]+)"')
    types = re.compile(r'^\s*"type"\s*:')
    type_lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if match := ids.search(line):
            lines.setdefault(match.group(1), number)
        elif types.search(line):
            type_lines.append(number)
    if len(type_lines) == len(document["expectations"]):
        lines.update({f"#{i}": number for i, number in enumerate(type_lines)})
    return shown, document, lines


@contextlib.contextmanager
def _great_expectations() -> Iterator[Any]:
    """Import GX quietly (no analytics, no warnings shown) and keep its calls quiet."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    captured = getattr(logging, "_warnings_showwarning", None) is not None
    gx_logger = logging.getLogger("great_expectations")
    level = gx_logger.level
    with warnings.catch_warnings():
        # GX and its dependencies warn about their own internals (deprecated modules,
        # pandas/numpy behaviours); none of it is the user's to act on
        warnings.simplefilter("ignore")
        try:
            import great_expectations as gx
        except ImportError:
            raise ServiceError(
                "validating data needs Great Expectations: pip install 'mlci[gx]'"
            ) from None
        finally:
            if not captured:
                logging.captureWarnings(False)  # GX routes every warning to logging on import
        gx_logger.setLevel(logging.CRITICAL)  # mlci reports what matters itself
        try:
            yield gx
        finally:
            gx_logger.setLevel(level)


def _ephemeral_context(gx: Any, docs_cfg: Config | None) -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_cfg is not None:
        context.add_data_docs_site(
            site_name=DOCS_DIR,
            site_config={
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_cfg.state_path / DOCS_DIR),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def _suite_documents(gx: Any, root: Path, datasets: list[_Dataset]) -> dict[str, dict[str, Any]]:
    """Each suite as the project's file context reads it (its own store configuration).

    The file context is only read from: it writes nothing but GX's git-ignored
    uncommitted/ folder. Without gx/great_expectations.yml the JSON read is used as is.
    """
    documents = {item.config.suite: item.suite for item in datasets}
    if not (root / "gx" / "great_expectations.yml").is_file():
        return documents
    try:
        project = gx.get_context(mode="file", project_root_dir=root)
    except Exception as exc:  # GX raises many types for a broken config
        raise UsageError(f"gx/great_expectations.yml: {_first_line(exc)}") from None
    for item in datasets:
        try:
            documents[item.config.suite] = project.suites.get(item.config.suite).to_json_dict()
        except Exception as exc:
            raise UsageError(
                f"{item.suite_file}: not a valid expectation suite: {_first_line(exc)}"
            ) from None
    return documents


def _suite(
    gx: Any, context: Any, item: _Dataset, document: dict[str, Any]
) -> tuple[Any, dict[str, int]]:
    """The suite added to the ephemeral context, and the line in the suite file of each
    of its expectations, by their new ids."""
    expectations = document.get("expectations") or []
    try:
        suite = gx.ExpectationSuite(
            name=item.config.suite, expectations=expectations, meta=document.get("meta") or None
        )
        suite = context.suites.add(suite)
    except Exception as exc:
        raise UsageError(
            f"{item.suite_file}: not a valid expectation suite: {_first_line(exc)}"
        ) from None
    if len(suite.expectations) != len(item.suite["expectations"]):
        # GX drops an expectation it cannot build (and only logs it): name the first one
        raise UsageError(
            f"{item.suite_file}: not a valid expectation suite: "
            f"{_invalid_expectation(item.suite['expectations'])}"
        )
    # adding a suite to a context gives its expectations new ids: key the lines by those
    lines = {}
    for i, (added, declared) in enumerate(zip(suite.expectations, expectations, strict=False)):
        line = item.lines.get(str(declared.get("id"))) or item.lines.get(f"#{i}")
        if line is not None:
            lines[str(added.id)] = line
    return suite, lines


def _invalid_expectation(declared: list[Any]) -> str:
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    for number, entry in enumerate(declared, 1):
        kind = entry.get("type") if isinstance(entry, dict) else None
        try:
            if not isinstance(entry, dict):
                raise TypeError("not a JSON object")
            ExpectationConfiguration(
                type=str(kind), kwargs=entry.get("kwargs") or {}
            ).to_domain_obj()
        except Exception as exc:
            return f"expectation {number} ({kind}): {_first_line(exc)}"
    return "some expectations could not be loaded"


def _build_docs(context: Any, cfg: Config) -> str:
    folder = cfg.state_path / DOCS_DIR
    shutil.rmtree(folder, ignore_errors=True)  # only this run's results in the site
    folder.mkdir(parents=True, exist_ok=True)
    context.build_data_docs(site_names=[DOCS_DIR])
    index = folder / "index.html"
    return _shown(cfg.root, index)


# ---------------------------------------------------------------- spark


def _spark_session() -> tuple[Any, bool]:
    """A local Spark session and whether mlci started it (then mlci stops it afterwards)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ServiceError("engine = 'spark' needs pyspark: pip install 'mlci[spark]'") from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    running = SparkSession.getActiveSession()
    if running is not None:
        return running, False  # the caller's session: used as it is, left running
    try:
        session = (
            SparkSession.builder.master("local[1]")
            .appName("mlci-validate")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.driver.memory", "512m")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate()
        )
    except Exception as exc:  # no Java, a JVM that does not start
        raise ServiceError(f"cannot start a local Spark session: {_first_line(exc)}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


def _spark_frame(spark: Any, root: Path, item: _Dataset) -> Any:
    paths = [str(root / shown) for shown in item.table.files]
    reader = spark.read
    if item.config.format == "parquet":
        return reader.parquet(*paths)
    return reader.csv(paths, header=True, inferSchema=True, sep=item.config.delimiter)


# ---------------------------------------------------------------- checks


def _plain(value: Any) -> Any:
    """JSON-able (numpy scalars, sets and such as plain values)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _short(values: Any, limit: int = 10) -> str:
    items = list(values) if isinstance(values, list | tuple | set | frozenset) else [values]
    shown = ", ".join(_value(v) for v in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _range(kwargs: dict[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    left = "(" if kwargs.get("strict_min") else "["
    right = ")" if kwargs.get("strict_max") else "]"
    if low is not None and high is not None:
        return f"in {left}{_value(low)}, {_value(high)}{right}"
    if low is not None:
        return f"{'>' if kwargs.get('strict_min') else '>='} {_value(low)}"
    if high is not None:
        return f"{'<' if kwargs.get('strict_max') else '<='} {_value(high)}"
    return "any value"


_AGGREGATES = {
    "expect_column_mean_to_be_between": "mean",
    "expect_column_median_to_be_between": "median",
    "expect_column_min_to_be_between": "min",
    "expect_column_max_to_be_between": "max",
    "expect_column_stdev_to_be_between": "standard deviation",
    "expect_column_sum_to_be_between": "sum",
    "expect_column_unique_value_count_to_be_between": "distinct values",
    "expect_column_proportion_of_unique_values_to_be_between": "share of unique values",
    "expect_column_proportion_of_non_null_values_to_be_between": "share of non-null values",
    "expect_table_row_count_to_be_between": "rows",
    "expect_table_column_count_to_be_between": "columns",
}


def _expected(kind: str, kwargs: dict[str, Any]) -> str:  # noqa: PLR0911, PLR0912 (one phrase per type)
    """The expectation in words."""
    mostly = kwargs.get("mostly")
    share = (
        f"at least {_percent(mostly * 100)} of "
        if isinstance(mostly, int | float) and mostly < 1
        else ""
    )
    if kind in _AGGREGATES:
        return f"{_AGGREGATES[kind]} {_range(kwargs)}"
    if kind == "expect_column_values_to_be_between":
        return f"{share or 'all '}values {_range(kwargs)}"
    if kind == "expect_column_values_to_not_be_null":
        return f"{share}values not null" if share else "no nulls"
    if kind == "expect_column_values_to_be_null":
        return f"{share or 'all '}values null"
    if kind == "expect_column_values_to_be_in_set":
        return f"{share or 'all '}values in {{{_short(kwargs.get('value_set') or [])}}}"
    if kind == "expect_column_values_to_not_be_in_set":
        return f"no value in {{{_short(kwargs.get('value_set') or [])}}}"
    if kind == "expect_column_values_to_be_in_type_list":
        return f"type one of {_short(kwargs.get('type_list') or [], 4)}"
    if kind == "expect_column_values_to_be_of_type":
        return f"type {kwargs.get('type_')}"
    if kind == "expect_column_values_to_be_unique":
        return f"{share}values unique" if share else "unique values"
    if kind == "expect_column_distinct_values_to_contain_set":
        return f"distinct values include {{{_short(kwargs.get('value_set') or [])}}}"
    if kind == "expect_column_distinct_values_to_be_in_set":
        return f"distinct values within {{{_short(kwargs.get('value_set') or [])}}}"
    if kind == "expect_column_distinct_values_to_equal_set":
        return f"distinct values exactly {{{_short(kwargs.get('value_set') or [])}}}"
    if kind == "expect_column_values_to_match_regex":
        return f"{share or 'all '}values match /{kwargs.get('regex')}/"
    if kind == "expect_table_row_count_to_equal":
        return f"rows = {kwargs.get('value')}"
    if kind == "expect_table_column_count_to_equal":
        return f"columns = {kwargs.get('value')}"
    if kind == "expect_table_columns_to_match_set":
        how = "exactly" if kwargs.get("exact_match", True) else "include"
        return f"columns {how} {{{_short(kwargs.get('column_set') or [], 5)}}}"
    if kind == "expect_table_columns_to_match_ordered_list":
        return f"columns in order [{_short(kwargs.get('column_list') or [], 5)}]"
    if kind == "expect_column_to_exist":
        return "column exists"
    described = ", ".join(
        f"{key}={_short(value, 5) if isinstance(value, list) else _value(value)}"
        for key, value in kwargs.items()
        if key not in {"column", "batch_id"}
    )
    return f"{kind.removeprefix('expect_').replace('_', ' ')}" + (
        f" ({described})" if described else ""
    )


def _percent(value: float) -> str:
    if value == 0 or value >= 1 or value == 100:
        return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"
    return f"{value:.2g}%"


def _exception(info: Any) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception", True):
            message = entry.get("exception_message")
            if message:
                return _first_line(Exception(message)).removeprefix("Error: ")
    return None


def _target(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    for key in ("column_list", "column_A"):
        if key in kwargs:
            columns = (
                kwargs[key]
                if key == "column_list"
                else [kwargs["column_A"], kwargs.get("column_B")]
            )
            return ",".join(str(c) for c in columns)
    return None


def _severity(config: Any) -> Severity:
    value = getattr(config, "severity", None)
    value = getattr(value, "value", value)
    return "warning" if str(value).lower() in {"warning", "info"} else "error"


@dataclass
class _Reading:
    """What one expectation result says, before it becomes a Check."""

    kind: str
    kwargs: dict[str, Any]
    found: dict[str, Any]  # GX's `result`
    subject: str  # the column, or "table"
    expected: str
    passed: bool


def _map_result(item: _Dataset, reading: _Reading, details: dict[str, Any]) -> tuple[Any, str]:
    """Observed value and message of a column map expectation (unexpected values, counted)."""
    found, subject, expected = reading.found, reading.subject, reading.expected
    count = int(found.get("unexpected_count") or 0)
    total = int(found.get("element_count") or 0)
    percent = float(found.get("unexpected_percent") or 0.0)
    examples = list(found.get("partial_unexpected_list") or [])[:EXAMPLES]
    indexes = (found.get("partial_unexpected_index_list") or [])[:EXAMPLES]
    rows = [where for where in (item.table.where(i) for i in indexes) if where]
    details.update(
        unexpected_count=count,
        element_count=total,
        unexpected_percent=round(percent, 4),
        missing_count=found.get("missing_count"),
        examples=examples,
    )
    if rows:
        details["rows"] = rows
    mostly = reading.kwargs.get("mostly")
    if isinstance(mostly, int | float) and mostly < 1:
        observed = f"{_percent(100 - percent)} of {total} values"
        if reading.passed:
            return observed, f"{subject}: {expected}"
        return observed, f"{subject}: {expected}, but only {observed} qualify"
    observed = f"{count} of {total} values unexpected"
    if reading.passed:
        return observed, f"{subject}: {expected}"
    if reading.kind == "expect_column_values_to_not_be_null":
        where = f", e.g. {', '.join(rows[:3])}" if rows else ""
        return (
            observed,
            f"{subject}: {count} of {total} values ({_percent(percent)}) are null{where}",
        )
    where = f" at {rows[0]}" if rows else ""
    sample = f", e.g. {_short(examples, EXAMPLES)}{where}" if examples else ""
    return (
        observed,
        f"{subject}: {count} of {total} values ({_percent(percent)}) fail '{expected}'{sample}",
    )


def _aggregate_result(reading: _Reading, details: dict[str, Any]) -> tuple[Any, str]:
    """Observed value and message of a table or column aggregate expectation."""
    found = reading.found
    observed: Any = found.get("observed_value")
    if isinstance(observed, list) and len(observed) > 10:
        details["observed_value"] = observed
        observed = _short(observed)
    for key in ("details", "partial_missing_list", "missing_count"):
        if key in found:
            details[key] = found[key]
    if observed is None and found.get("partial_missing_list"):
        observed = f"missing {{{_short(found['partial_missing_list'])}}}"
    if isinstance(observed, list):
        shown = _short(observed, 5)
    else:
        shown = observed if isinstance(observed, str) else _value(observed)
    message = f"{reading.subject}: {reading.expected}"
    return observed, message if reading.passed else f"{message}; observed {shown}"


def _check(item: _Dataset, outcome: Any) -> Check:
    raw = _plain(outcome.to_json_dict())
    config = raw.get("expectation_config") or {}
    kind = str(config.get("type", "expectation"))
    kwargs = {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"}
    target = _target(kwargs)
    error = _exception(raw.get("exception_info"))
    reading = _Reading(
        kind=kind,
        kwargs=kwargs,
        found=raw.get("result") or {},
        subject=target or "table",
        expected=config.get("description") or _expected(kind, kwargs),
        passed=bool(raw.get("success")) and error is None,
    )
    details: dict[str, Any] = {"kwargs": kwargs}
    if "unexpected_count" in reading.found:
        observed, message = _map_result(item, reading, details)
    else:
        observed, message = _aggregate_result(reading, details)
    if error is not None:
        details["exception"] = error
        message = f"{reading.subject}: cannot evaluate '{reading.expected}': {error}"
    return Check(
        group=item.name,
        name=kind,
        verdict="pass" if reading.passed else "fail",
        severity=_severity(outcome.expectation_config),
        target=target,
        observed=observed,
        expected=reading.expected,
        message=message,
        details=details,
        file=item.suite_file,
        line=item.lines.get(str(config.get("id"))),
    )


# ---------------------------------------------------------------- profiles and drift


def _is_numeric(pd: Any, series: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not bool(
        pd.api.types.is_bool_dtype(series)
    )


def _key(value: Any) -> str:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else round(number, 6)


def profile(frame: Any) -> dict[str, Any]:
    """Rows; per column the dtype, null share, distinct count, mean/std and frequencies."""
    import pandas as pd

    rows = len(frame)
    columns: dict[str, Any] = {}
    for column in frame.columns:
        series = frame[column]
        present = series.dropna()
        # one hashing pass gives both the distinct count and, for few values, the frequencies;
        # only those few keys are normalised in Python, never every value
        counts = present.value_counts(sort=False)
        entry: dict[str, Any] = {
            "dtype": str(series.dtype),
            "null_share": round(float(series.isna().mean()), 6) if rows else 0.0,
            "distinct": len(counts),
        }
        if _is_numeric(pd, series) and len(present):
            entry["mean"] = _number(present.mean())
            entry["std"] = _number(present.std()) if len(present) > 1 else None
        if entry["distinct"] <= LOW_CARDINALITY and len(present):
            merged: dict[str, int] = {}
            for value, count in counts.items():
                key = str(_key(value))
                merged[key] = merged.get(key, 0) + int(count)
            entry["frequencies"] = {
                k: round(v / len(present), 6) for k, v in sorted(merged.items())
            }
        columns[str(column)] = entry
    return {"rows": rows, "columns": columns}


def psi(base: Any, head: Any) -> float | None:
    """Population stability index of a column: quantile bins of the base (numeric) or categories.

    Nulls are a bin of their own; shares are epsilon-smoothed so an empty bin on one
    side gives a large but finite score. None when either side has no rows.
    """
    import numpy as np
    import pandas as pd

    if len(base) == 0 or len(head) == 0:
        return None
    base_present, head_present = base.dropna(), head.dropna()
    together = pd.concat([base_present, head_present], ignore_index=True)
    categorical = (
        not _is_numeric(pd, base)
        or not _is_numeric(pd, head)
        or together.map(_key).nunique() <= LOW_CARDINALITY
        or len(base_present) == 0
    )
    if categorical:
        base_keys, head_keys = base_present.map(_key), head_present.map(_key)
        categories = sorted(set(base_keys) | set(head_keys))
        base_counts = base_keys.value_counts().reindex(categories, fill_value=0).to_numpy()
        head_counts = head_keys.value_counts().reindex(categories, fill_value=0).to_numpy()
    else:
        quantiles = np.quantile(base_present.to_numpy(dtype=float), np.linspace(0, 1, PSI_BINS + 1))
        edges = np.unique(quantiles)[1:-1]
        bins = len(edges) + 1
        base_counts = np.bincount(
            np.searchsorted(edges, base_present.to_numpy(dtype=float), side="right"), minlength=bins
        )
        head_counts = np.bincount(
            np.searchsorted(edges, head_present.to_numpy(dtype=float), side="right"), minlength=bins
        )
    base_shares = np.append(base_counts, len(base) - len(base_present)) / len(base)
    head_shares = np.append(head_counts, len(head) - len(head_present)) / len(head)
    base_shares = np.maximum(base_shares, PSI_EPSILON)
    head_shares = np.maximum(head_shares, PSI_EPSILON)
    base_shares /= base_shares.sum()
    head_shares /= head_shares.sum()
    value = float(np.sum((head_shares - base_shares) * np.log(head_shares / base_shares)))
    return round(max(value, 0.0), 6)


def _deltas(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    deltas: dict[str, Any] = {}
    for column, now in head["columns"].items():
        before = base["columns"].get(column)
        if before is None:
            continue
        change = {}
        for key in ("null_share", "mean", "std"):
            if isinstance(now.get(key), int | float) and isinstance(before.get(key), int | float):
                change[key] = round(now[key] - before[key], 6)
        deltas[column] = change
    return deltas


def _profile_entry(
    root: Path, cfg: Config, item: _Dataset, base_sha: str | None, say: Progress
) -> dict[str, Any]:
    head_frame = item.table.frame
    head = profile(head_frame)
    entry: dict[str, Any] = {
        "head": head,
        "base": None,
        "base_sha": base_sha,
        "psi": {},
        "rows": [None, head["rows"]],
    }
    if base_sha is None:
        return entry
    base_frame, note = _base_frame(root, cfg, item, base_sha)
    if base_frame is None:
        entry["note"] = note
        say(f"{item.name}: no profile diff: {note}")
        return entry
    base = profile(base_frame)
    entry["base"] = base
    entry["rows"] = [base["rows"], head["rows"]]
    entry["psi"] = {
        str(column): psi(base_frame[column], head_frame[column])
        for column in head_frame.columns
        if column in base_frame.columns
    }
    entry["delta"] = _deltas(base, head)
    entry["columns_added"] = [c for c in head["columns"] if c not in base["columns"]]
    entry["columns_removed"] = [c for c in base["columns"] if c not in head["columns"]]
    drifted = {c: v for c, v in entry["psi"].items() if v is not None and v >= 0.1}
    say(
        f"{item.name}: profile vs {base_sha[:8]}: rows {base['rows']} -> {head['rows']}, "
        f"{len(drifted)} columns with PSI >= 0.1"
    )
    return entry


# ---------------------------------------------------------------- the base revision's data


def _matches(path: str, pattern: str) -> bool:
    if not _is_glob(pattern):
        return path == pattern
    if "**" in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    parts, wanted = PurePosixPath(path).parts, PurePosixPath(pattern).parts
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=True)
    )


def _cache_path(root: Path, digest: str) -> Path:
    return root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]


def _cache_read(root: Path, digest: str) -> bytes | None:
    try:
        return _cache_path(root, digest).read_bytes()
    except OSError:
        return None


def _dvc_file_outs(tree: Any) -> dict[str, str]:
    """Outs of the `.dvc` files of a revision: path -> md5 (for repos without dvc.yaml)."""
    import yaml

    outs: dict[str, str] = {}
    for relpath in tree.files(".dvc"):
        raw = tree.read(relpath)
        try:
            document = yaml.safe_load(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, yaml.YAMLError):
            continue
        folder = str(PurePosixPath(relpath).parent)
        for out in (document or {}).get("outs") or [] if isinstance(document, dict) else []:
            digest = out.get("md5") if isinstance(out, dict) else None
            if digest and out.get("path"):
                full = str(out["path"]) if folder == "." else f"{folder}/{out['path']}"
                outs[full] = str(digest)
    return outs


class _Fetcher:
    """Downloads missing cache objects of one revision, at most once per out."""

    def __init__(self, root: Path, cfg: Config, sha: str) -> None:
        self.root, self.cfg, self.sha = root, cfg, sha
        self.tried: set[str] = set()
        self.problem: str | None = None

    def read(self, digest: str, out: str) -> bytes | None:
        raw = _cache_read(self.root, digest)
        if raw is None and out not in self.tried:
            self.tried.add(out)
            self._fetch(out)
            raw = _cache_read(self.root, digest)
        return raw

    def _fetch(self, out: str) -> None:
        from mlci import dvc

        try:
            remote = dvc.resolve_remote(
                self.root, self.cfg.dvc.remote, self.cfg.dvc.embedded_remote
            )
        except UsageError as exc:
            self.problem = exc.message
            return
        if remote is None or (remote.embedded and not Path(remote.url).is_dir()):
            self.problem = "no DVC remote to fetch it from"
            return
        try:
            dvc.fetch_outputs(self.root, remote, self.sha, [out])
        except (ServiceError, UsageError) as exc:
            self.problem = exc.message


def _out_files(
    out: str, digest: str, pattern: str, fetcher: _Fetcher, missing: list[str]
) -> dict[str, bytes]:
    """The files of one DVC out that match the dataset's pattern, read from the cache."""
    wanted: dict[str, str] = {}
    if digest.endswith(".dir"):
        if not _is_glob(pattern) and not pattern.startswith(out.rstrip("/") + "/"):
            return {}
        manifest = fetcher.read(digest, out)
        if manifest is None:
            missing.append(out)
            return {}
        try:
            entries = json.loads(manifest)
        except ValueError:
            return {}
        for entry in entries if isinstance(entries, list) else []:
            full = f"{out.rstrip('/')}/{entry.get('relpath', '')}"
            if entry.get("md5") and _matches(full, pattern):
                wanted[full] = str(entry["md5"])
    elif _matches(out, pattern):
        wanted[out] = digest
    found: dict[str, bytes] = {}
    for path, md5 in sorted(wanted.items()):
        raw = fetcher.read(md5, out)
        if raw is None:
            missing.append(path)
        else:
            found[path] = raw
    return found


def _base_frame(root: Path, cfg: Config, item: _Dataset, sha: str) -> tuple[Any, str]:
    """The dataset as of revision `sha` (git objects, else DVC's cache by hash), or a note."""
    import pandas as pd

    from mlci import snapshot

    pattern = PurePosixPath(item.config.path).as_posix()
    short = sha[:8]
    try:
        snap = snapshot.take(root, sha, sha)
    except UsageError as exc:
        return None, f"cannot read revision {short}: {exc.message}"
    tree = snapshot.Tree(root, sha)
    contents: dict[str, bytes] = {}
    if not _is_glob(pattern) and (raw := tree.read(pattern)) is not None:
        contents[pattern] = raw  # committed to git at that revision

    outs = {path: version.hash for path, version in snap.data.items() if version.hash}
    if not snap.has_pipeline:
        outs.update(_dvc_file_outs(tree))
    fetcher = _Fetcher(root, cfg, sha)
    missing: list[str] = []
    for out, digest in sorted(outs.items()) if not contents else []:
        contents.update(_out_files(out, digest, pattern, fetcher, missing))
    if not contents:
        if missing:
            why = f": {fetcher.problem}" if fetcher.problem else ""
            return None, f"{', '.join(missing)} at {short} is not in the local DVC cache{why}"
        return None, f"no file matches {pattern} at {short}"
    frames = []
    for path, raw in sorted(contents.items()):
        try:
            frames.append(read_table(raw, f"{path} at {short}", item.config))
        except UsageError as exc:
            return None, exc.message
    return _combine(pd, frames, sorted(contents)).frame, ""
