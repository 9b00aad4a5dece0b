"""Expectation suites: the suite files under gx/expectations/, read as the project's GX context
reads them, and added to the run's ephemeral context with the line of each expectation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.config import DatasetConfig
from mlci.errors import UsageError
from mlci.validate.data.readers import Table, first_line

__all__ = ["SUITES_DIR", "Dataset", "add_suite", "read_suite", "suite_documents"]

SUITES_DIR = "gx/expectations"


@dataclass
class Dataset:
    """A dataset of [tool.mlci.data] as loaded, with its suite as read."""

    name: str
    config: DatasetConfig
    table: Table
    suite_file: str  # relative to the root
    suite: dict[str, Any]  # the JSON, as read
    lines: dict[str, int]  # expectation id -> line in the suite file


def read_suite(root: Path, name: str) -> tuple[str, dict[str, Any], dict[str, int]]:
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


def suite_documents(gx: Any, root: Path, datasets: list[Dataset]) -> dict[str, dict[str, Any]]:
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
        raise UsageError(f"gx/great_expectations.yml: {first_line(exc)}") from None
    for item in datasets:
        try:
            documents[item.config.suite] = project.suites.get(item.config.suite).to_json_dict()
        except Exception as exc:
            raise UsageError(
                f"{item.suite_file}: not a valid expectation suite: {first_line(exc)}"
            ) from None
    return documents


def add_suite(
    gx: Any, context: Any, item: Dataset, document: dict[str, Any]
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
            f"{item.suite_file}: not a valid expectation suite: {first_line(exc)}"
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
            return f"expectation {number} ({kind}): {first_line(exc)}"
    return "some expectations could not be loaded"
