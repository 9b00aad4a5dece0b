"""`mlci report` on real git + DVC repositories with histories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from mlci import api
from mlci.cli import cli
from mlci.report import markdown
from tests.conftest import BIN, free_port, git, make_tiny_project, set_param, sh


def by_name(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["name"]: row for row in rows}


def test_json_diff_between_branches(history: Path) -> None:
    report = api.report(history, base="main", head="feature").to_dict()
    assert report["base"]["rev"] == "main" and len(report["base"]["sha"]) == 40
    assert report["head"]["sha"] == git(history, "rev-parse", "feature")
    metrics = by_name(report["metrics"])
    # metrics.json is a DVC-cached output: both sides read from the cache by their lock hash
    assert metrics["total"] == {
        "file": "metrics.json",
        "name": "total",
        "base": 18.0,
        "head": 27.0,
        "change": 9.0,
        "significant": None,
        "interval": None,
        "pipeline": "dvc.yaml",
        "unread": None,
    }
    assert metrics["nested.count"]["change"] == 0
    params = by_name(report["params"])
    assert params == {
        "double.factor": {
            "file": "params.yaml",
            "name": "double.factor",
            "base": 2,
            "head": 3,
            "pipeline": "dvc.yaml",
            "unread": None,
        }
    }
    data = {row["path"]: row for row in report["data"]}
    assert data["work/doubled.txt"]["status"] == "modified"
    assert data["work/doubled.txt"]["base_hash"] != data["work/doubled.txt"]["head_hash"]
    assert data["work/doubled.txt"]["head_size"] == len("3 6 9")
    stages = by_name(report["stages"])
    assert stages["double"]["status"] == "modified"
    assert stages["double"]["changed"]["params"] == ["double.factor"]
    assert stages["score"]["changed"]["deps"] == ["work/doubled.txt"]


def test_all_params_and_workspace_head(history: Path) -> None:
    set_param(history, "score", "scale", 2.5)  # uncommitted: the workspace is the default head
    report = api.report(history, base="main", all_params=True).to_dict()
    assert report["head"] == {"rev": "workspace", "sha": None}
    params = by_name(report["params"])
    assert params["score.scale"]["head"] == 2.5
    assert params["score.fail"] == {
        "file": "params.yaml",
        "name": "score.fail",
        "base": False,
        "head": False,
        "pipeline": "dvc.yaml",
        "unread": None,
    }


def test_default_base_is_merge_base_with_main(history: Path) -> None:
    report = api.report(history).to_dict()
    assert report["base"]["sha"] == git(history, "rev-parse", "main")


def test_missing_cache_is_not_available_and_pull_fetches_it(history: Path) -> None:
    shutil.rmtree(history / ".dvc" / "cache")
    report = api.report(history, base="main", head="feature")
    total = by_name(report.to_dict()["metrics"])
    assert "total" not in total or total["total"]["base"] is None
    assert any(
        "metrics.json" in note and "not in the local DVC cache" in note for note in report.notes
    )

    pulled = api.report(history, base="main", head="feature", pull=True).to_dict()
    assert by_name(pulled["metrics"])["total"]["base"] == 18.0
    # the run record was made before feature's commit: not feature's (test_revision_records.py)
    assert [n for n in pulled["notes"] if "run.json" not in n] == []


def _drop_from_cache(repo: Path, rev: str, out: str) -> None:
    """Remove the object of `out` as `rev`'s dvc.lock records it from the local DVC cache."""
    lock = yaml.safe_load(git(repo, "show", f"{rev}:dvc.lock"))
    (md5,) = {
        o["md5"]
        for stage in lock["stages"].values()
        for o in stage.get("outs", [])
        if o["path"] == out
    }
    (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()


def test_a_side_not_in_the_cache_is_not_read_not_changed(history: Path) -> None:
    # a CI runner restores the head's outputs only: the base's metrics file (a cached
    # output, as DVCLive writes them) is not in its cache until `--pull` fetches it
    _drop_from_cache(history, "main", "metrics.json")
    report = api.report(history, base="main", head="feature")
    rows = by_name(report.to_dict()["metrics"])
    assert rows["total"]["base"] is None and rows["total"]["head"] == 27.0
    assert {row["unread"] for row in rows.values()} == {"base"}
    assert report.changed_metrics == []
    assert any(
        "metrics.json at main" in n and "not in the local DVC cache" in n for n in report.notes
    )
    text = markdown.render(report)
    assert "· 0 metrics changed · 2 not read ·" in text
    assert "| total | ? | 27 | not read |" in text  # shown, not folded away as unchanged
    terminal = CliRunner().invoke(
        cli,
        ["-C", str(history), "report", "--base", "main", "--head", "feature"],
        env={"COLUMNS": "100"},
    )
    assert terminal.exit_code == 0, terminal.output
    total = next(line for line in terminal.output.splitlines() if line.startswith("total"))
    assert [cell.strip() for cell in total.split("│")] == ["total", "?", "27", "not read"]

    pulled = api.report(history, base="main", head="feature", pull=True)
    assert by_name(pulled.to_dict()["metrics"])["total"]["unread"] is None
    assert [m.name for m in pulled.changed_metrics] == ["total"]


def test_pull_from_a_remote_that_holds_nothing_yet_names_the_files(
    history: Path, tmp_path: Path
) -> None:
    _drop_from_cache(history, "main", "metrics.json")
    (tmp_path / "empty").mkdir()  # a team's new remote: nothing pushed to it yet
    sh(
        str(BIN / "dvc"),
        "remote",
        "add",
        "--local",
        "-d",
        "team",
        str(tmp_path / "empty"),
        cwd=history,
    )
    done = CliRunner().invoke(
        cli, ["-C", str(history), "report", "--base", "main", "--head", "feature", "--pull"]
    )
    assert done.exit_code == 0, done.output
    assert "metrics.json at main (" in done.output
    assert (
        f"in neither the local DVC cache nor DVC remote 'team' ({tmp_path / 'empty'})"
        in done.output
    )


def test_pull_asks_no_remote_for_files_a_revision_does_not_have(history: Path) -> None:
    # main~1 has the pipeline but no run yet: its metrics file is not found, not missing
    assert sh("git", "cat-file", "-e", "main~1:dvc.lock", cwd=history, check=False).returncode
    sh(str(BIN / "dvc"), "remote", "add", "--local", "-d", "down", "s3://bucket/x", cwd=history)
    sh(str(BIN / "dvc"), "remote", "modify", "--local", "down", "endpointurl",
       f"http://127.0.0.1:{free_port()}", cwd=history)  # fmt: skip
    done = CliRunner().invoke(
        cli, ["-C", str(history), "report", "--base", "main~1", "--head", "main", "--pull"]
    )
    assert done.exit_code == 0, done.output
    assert "metrics.json at main~1" in done.output and "not found" in done.output


def test_shallow_clone_fetches_the_base(history: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(
        tmp_path, "clone", "-q", "--depth=1", "--branch", "feature", f"file://{history}", str(clone)
    )
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    shutil.copytree(history / ".dvc" / "cache", clone / ".dvc" / "cache")
    report = api.report(clone, base="origin/main", head="HEAD").to_dict()
    assert report["base"]["sha"] == git(history, "rev-parse", "main")
    assert by_name(report["metrics"])["total"]["change"] == 9.0


def test_unknown_revision_exits_2(history: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(history), "report", "--base", "no-such-branch"])
    assert result.exit_code == 2
    assert "unknown revision: no-such-branch" in result.output


def test_cli_formats(history: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["-C", str(history), "report", "--base", "main", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["params"][0]["name"] == "double.factor"

    md = runner.invoke(
        cli, ["-C", str(history), "report", "--base", "main", "--format", "markdown"]
    )
    assert md.exit_code == 0, md.output
    assert md.output.startswith("<!-- mlci-report:pipeline -->")
    assert "| total | 18 | 27 | +9 (+50.0%) |" in md.output

    target = tmp_path / "out" / "report.md"
    written = runner.invoke(
        cli, ["-C", str(history), "report", "--base", "main", "-o", str(target)]
    )
    assert written.exit_code == 0
    assert target.read_text().startswith("<!-- mlci-report:pipeline -->")

    terminal = runner.invoke(cli, ["-C", str(history), "report", "--base", "main"])
    assert terminal.exit_code == 0, terminal.output
    assert "total" in terminal.output and "double.factor" in terminal.output


def test_no_baseline_in_a_fresh_repo(tmp_path: Path) -> None:
    repo = make_tiny_project(tmp_path / "fresh")
    api.run(repo, tracking_enabled=False, pull=False, push=False)
    report = api.report(repo, base="HEAD").to_dict()
    # HEAD has no dvc.lock yet: every metric is new
    assert by_name(report["metrics"])["total"]["base"] is None
    assert by_name(report["metrics"])["total"]["head"] == 18.0


def test_report_needs_only_the_light_core(history: Path) -> None:
    """`pip install mlci` (no extras) is enough: the report path imports no heavy library."""
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from mlci import api;"
        "from mlci.report import markdown, terminal;"
        f"r = api.report(Path({str(history)!r}), base='main', head='feature'); markdown.render(r);"
        "heavy = {'dvc', 'mlflow', 'great_expectations', 'bentoml', 'torch', 'sklearn', 'pandas', 'numpy', 'gto'};"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
