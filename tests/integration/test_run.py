"""`mlci run` against real git repositories, real DVC and a real MLflow sqlite store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci import api, hardware, reproduce
from mlci.cli import cli
from mlci.errors import ServiceError, StageFailed, UsageError
from tests.conftest import BIN, commit_all, free_port, git, make_tiny_project, set_param, sh


def statuses(result: reproduce.RunResult) -> dict[str, str]:
    return {s.name: s.status for s in result.record.stages}


def mlflow_run(result: reproduce.RunResult) -> object:
    import mlflow

    assert result.record.mlflow is not None
    client = mlflow.MlflowClient(tracking_uri=result.record.mlflow["tracking_uri"])
    return client.get_run(result.record.mlflow["run_id"])


def test_first_run_then_noop_then_only_changed_stage(tiny: Path) -> None:
    first = api.run(tiny)
    assert statuses(first) == {"double": "ran", "score": "ran"}
    assert first.record.metrics == {"total": 18.0, "nested.count": 3}
    assert first.record.remote is not None and first.record.remote["pushed"] > 0
    assert (tiny / ".mlci" / "dvc-remote").is_dir()

    record = json.loads((tiny / ".mlci" / "run.json").read_text())
    assert record["status"] == "ok"
    assert [s["name"] for s in record["stages"]] == ["double", "score"]
    assert all(s["seconds"] > 0 for s in record["stages"])
    assert record["git"]["sha"] == git(tiny, "rev-parse", "HEAD")
    assert record["hardware"]["cpu_count"] >= 1
    assert record["mlflow"]["run_id"]

    run = mlflow_run(first)
    assert run.data.params["double.factor"] == "2"  # type: ignore[attr-defined]
    assert run.data.params["score.scale"] == "1.5"  # type: ignore[attr-defined]
    assert run.data.metrics == {"total": 18.0, "nested.count": 3.0}  # type: ignore[attr-defined]
    tags = run.data.tags  # type: ignore[attr-defined]
    assert tags["mlflow.source.git.commit"] == git(tiny, "rev-parse", "HEAD")
    assert tags["mlci.branch"] == "main"
    assert tags["mlci.stages_ran"] == "double,score"
    assert tags["mlci.gpu"] == "none"

    second = api.run(tiny)
    assert statuses(second) == {"double": "unchanged", "score": "unchanged"}
    assert second.mlflow_reused
    assert second.record.mlflow == first.record.mlflow

    set_param(tiny, "score", "scale", 2.0)
    third = api.run(tiny)
    assert statuses(third) == {"double": "unchanged", "score": "ran"}
    assert third.record.metrics["total"] == 24.0
    assert not third.mlflow_reused
    assert third.record.mlflow and third.record.mlflow["run_id"] != first.record.mlflow["run_id"]  # type: ignore[index]


def test_second_runner_reuses_the_run_the_store_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in the tracking store by commit and pipeline state, not in a local file."""
    store = f"sqlite:///{tmp_path / 'shared-mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    pyproject = (
        f'[tool.mlci.dvc]\nembedded_remote = "{tmp_path / "shared-remote"}"\n'
        '[tool.mlci.tracking]\nexperiment = "tiny"\n'
    )
    origin = make_tiny_project(tmp_path / "origin", pyproject=pyproject)
    first = api.run(origin)
    assert first.record.mlflow is not None
    tags = mlflow_run(first).data.tags  # type: ignore[attr-defined]
    assert tags[reproduce.PIPELINE_STATE_TAG] == first.record.lock_digest

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    second = api.run(clone)  # no .mlci/run.json here: every stage from the run-cache
    assert statuses(second) == {"double": "cached", "score": "cached"}
    assert second.mlflow_reused
    assert second.record.mlflow == first.record.mlflow

    set_param(clone, "double", "factor", 3)  # another pipeline state: a run of its own
    third = api.run(clone)
    assert not third.mlflow_reused
    assert third.record.mlflow and third.record.mlflow["run_id"] != first.record.mlflow["run_id"]


def test_fresh_clone_restores_from_remote_run_cache(tmp_path: Path) -> None:
    remote = tmp_path / "shared-remote"
    pyproject = f'[tool.mlci.dvc]\nembedded_remote = "{remote}"\n'
    origin = make_tiny_project(tmp_path / "origin", pyproject=pyproject)
    api.run(origin, tracking_enabled=False)  # factor 2: outs and run-cache pushed
    set_param(origin, "double", "factor", 3)
    api.run(origin, tracking_enabled=False)
    commit_all(origin, "factor 3")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    # back to a param value that only the remote's run-cache has seen
    set_param(clone, "double", "factor", 2)
    result = api.run(clone, tracking_enabled=False)
    assert result.record.remote is not None and result.record.remote["pulled"] > 0
    assert statuses(result) == {"double": "cached", "score": "cached"}
    assert (clone / "work" / "doubled.txt").read_text() == "2 4 6"
    assert json.loads((clone / "metrics.json").read_text())["total"] == 18.0


def test_clone_with_everything_pushed_runs_nothing(tmp_path: Path) -> None:
    remote = tmp_path / "shared-remote"
    origin = make_tiny_project(
        tmp_path / "origin", pyproject=f'[tool.mlci.dvc]\nembedded_remote = "{remote}"\n'
    )
    api.run(origin, tracking_enabled=False)
    commit_all(origin, "lock")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    result = api.run(clone, tracking_enabled=False)
    assert set(statuses(result).values()) == {"unchanged"}
    assert (clone / "metrics.json").is_file()


def test_failing_stage_exits_1_with_its_stderr(tiny: Path) -> None:
    set_param(tiny, "score", "fail", True)
    with pytest.raises(StageFailed) as info:
        api.run(tiny, tracking_enabled=False)
    assert info.value.stage == "score"
    assert "something broke in score" in info.value.message
    assert "exited with 3" in info.value.message
    record = json.loads((tiny / ".mlci" / "run.json").read_text())
    assert record["status"] == "failed"
    assert record["stages"] == [{"name": "score", "status": "failed", "seconds": 0.0}]

    result = CliRunner().invoke(cli, ["-C", str(tiny), "run", "--no-tracking"])
    assert result.exit_code == 1
    assert "stage 'score' failed" in result.output
    assert "Traceback" not in result.output


def test_malformed_params_names_file_and_line(tiny: Path) -> None:
    (tiny / "params.yaml").write_text("double:\n  factor: 2\nscore: [unclosed\n")
    with pytest.raises(UsageError, match=r"^params\.yaml:4: malformed YAML") as info:
        api.run(tiny)
    assert info.value.exit_code == 2
    assert not (tiny / "dvc.lock").exists()  # refused before any work


def test_no_dvc_yaml(tiny: Path) -> None:
    (tiny / "dvc.yaml").unlink()
    result = CliRunner().invoke(cli, ["-C", str(tiny), "run"])
    assert result.exit_code == 2
    assert f"no dvc.yaml in {tiny}" in result.output


def test_not_a_git_repo(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "run"])
    assert result.exit_code == 2
    assert "not a git repository" in result.output


def test_unknown_remote_name_in_config(make_tiny: object) -> None:
    repo = make_tiny(pyproject='[tool.mlci.dvc]\nremote = "nope"\n')  # type: ignore[operator]
    with pytest.raises(UsageError, match=r"dvc.remote = 'nope': no such DVC remote"):
        api.run(repo)


def test_unreachable_remote_exits_3_naming_it(tiny: Path) -> None:
    # a closed port on loopback: refused at once, nothing leaves the machine
    sh(str(BIN / "dvc"), "remote", "add", "-d", "store", "http://127.0.0.1:9/dvc", cwd=tiny)
    with pytest.raises(
        ServiceError, match=r"DVC remote 'store' \(http://127.0.0.1:9/dvc\) is unreachable"
    ) as info:
        api.run(tiny, tracking_enabled=False)
    assert info.value.exit_code == 3
    assert not (tiny / "dvc.lock").exists()


def test_push_failure_is_not_reported_as_pushed(tiny: Path) -> None:
    # pull is skipped; the remote folder cannot be created because a file is in the way
    (tiny / "blocker").write_text("a file, not a folder")
    sh(str(BIN / "dvc"), "remote", "add", "-d", "store", str(tiny / "blocker" / "remote"), cwd=tiny)
    with pytest.raises(ServiceError, match="push to DVC remote 'store'") as info:
        api.run(tiny, pull=False, tracking_enabled=False)
    assert info.value.exit_code == 3
    assert (
        not (tiny / ".mlci" / "run.json").exists()
        or json.loads((tiny / ".mlci" / "run.json").read_text()).get("remote", {}).get("pushed", 0)
        == 0
    )


def test_require_gpu_without_gpu_exits_3_before_work(make_tiny: object) -> None:
    if hardware.has_gpu(hardware.current()):
        pytest.skip("this machine has a GPU")
    repo = make_tiny(pyproject="[tool.mlci]\nrequire_gpu = true\n")  # type: ignore[operator]
    result = CliRunner().invoke(cli, ["-C", str(repo), "run"])
    assert result.exit_code == 3
    assert "require_gpu = true, but no GPU was found" in result.output
    assert not (repo / "dvc.lock").exists()


def test_unreachable_tracking_server(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    result = CliRunner().invoke(cli, ["-C", str(tiny), "run"])
    assert result.exit_code == 3
    assert "MLflow tracking server http://127.0.0.1:9 is unreachable" in result.output
    assert "--no-tracking" in result.output
    assert not (tiny / "dvc.lock").exists()

    result = CliRunner().invoke(cli, ["-C", str(tiny), "run", "--no-tracking"])
    assert result.exit_code == 0, result.output
    assert "tracking is off" in result.output
    assert json.loads((tiny / ".mlci" / "run.json").read_text())["mlflow"] is None


def test_cli_as_a_real_process(tiny: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlci", "run"], cwd=tiny, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "✓ double" in done.stderr and "ran" in done.stderr
    assert "pipeline  2 ran, 0 from run-cache, 0 unchanged" in done.stdout
    assert "metrics   total 18" in done.stdout
    assert "mlflow ui --backend-store-uri sqlite:///" in done.stdout
    again = subprocess.run(
        [str(BIN / "mlci"), "run"], cwd=tiny, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "0 ran, 0 from run-cache, 2 unchanged" in again.stdout
    # lines wrap at COLUMNS where it is set (readline sets it in some environments)
    assert "(unchanged since the last run)" in " ".join(again.stdout.split())


# a frozen `dvc import`, as DVC writes it (iterative/example-get-started's data/data.xml.dvc)
IMPORT_DVC = """\
md5: f5ea021eddd7b1df6de80b904cba1da6
frozen: true
deps:
- path: get-started/data.xml
  repo:
    url: {url}
    rev_lock: f59388cd04276e75d70b2136597aaa27e7937cc3
outs:
- md5: 7b07aa486ca5e005c6b756d7b98ff0cc
  size: 94988
  hash: md5
  path: data.xml
"""


def test_an_import_whose_source_does_not_answer_exits_3_naming_it(tiny: Path) -> None:
    # the file is not the one imported, so DVC asks the source repository to verify it
    url = f"http://127.0.0.1:{free_port()}/dataset-registry"  # nothing listens there
    (tiny / "data.xml").write_text("<posts/>\n")
    (tiny / "data.xml.dvc").write_text(IMPORT_DVC.format(url=url))
    sh(str(BIN / "dvc"), "stage", "add", "-q", "-n", "count", "-d", "data.xml", "-o", "count.txt",
       "wc -c data.xml > count.txt", cwd=tiny)  # fmt: skip
    commit_all(tiny, "an import, and a stage that reads it")
    done = subprocess.run(
        [str(BIN / "mlci"), "run", "--no-pull", "--no-push", "--no-tracking"],
        cwd=tiny,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 3, done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("error: stage 'data.xml.dvc': "), error
    assert f"Failed to clone repo '{url}'" in error, error
    assert "Traceback" not in done.stderr
