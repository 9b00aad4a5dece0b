"""The gx/ project of `mlci init`: Great Expectations' great_expectations.yml, its
.gitignore and store id, and the starter expectation suite inferred from a dataset."""

from __future__ import annotations

import math
import uuid
from typing import Any

GX_DIR = "gx"
_INT_SET_MAX = 10  # an integer column with at most this many values gets a value set (labels)
_TEXT_SET_MAX = 20  # a text column with at most this many values gets a value set
_SUITE_NAMESPACE = uuid.UUID("6f1d1c52-3c1e-4b8e-9a57-5d7f0e6b2a10")  # stable expectation ids


def skeleton(project_name: str) -> dict[str, str]:
    """The files of gx/ (relative to it) with their text."""
    return {
        "great_expectations.yml": _GX_YML,
        ".gitignore": "uncommitted/\n",
        # GX writes this on first use otherwise: a stable id keeps the working tree clean
        "expectations/.ge_store_backend_id": (
            f"store_backend_id = {uuid.uuid5(_SUITE_NAMESPACE, project_name)}\n"
        ),
    }


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
        limit = {"int": _INT_SET_MAX, "text": _TEXT_SET_MAX}.get(kind or "")
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


_GX_YML = """\
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
