"""Differential conformance: a DVC project built with real DVC commands, then mlci's report
JSON compared with `dvc metrics diff --json` and `dvc params diff --json` (DVC is the oracle).

DVC's CLI runs in this process (tests/conformance/dvc_cli.py); mlci runs as a child
process, as a user runs it."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.conformance.dvc_cli import run_dvc

BIN = Path(sys.executable).parent

Rows = dict[tuple[str, str], tuple[Any, Any]]


def _norm(value: Any) -> Any:
    """One spelling for values both sides may write differently (mlci's strict-JSON NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


class Project:
    """A git + DVC repository in a temp dir, driven by DVC's own commands."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.run("git", "init", "-q", "-b", "main")
        self.dvc("init", "-q")

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(argv), cwd=self.path, capture_output=True, text=True, check=False, timeout=300
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """DVC's CLI, in this process (tests/conformance/dvc_cli.py)."""
        done = run_dvc(self.path, *args)
        if check and done.returncode != 0:
            raise AssertionError(f"dvc {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def write(self, relpath: str, text: str) -> None:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def remove(self, relpath: str) -> None:
        (self.path / relpath).unlink()

    def commit(self, tag: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "--allow-empty", "-m", tag)
        self.run("git", "tag", tag)

    def repro(self) -> None:
        self.dvc("repro", "-P")

    def mlci(self, base: str, head: str) -> tuple[int, dict[str, Any], str]:
        done = subprocess.run(
            [sys.executable, "-m", "mlci", "report", "--base", base, "--head", head,
             "--format", "json"],
            cwd=self.path, capture_output=True, text=True, check=False, timeout=300,
            env={**os.environ},
        )  # fmt: skip
        assert done.returncode in (0, 2), done.stderr
        # strict JSON: a bare NaN would fail here
        document = json.loads(done.stdout, parse_constant=_reject)
        return done.returncode, document, done.stderr

    def dvc_json(self, kind: str, base: str, head: str) -> dict[str, Any]:
        revisions = (base,) if head == "workspace" else (base, head)
        done = self.dvc(kind, "diff", *revisions, "--json", check=False)
        document: dict[str, Any] = json.loads(done.stdout or "{}")
        return document


def _reject(constant: str) -> Any:
    raise AssertionError(f"mlci wrote {constant} in its JSON: not strict JSON")


def _as_dvc_prints(value: Any) -> Any:
    """`dvc params diff --json` prints a list or mapping value as Python's text of it;
    mlci's JSON keeps it a JSON value (docs/report.md)."""
    return str(value) if isinstance(value, list | dict) else _norm(value)


def mlci_rows(document: dict[str, Any], kind: str) -> Rows:
    """Changed rows of mlci's report, as DVC lists them (NaN -> NaN is not a change)."""
    return {
        (row["file"], row["name"]): (_as_dvc_prints(row["base"]), _as_dvc_prints(row["head"]))
        for row in document[kind]
        if _norm(row["base"]) != _norm(row["head"])
    }


def dvc_rows(diff: dict[str, Any]) -> Rows:
    rows: Rows = {}
    for file, by_name in diff.items():
        for name, row in by_name.items():
            old, new = _norm(row.get("old")), _norm(row.get("new"))
            if old != new:  # DVC lists NaN -> NaN as changed; mlci does not (docs/report.md)
                rows[(file, name)] = (old, new)
    return rows


def agree(
    project: Project, base: str = "v1", head: str = "v2", *, exit_code: int = 0
) -> dict[str, Any]:
    """mlci and DVC list the same changed metrics and params with the same old and new values.

    Returns mlci's document (for layout-specific checks)."""
    code, document, err = project.mlci(base, head)
    assert code == exit_code, f"mlci exited {code}: {err}"
    for kind in ("metrics", "params"):
        ours = mlci_rows(document, kind)
        theirs = dvc_rows(project.dvc_json(kind, base, head))
        assert ours == theirs, f"{kind}: mlci {ours} != dvc {theirs}\nnotes: {document['notes']}"
    return document
