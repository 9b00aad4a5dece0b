"""The GX runner of `mlci validate data`: each dataset of `[tool.mlci.data]` against its suite.

great_expectations is imported only inside functions (gx.py): the import costs
seconds, and `mlci report` / `mlci config` never pay it. Files are found and parsed
(pandas, readers.py) and suite files read (suites.py) before GX is imported, so a
typo in a path or a broken file is a quick usage error (exit 2); a file that parses
but breaks expectations is a failing check (exit 1, decided by the caller).

GX runs in an ephemeral context: suites are read through the project's file
context (`gx/`), and the data source, batch definition and validation
definition mlci needs live in memory only, so a run never rewrites
`gx/great_expectations.yml` nor leaves anything behind under `gx/`.

Beside the checks, each dataset gets a profile (profile.py) and, given a base
revision, the same profile of the dataset as of that revision (baseline.py), with
a PSI drift score per column. Drift is information for the report; it never fails.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mlci.config import Config, DatasetConfig
from mlci.errors import UsageError
from mlci.validate.data.checks import RESULT_FORMAT, check
from mlci.validate.data.gx import build_docs, ephemeral_context, quiet_gx
from mlci.validate.data.profile import profile_entry
from mlci.validate.data.readers import load
from mlci.validate.data.spark import spark_frame, spark_session
from mlci.validate.data.suites import Dataset, add_suite, read_suite, suite_documents
from mlci.validate.results import Result

__all__ = ["validate"]

_DATA_SOURCE = "mlci"

_Progress = Callable[[str], None]


def validate(
    root: Path,
    cfg: Config,
    *,
    names: Sequence[str] = (),
    docs: bool = False,
    base_sha: str | None = None,
    progress: _Progress | None = None,
) -> Result:
    """Validate the datasets (all, or `names`); one Check per expectation, profiles in extra."""
    say = progress or (lambda _message: None)
    selected = _select(cfg, names)
    datasets = []
    for name, dataset in selected:
        table = load(root, cfg, name, dataset)
        say(f"{name}: {len(table.frame)} rows from {', '.join(table.files)}")
        suite_file, suite, lines = read_suite(root, dataset.suite)
        datasets.append(Dataset(name, dataset, table, suite_file, suite, lines))

    result = Result(kind="data")
    with quiet_gx() as gx:
        documents = suite_documents(gx, root, datasets)
        # created last, so it is GX's current context too
        context = ephemeral_context(gx, cfg if docs else None)
        suites: dict[str, tuple[Any, dict[str, int]]] = {}  # two datasets may share a suite
        spark: Any = None
        own_spark = False
        try:
            for item in datasets:
                if item.config.suite not in suites:
                    document = documents[item.config.suite]
                    suites[item.config.suite] = add_suite(gx, context, item, document)
                suite, item.lines = suites[item.config.suite]
                say(
                    f"{item.name}: {len(suite.expectations)} expectations of suite '{item.config.suite}' ({item.config.engine})"
                )
                if item.config.engine == "spark":
                    if spark is None:
                        spark, own_spark = spark_session()
                    batch = spark_frame(spark, root, item)
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
                    batch_parameters={"dataframe": batch}, result_format=RESULT_FORMAT
                )
                for expectation_result in outcome.results:
                    result.checks.append(check(item, expectation_result))
            if docs:
                result.extra["docs"] = build_docs(context, cfg)
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
            item.name: profile_entry(root, cfg, item, base_sha, say) for item in datasets
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
