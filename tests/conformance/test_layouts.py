"""Each layout DVC supports, built with DVC's commands; mlci must list what DVC lists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conformance.harness import Project, agree

pytestmark = pytest.mark.slow

COPY = "python -c \"import shutil,sys,os; os.makedirs(os.path.dirname(sys.argv[2]) or '.', exist_ok=True); shutil.copy(sys.argv[1], sys.argv[2])\""


def _two_revisions(
    tmp_path: Path, write: Callable[[Project, bool], None], *, repro: bool = True
) -> Project:
    project = Project(tmp_path / "p")
    for head, tag in ((False, "v1"), (True, "v2")):
        write(project, head)
        if repro:
            project.repro()
        project.commit(tag)
    return project


def test_root_pipeline_all_of_params_yaml(tmp_path: Path) -> None:
    """Every key of params.yaml, declared by a stage or not; YAML 1.2 scalars as DVC reads them."""

    def write(p: Project, head: bool) -> None:
        p.write(
            "params.yaml",
            f"""
            train: {{lr: {0.2 if head else 0.1}, epochs: 10, layers: [1, {3 if head else 2}]}}
            undeclared: {2 if head else 1}
            leading_zero: {"018" if head else "017"}
            octal: {"0o20" if head else "0o17"}
            clock: {"10:31" if head else "10:30"}
            word: {"off" if head else "on"}
            exp: {"2e-4" if head else "1e-4"}
            """,
        )
        p.write("src/m.json", f'{{"acc": {0.8 if head else 0.7}, "n": {{"f1": 0.5}}}}')
        p.write(
            "dvc.yaml",
            f"""
            stages:
              train:
                cmd: {COPY} src/m.json metrics.json
                deps: [src/m.json]
                params: [train.lr]
                metrics:
                  - metrics.json:
                      cache: false
            """,
        )

    document = agree(_two_revisions(tmp_path, write))
    names = {row["name"] for row in document["params"]}
    assert {"undeclared", "leading_zero", "octal", "clock", "word", "exp"} <= names
    assert all(row["pipeline"] == "dvc.yaml" for row in document["metrics"])


def test_monorepo_without_root_dvc_yaml(tmp_path: Path) -> None:
    """Pipelines in sub-folders, each with its params.yaml; paths relative to the repo."""

    def write(p: Project, head: bool) -> None:
        for name, value in (("a", 1), ("b", 2)):
            p.write(f"{name}/params.yaml", f"k: {value + head}\nother: {value}\n")
            p.write(f"{name}/src.json", f'{{"score": {value + 0.5 * head}}}')
            p.write(
                f"{name}/dvc.yaml",
                f"""
                stages:
                  make:
                    cmd: {COPY} src.json out/metrics.json
                    deps: [src.json]
                    params: [k]
                    outs: [out]
                metrics:
                  - out/metrics.json
                """,
            )

    document = agree(_two_revisions(tmp_path, write))
    assert {row["file"] for row in document["metrics"]} == {
        "a/out/metrics.json",
        "b/out/metrics.json",
    }
    assert {row["pipeline"] for row in document["metrics"]} == {"a/dvc.yaml", "b/dvc.yaml"}


def test_wdir_and_custom_params_files(tmp_path: Path) -> None:
    """A stage in a sub-folder (wdir); params in YAML, JSON, TOML and Python files;
    a whole-file entry; top-level params; a params file deleted at head."""

    def write(p: Project, head: bool) -> None:
        p.write("work/params.yaml", f"lr: {head + 1}\n")
        p.write("work/cfg.json", f'{{"depth": {head + 3}, "name": "x"}}')
        p.write("work/cfg.toml", f"[opt]\nmomentum = {0.9 if head else 0.8}\nflag = true\n")
        p.write("work/cfg.py", f"BATCH = {64 if head else 32}\nclass Net:\n    width = 8\n")
        p.write("custom.yaml", f"whole: {{a: {head}, b: [1, 2]}}\n")
        if head:
            (p.path / "gone.yaml").unlink()
        else:
            p.write("gone.yaml", "old: 1\n")
        p.write("work/src.json", f'{{"loss": {0.3 - 0.1 * head}}}')
        p.write(
            "dvc.yaml",
            f"""
            stages:
              train:
                wdir: work
                cmd: {COPY} src.json m.yaml
                deps: [src.json]
                params:
                  - lr
                  - cfg.json: [depth]
                  - cfg.toml: [opt]
                  - cfg.py: [BATCH, Net]
                  - ../custom.yaml:
                metrics:
                  - m.yaml:
                      cache: false
            params:
              {"[]" if head else "- gone.yaml"}
            """,
        )

    document = agree(_two_revisions(tmp_path, write))
    files = {row["file"] for row in document["params"]}
    assert {"work/params.yaml", "work/cfg.json", "work/cfg.toml", "work/cfg.py"} <= files
    assert "gone.yaml" in files


def test_templating_vars_foreach_matrix(tmp_path: Path) -> None:
    """vars (inline and from a file), ${...}, foreach over a list and a dict, matrix."""

    def write(p: Project, head: bool) -> None:
        p.write("config.yaml", f"model: {{lr: {0.2 if head else 0.1}, unused: 1}}\n")
        p.write("params.yaml", f"seed: {head + 7}\n")
        for size in ("small", "large"):
            p.write(f"src/{size}.json", f'{{"acc": {0.5 + head * 0.1}, "size": "{size}"}}')
        p.write(
            "dvc.yaml",
            f"""
            vars:
              - config.yaml
              - out: results
            stages:
              fit:
                foreach: [small, large]
                do:
                  cmd: {COPY} src/${{item}}.json ${{out}}/${{item}}.json ${{model.lr}}
                  deps:
                    - src/${{item}}.json
                  params: [seed]
                  metrics:
                    - ${{out}}/${{item}}.json:
                        cache: false
              grid:
                matrix:
                  model: [cnn, mlp]
                  lr: [0.1]
                cmd: {COPY} src/small.json grid/${{item.model}}-${{item.lr}}.json
                deps: [src/small.json]
                metrics:
                  - grid/${{item.model}}-${{item.lr}}.json:
                      cache: false
              keyed:
                foreach:
                  first: {{n: 1}}
                  second: {{n: 2}}
                do:
                  cmd: {COPY} src/large.json keyed/${{key}}.json ${{item.n}}
                  deps: [src/large.json]
                  metrics:
                    - keyed/${{key}}.json:
                        cache: false
            """,
        )

    document = agree(_two_revisions(tmp_path, write))
    files = {row["file"] for row in document["metrics"]}
    assert {"results/small.json", "grid/cnn-0.1.json", "keyed/second.json"} <= files
    assert ("config.yaml", "model.lr") in {(r["file"], r["name"]) for r in document["params"]}


def test_metrics_in_cached_directory_out_and_declared_directory(tmp_path: Path) -> None:
    """A top-level metrics file inside a stage's cached directory out (read through the
    `.dir` manifest), and a metrics entry naming a directory."""

    def write(p: Project, head: bool) -> None:
        p.write("src/m.json", f'{{"auc": {0.7 + 0.1 * head}}}')
        p.write("src/more.yaml", f"rmse: {1.5 - head}\nlist: [1, 2]\n")
        p.write(
            "dvc.yaml",
            f"""
            stages:
              evaluate:
                cmd: >-
                  {COPY} src/m.json eval/metrics.json &&
                  {COPY} src/m.json eval/plots/x.json &&
                  {COPY} src/more.yaml scores/more.yaml &&
                  {COPY} src/m.json scores/sub/m.json
                deps: [src]
                outs: [eval, scores]
            metrics:
              - eval/metrics.json
              - scores
            """,
        )

    project = _two_revisions(tmp_path, write)
    document = agree(project)
    files = {row["file"] for row in document["metrics"]}
    assert {"eval/metrics.json", "scores/more.yaml", "scores/sub/m.json"} <= files
    # the workspace as head: files read from the working tree, as DVC reads them
    project.write("src/m.json", '{"auc": 0.95, "new": 1}')
    project.repro()
    document = agree(project, "v1", "workspace")
    assert ("eval/metrics.json", "new") in {(r["file"], r["name"]) for r in document["metrics"]}


def test_metric_values_and_formats(tmp_path: Path) -> None:
    """JSON, YAML and TOML metrics; nested keys; lists and nulls dropped; NaN, Infinity,
    booleans and strings; YAML 1.2 scalars."""

    def write(p: Project, head: bool) -> None:
        p.write(
            "m.json",
            f'{{"nan": NaN, "inf": {"-Infinity" if head else "Infinity"}, "ok": {str(head).lower()},'
            f' "s": "{"b" if head else "a"}", "deep": {{"x": {{"y": {int(head)}}}}}, "l": [1], "z": null,'
            f' "empty": {{}}}}',
        )
        p.write("m.yaml", f"a: {'018' if head else '017'}\nb: 0o17\nc: 10:3{int(head)}\nd: .inf\n")
        p.write("m.toml", f"[t]\nv = {head + 1}\nw = 'x'\n")
        p.write(
            "dvc.yaml",
            """
            stages:
              noop:
                cmd: echo
                metrics:
                  - m.json: {cache: false}
                  - m.yaml: {cache: false}
                  - m.toml: {cache: false}
            """,
        )

    document = agree(_two_revisions(tmp_path, write, repro=False))
    names = {(row["file"], row["name"]) for row in document["metrics"]}
    assert ("m.json", "deep.x.y") in names
    assert ("m.json", "l") not in names and ("m.json", "z") not in names


def test_dvclive_layout(tmp_path: Path) -> None:
    """What DVCLive 3 writes: dvclive/metrics.json, params.yaml, plots and its own dvc.yaml."""

    def write(p: Project, head: bool) -> None:
        p.write("params.yaml", f"epochs: {head + 2}\n")
        p.write("dvclive/metrics.json", f'{{"train": {{"acc": {0.6 + 0.1 * head}}}, "step": 2}}')
        p.write("dvclive/params.yaml", f"lr: {0.01 * (head + 1)}\n")
        p.write("dvclive/plots/metrics/train/acc.tsv", f"step\tacc\n0\t0.5\n1\t{0.6 + head}\n")
        p.write(
            "dvclive/dvc.yaml",
            """
            metrics:
            - metrics.json
            params:
            - params.yaml
            plots:
            - plots/metrics:
                x: step
            """,
        )
        p.write("dvc.yaml", "stages:\n  train:\n    cmd: echo\n    params: [epochs]\n")

    document = agree(_two_revisions(tmp_path, write, repro=False))
    assert ("dvclive/metrics.json", "train.acc") in {
        (row["file"], row["name"]) for row in document["metrics"]
    }
    assert ("dvclive/params.yaml", "lr") in {(r["file"], r["name"]) for r in document["params"]}
