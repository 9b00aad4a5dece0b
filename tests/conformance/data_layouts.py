"""DVC projects built with DVC's own commands, for comparing mlci's data section with `dvc diff`.

DVC's CLI runs in this process (tests/conformance/dvc_cli.py): the same commands a user
types, without paying DVC's import for each of them. mlci runs as a child process, as a user
runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conformance.dvc_cli import run_dvc

ROOT = Path(__file__).resolve().parents[2]

Diff = dict[str, list[tuple[Any, ...]]]


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


class Project:
    """A git repository with DVC initialised, its commits tagged by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        _git(path, "init", "-q", "-b", "main")
        self.dvc("init", "-q")
        # DVC keeps indexes of revisions in a per-user folder: one of its own, so nothing
        # computed for another test (or before an object was removed) answers here
        self.dvc("config", "--local", "core.site_cache_dir", str(path.parent / f"{path.name}-site"))
        self.commit("init")

    def write(self, relpath: str, text: str) -> None:
        path = self.path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def remove(self, relpath: str) -> None:
        (self.path / relpath).unlink()

    def dvc(self, *args: str) -> None:
        done = run_dvc(self.path, *args)
        if done.returncode != 0:
            raise AssertionError(
                f"dvc {' '.join(args)} exited {done.returncode} in {self.path}:\n{done.stderr}"
            )

    def commit(self, tag: str) -> None:
        _git(self.path, "add", "-A")
        _git(self.path, "commit", "-q", "--allow-empty", "-m", tag)
        _git(self.path, "tag", "-f", tag)

    def dvc_diff(self, a: str, b: str | None) -> Diff:
        """`dvc diff --json --show-hash A [B]`: the document DVC's command prints (without B:
        against the workspace, whose "not in cache" list mlci does not give)."""
        done = run_dvc(self.path, "diff", "--json", "--show-hash", a, *([b] if b else []))
        if done.returncode != 0:
            raise AssertionError(f"dvc diff {a} {b} exited {done.returncode}: {done.stderr}")
        return normalize(json.loads(done.stdout or "{}"))

    def mlci_data(self, a: str, b: str | None) -> list[dict[str, Any]]:
        """The data rows of `mlci report --base A [--head B] --format json`, run as a user runs
        it (without B: the workspace)."""
        rows: list[dict[str, Any]] = self.mlci_report(a, b)["data"]
        return rows

    def mlci_report(self, a: str, b: str | None) -> dict[str, Any]:
        """`mlci report --base A [--head B] --format json`, the whole document."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        head = b or "workspace"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlci",
                "report",
                "--base",
                a,
                "--head",
                head,
                "--format",
                "json",
            ],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        document: dict[str, Any] = json.loads(done.stdout)
        return document


def normalize(document: dict[str, Any]) -> Diff:
    """`dvc diff --json` as sets of (path, hashes) per status, for comparing."""
    out: Diff = {}
    for status in ("added", "deleted", "modified", "renamed"):
        rows = []
        for entry in document.get(status, []):
            path, digest = entry["path"], entry.get("hash")
            if isinstance(path, dict):
                path = (path["old"], path["new"])
            if isinstance(digest, dict):
                digest = (digest["old"], digest["new"])
            rows.append((path, digest))
        out[status] = sorted(rows, key=repr)
    return out


def as_dvc_diff(rows: list[dict[str, Any]]) -> Diff:
    """mlci's data rows in the shape of `dvc diff --json --show-hash`."""
    out: dict[str, list[dict[str, Any]]] = {
        s: [] for s in ("added", "deleted", "modified", "renamed")
    }
    for row in rows:
        status = row["status"]
        if status == "added":
            out[status].append({"path": row["path"], "hash": row["head_hash"]})
        elif status == "deleted":
            out[status].append({"path": row["path"], "hash": row["base_hash"]})
        elif status == "modified":
            hashes = {"old": row["base_hash"], "new": row["head_hash"]}
            out[status].append({"path": row["path"], "hash": hashes})
        elif status == "renamed":
            paths = {"old": row["old_path"], "new": row["path"]}
            out[status].append({"path": paths, "hash": row["base_hash"]})
    return normalize(out)


# --- layouts: each leaves tags A (before) and B (after) -------------------------------------


def dvc_only(p: Project) -> None:
    """`dvc add` of a file and of a directory with a sub-folder; no dvc.yaml at all."""
    p.write("data/a.csv", "x\n1\n")
    p.write("data/b.csv", "x\n2\n")
    p.write("data/sub/c.csv", "x\n3\n")
    p.write("labels.txt", "cat\n")
    p.dvc("add", "-q", "data", "labels.txt")
    p.commit("A")
    p.write("data/b.csv", "x\n22\n")
    p.write("data/d.csv", "x\n4\n")
    p.remove("data/sub/c.csv")
    p.write("labels.txt", "cat\ndog\n")
    p.dvc("add", "-q", "data", "labels.txt")
    p.commit("B")


def moved(p: Project) -> None:
    """`dvc move` of a file and of a directory; another file removed (`dvc remove`)."""
    p.write("raw.txt", "raw\n")
    p.write("images/1.png", "one")
    p.write("images/2.png", "two")
    p.write("gone.txt", "bye\n")
    p.dvc("add", "-q", "raw.txt", "images", "gone.txt")
    p.commit("A")
    p.dvc("move", "-q", "raw.txt", "renamed.txt")
    p.dvc("move", "-q", "images", "pictures")
    p.dvc("remove", "-q", "gone.txt.dvc")
    p.commit("B")


def uncached(p: Project) -> None:
    """Stage outs and metrics with `cache: false` (git-tracked): not in `dvc diff`."""
    p.write(
        "dvc.yaml",
        """\
stages:
  make:
    cmd: mkdir -p out && cp params.yaml out/p.txt && cp params.yaml summary.txt
      && cp params.yaml metrics.yaml
    deps: [params.yaml]
    outs:
    - out
    - summary.txt:
        cache: false
    metrics:
    - metrics.yaml:
        cache: false
""",
    )
    p.write("params.yaml", "n: 1\n")
    p.dvc("repro", "-q")
    p.commit("A")
    p.write("params.yaml", "n: 2\n")
    p.dvc("repro", "-q")
    p.commit("B")


def templated(p: Project) -> None:
    """`foreach` and `matrix` stages, an uncached templated out, and a stage with `wdir`."""
    p.write(
        "dvc.yaml",
        """\
stages:
  each:
    foreach: [small, large]
    do:
      cmd: cp params.yaml ${item}.txt && cp params.yaml note-${item}.txt
      deps: [params.yaml]
      outs:
      - ${item}.txt
      - note-${item}.txt:
          cache: false
  grid:
    matrix:
      model: [cnn, mlp]
      lr: [0.1, 0.2]
    cmd: mkdir -p grid/${item.model}-${item.lr} && cp params.yaml grid/${item.model}-${item.lr}/p
    deps: [params.yaml]
    outs:
    - grid/${item.model}-${item.lr}
  inside:
    wdir: work
    cmd: cp ../params.yaml result.txt
    deps: [../params.yaml]
    outs: [result.txt]
""",
    )
    p.write("work/.keep", "")
    p.write("params.yaml", "seed: 1\n")
    p.dvc("repro", "-q")
    p.commit("A")
    p.write("params.yaml", "seed: 2\n")
    p.dvc("repro", "-q")
    p.commit("B")


def monorepo(p: Project) -> None:
    """Pipelines in sub-folders, no root dvc.yaml; each dvc.lock sits beside its dvc.yaml."""
    for name in ("vision", "text"):
        p.write(
            f"{name}/dvc.yaml",
            """\
stages:
  prepare:
    cmd: mkdir -p out && cp in.txt out/copy.txt
    deps: [in.txt]
    outs: [out]
  report:
    wdir: reports
    cmd: cp ../in.txt summary.txt
    deps: [../in.txt]
    outs: [summary.txt]
""",
        )
        p.write(f"{name}/in.txt", f"{name} 1\n")
        p.write(f"{name}/reports/.keep", "")
    p.dvc("repro", "-q", "vision/dvc.yaml", "text/dvc.yaml")
    p.commit("A")
    p.write("vision/in.txt", "vision 2\n")
    p.dvc("repro", "-q", "vision/dvc.yaml")
    p.commit("B")


def imports(p: Project, source: Path, external: Path) -> None:
    """`dvc import-url` of a local file and `dvc import` of a file and a folder from a git repo."""
    p.commit("A")
    p.dvc("import-url", "-q", str(external), "ext.txt")
    p.dvc("import", "-q", str(source), "shared", "-o", "shared")
    p.dvc("import", "-q", str(source), "one.txt")
    p.dvc("import-url", "-q", "--no-download", str(external), "later.txt")
    p.commit("B")
    external.write_text("changed\n", encoding="utf-8")
    p.dvc("update", "-q", "ext.txt.dvc")
    p.commit("C")


def workspace_head(p: Project) -> None:
    """A directory and a file changed and committed: head is the (clean) workspace."""
    dvc_only(p)
    p.write("data/e.csv", "x\n5\n")
    p.dvc("add", "-q", "data")


def import_source(path: Path) -> Path:
    """A DVC project in git to import from."""
    src = Project(path)
    src.write("shared/x.txt", "x\n")
    src.write("shared/y.txt", "y\n")
    src.write("one.txt", "1\n")
    src.dvc("add", "-q", "shared", "one.txt")
    src.commit("v1")
    return path


def manifest_missing(p: Project) -> None:
    """A changed directory whose old `.dir` manifest is not in the local cache."""
    p.write("data/a.txt", "a\n")
    p.write("data/b.txt", "b\n")
    p.dvc("add", "-q", "data")
    old = (p.path / "data.dvc").read_text(encoding="utf-8")
    p.commit("A")
    p.write("data/b.txt", "bb\n")
    p.write("data/c.txt", "c\n")
    p.dvc("add", "-q", "data")
    p.commit("B")
    digest = next(line.split(":")[1].strip() for line in old.splitlines() if ".dir" in line)
    (p.path / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]).unlink()


def unrun(p: Project) -> None:
    """A stage added (`dvc stage add`) but never run, and an out dropped from dvc.yaml."""
    p.write(
        "dvc.yaml",
        """\
stages:
  make:
    cmd: echo 1 > kept.txt && echo 2 > dropped.txt
    outs: [kept.txt, dropped.txt]
""",
    )
    p.dvc("repro", "-q")
    p.commit("A")
    text = (p.path / "dvc.yaml").read_text(encoding="utf-8")
    p.write("dvc.yaml", text.replace("[kept.txt, dropped.txt]", "[kept.txt]"))
    p.dvc("stage", "add", "-q", "-n", "later", "-o", "later.txt", "-o", "later_dir", "echo later")
    p.commit("B")


def stale_lock(p: Project) -> None:
    """A `foreach` item renamed and a stage deleted from dvc.yaml: their dvc.lock entries stay
    (DVC rewrites only the entries of the stages it runs) and DVC ignores them."""
    stages = """\
stages:
  each:
    foreach: [x, ITEM]
    do:
      cmd: echo ${item} > ${item}.txt
      outs:
      - ${item}.txt
"""
    p.write("dvc.yaml", stages.replace("ITEM", "y") + "  gone:\n    cmd: echo g > gone.txt\n"
            "    outs: [gone.txt]\n")  # fmt: skip
    p.dvc("repro", "-q")
    p.commit("A")
    p.write("dvc.yaml", stages.replace("ITEM", "z"))
    p.dvc("repro", "-q")
    p.commit("B")


LAYOUTS: dict[str, Callable[[Project], None]] = {
    "dvc-only": dvc_only,
    "moved": moved,
    "uncached": uncached,
    "templated": templated,
    "monorepo": monorepo,
    "manifest-missing": manifest_missing,
    "unrun": unrun,
    "stale-lock": stale_lock,
}


# --- random histories, for the property test ---------------------------------------------------

Operation = tuple[str, str, str]  # (what, target, value)


def apply(p: Project, op: Operation) -> bool:
    """One operation a user might do; False when it does not apply to the project as it is."""
    what, target, value = op
    tracked = {f.name.removesuffix(".dvc") for f in p.path.glob("*.dvc")}
    if what == "file":  # write a file and `dvc add` it
        p.write(target, value)
        p.dvc("add", "-q", target)
    elif what == "dir":  # write a file in a folder and `dvc add` the folder
        if (p.path / target.split("/")[0]).is_file():
            return False
        p.write(target, value)
        p.dvc("add", "-q", target.split("/")[0])
    elif what == "move" and target in tracked and not (p.path / value).exists():
        p.dvc("move", "-q", target, value)
    elif what == "stage":  # a pipeline stage (re)declared with one out, run or not
        out = f"{target}-{'u' if value == 'uncached' else 'c'}.txt"
        flag = "--outs-no-cache" if value == "uncached" else "-o"
        p.dvc("stage", "add", "-q", "--force", "-n", target, flag, out, f"date +%N > {out}")
        if value != "unrun":
            p.dvc("repro", "-q", "-f", target)
    elif what == "remove" and target in tracked:
        p.dvc("remove", "-q", "--outs", f"{target}.dvc")
    else:
        return False
    return True
