"""A fanned-out pipeline's plumbing (mlci/fanout): the plan job's outputs, the branch records,
the join's check, and the branches in the report."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mlci.errors import UsageError
from mlci.fanout import join, records
from mlci.report import branches, markdown
from mlci.report.model import Report, Revision
from tests.conftest import BIN, git, sh
from tests.unit.test_report_json import HOSTILE
from tests.unit.test_report_markdown import check_safe

GPU = '["self-hosted", "gpu"]'


def plan(action: str = "run", *, upstream: str = "run", n: int = 4) -> dict[str, Any]:
    """A plan as `mlci plan --format json` writes it (PLAN contract, docs/runners.md)."""
    items = [str(i) for i in range(n)]
    return {
        "revision": "a" * 40,
        "remote": "shared",
        "stages": [
            {
                "name": "prepare",
                "pipeline": "dvc.yaml",
                "action": upstream,
                "group": "upstream",
                "runs-on": ["ubuntu-latest"],
            },
            *(
                {
                    "name": f"{kind}@{i}",
                    "pipeline": "dvc.yaml",
                    "action": action,
                    "group": f"branch-{i}",
                    "runs-on": ["self-hosted", "gpu"],
                }
                for i in items
                for kind in ("train", "evaluate")
            ),
        ],
        "upstream": {"targets": ["prepare"], "runs-on": ["ubuntu-latest"], "action": upstream},
        "branches": {
            "include": [
                {
                    "name": f"train@{i}",
                    "targets": f"train@{i} evaluate@{i}",
                    "runs-on": GPU,
                    "action": action,
                }
                for i in items
            ]
        },
        "join": {"targets": [], "runs-on": ["ubuntu-latest"], "action": "unchanged"},
        "fan-out": action == "run" and n > 1,
    }


def test_outputs_are_a_matrix_of_the_branches_with_work_and_the_upstream() -> None:
    out = join.outputs(join.load_plan(json.dumps(plan())))
    assert out["fan-out"] == "true"
    matrix = json.loads(out["matrix"])
    assert [b["name"] for b in matrix["include"]] == ["train@0", "train@1", "train@2", "train@3"]
    assert matrix["include"][1] == {
        "name": "train@1",
        "targets": "train@1 evaluate@1",
        "runs-on": GPU,
        "artifact": "mlci-branch-1",
    }
    assert json.loads(matrix["include"][0]["runs-on"]) == ["self-hosted", "gpu"]
    assert out["upstream"] == "prepare" and json.loads(out["upstream-runs-on"]) == ["ubuntu-latest"]
    assert [e["name"] for e in json.loads(out["expect"])] == [
        "upstream",
        *(f"train@{i}" for i in range(4)),
    ]
    assert "\n" not in out["matrix"] and "\n" not in out["expect"]
    assert out["join"] == ""  # no join stage: the join's `mlci run --restore-only` runs none
    with_join = plan()
    with_join["join"]["targets"] = ["report", "sub/dvc.yaml:compare"]
    assert join.outputs(with_join)["join"] == "report sub/dvc.yaml:compare"


def test_no_fan_out_with_fewer_than_two_branches_to_run_and_no_upstream_job_to_restore() -> None:
    restored = join.outputs(plan("restore"))
    assert restored["fan-out"] == "false" and json.loads(restored["matrix"]) == {"include": []}
    assert restored["expect"] == "[]"
    assert join.outputs(plan(n=1))["fan-out"] == "false"
    # the upstream restores from the run-cache: no upstream job, each branch restores it
    out = join.outputs(plan(upstream="restore"))
    assert out["fan-out"] == "true" and out["upstream"] == ""
    assert "upstream" not in out["expect"]


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ("[1]", "is not an object"),
        ('{"upstream": {}, "join": {}, "branches": {}}', "branches.include"),
        ('{"upstream": [], "join": {}}', "upstream must be an object"),
        ("nope", "not JSON"),
    ],
)
def test_a_document_that_is_no_plan_is_exit_2_naming_the_part(document: str, named: str) -> None:
    with pytest.raises(UsageError, match=named) as raised:
        join.load_plan(document, "the plan plan.json")
    assert raised.value.message.startswith("the plan plan.json: ")  # the file is named
    bad = plan()
    bad["branches"]["include"][0]["runs-on"] = "not json"
    with pytest.raises(UsageError, match=r"branches.include\[0\].runs-on"):
        join.load_plan(json.dumps(bad))


def record(name: str, status: str = "ok", **extra: Any) -> records.BranchRecord:
    return records.BranchRecord(
        name=name,
        targets=[name, name.replace("train", "evaluate")],
        runs_on=["self-hosted", "gpu"],
        status=status,
        sha="b" * 40,
        runner={
            "os": "Linux",
            "cpu_count": 8,
            "runner_name": f"gpu-{name}",
            "gpus": [{"name": "NVIDIA H200", "memory_mib": 143771}],
            "gpu_error": None,
        },
        stages=[{"name": name, "status": "ran", "seconds": 20.5}],
        **extra,
    )


def test_records_round_trip_and_a_bad_file_is_a_note_naming_it(tmp_path: Path) -> None:
    written = records.write(tmp_path, record("train@0"))
    assert written.name == "train-0.json"
    records.write(tmp_path, record("upstream"))
    (tmp_path / "junk.json").write_text('{"format": 1, "status": "won"}')
    found, notes = records.read_all(tmp_path)
    assert [r.name for r in found] == ["upstream", "train@0"]
    assert found[1] == record("train@0")
    assert notes == [f"{tmp_path / 'junk.json'}: status is 'won', not one of ok, failed, missing"]


def test_tail_keeps_the_last_lines_without_colours_or_progress_bars() -> None:
    log = "".join(f"line {i}\n" for i in range(100)) + "10%\r50%\r\x1b[31mboom\x1b[0m\n"
    lines = records.tail(log).splitlines()
    assert len(lines) == records.TAIL_LINES and lines[-1] == "boom" and lines[0] == "line 61"
    assert len(records.tail("x" * 10_000)) == records.TAIL_CHARS


def test_check_passes_when_every_job_finished_and_only_the_join_is_left(tmp_path: Path) -> None:
    found = tmp_path / "found"
    expect = join.outputs(plan())["expect"]
    for name in ["upstream", *(f"train@{i}" for i in range(4))]:
        records.write(found, record(name))
    kept, problems = join.check(
        plan("restore", upstream="restore"),
        found,
        expect,
        "b" * 40,
        tmp_path / "state" / "branches",
    )
    assert problems == [] and len(kept) == 5
    # without a plan made now, only the records are checked (the join's run refuses the rest)
    assert join.check(None, found, expect, "b" * 40, tmp_path / "again") == (kept, [])
    assert sorted(p.name for p in (tmp_path / "state" / "branches").iterdir()) == [
        "train-0.json",
        "train-1.json",
        "train-2.json",
        "train-3.json",
        "upstream.json",
    ]


def test_check_names_a_failed_and_a_missing_branch_and_the_stages_left_to_run(
    tmp_path: Path,
) -> None:
    found, into = tmp_path / "found", tmp_path / "into"
    expect = join.outputs(plan())["expect"]
    for name in ["upstream", "train@0", "train@2"]:
        records.write(found, record(name))
    records.write(found, record("train@1", "failed", log_tail="CUDA out of memory"))
    # a record of another commit counts as none
    records.write(found, records.BranchRecord("train@3", [], ["x"], "ok", sha="c" * 40))
    now = plan("restore", upstream="restore")
    for stage in now["stages"]:
        if stage["name"].endswith(("@1", "@3")):
            stage["action"] = "run"
    _kept, problems = join.check(now, found, expect, "b" * 40, into)
    assert problems == [
        "branch train@1 failed",
        "branch train@3 left no record: its job did not finish",
        "stage train@1 (branch-1) would run in the join: no job pushed it",
        "stage evaluate@1 (branch-1) would run in the join: no job pushed it",
        "stage train@3 (branch-3) would run in the join: no job pushed it",
        "stage evaluate@3 (branch-3) would run in the join: no job pushed it",
    ]
    missing = records.read(into / "train-3.json")
    assert missing.status == "missing" and missing.targets == ["train@3", "evaluate@3"]


def test_report_shows_each_branch_runner_and_gpu_and_a_failed_branch_log_tail() -> None:
    report = Report(
        id="pr",
        base=None,
        head=Revision("workspace", None),
        metrics=[],
        params=[],
        data=[],
        stages=[],
        metrics_declared=False,
        branches=[
            record("upstream").to_dict(),
            record("train@0").to_dict(),
            record(
                "train@1", "failed", log_tail="Traceback\nRuntimeError: CUDA out of memory"
            ).to_dict(),
            records.BranchRecord("train@2", ["train@2"], ["gpu"], "missing").to_dict(),
        ],
    )
    text = markdown.render(report)
    pipeline = text[text.index("### Pipeline") :]
    assert (
        "| train@&#8203;0 | train@&#8203;0 evaluate@&#8203;0 | self-hosted, gpu | gpu-train@&#8203;0 "
        "| NVIDIA H200 | finished, 1 ran | 20.5s |" in pipeline
    )
    assert "| train@&#8203;1 |" in pipeline and "**failed**" in pipeline
    assert "<details><summary>train@&#8203;1 failed</summary>" in pipeline
    assert "RuntimeError: CUDA out of memory" in pipeline
    assert "<details><summary>train@&#8203;2: no record</summary>" in pipeline
    # the branches survive the report's JSON (the artifact the comment job renders)
    again = Report.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.branches == report.branches
    assert markdown.render(again) == text


def test_terminal_report_shows_the_jobs_and_a_failed_one_log_tail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mlci report` on a laptop shows what the comment shows: each job's runner and GPU."""
    from mlci.report import terminal

    tail = "\n".join(f"line {i}" for i in range(30)) + "\nRuntimeError: CUDA out of memory"
    report = Report(
        id="pr",
        base=None,
        head=Revision("workspace", None),
        metrics=[],
        params=[],
        data=[],
        stages=[],
        metrics_declared=False,
        branches=[
            record("train@0").to_dict(),
            record("train@1", "failed", log_tail=tail).to_dict(),
            records.BranchRecord("train@2", ["train@2"], ["gpu"], "missing").to_dict(),
        ],
    )
    buffer = io.StringIO()
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys, "stdout", buffer)
    terminal.render(report)
    lines = buffer.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    row = next(line for line in lines if line.startswith("train@0"))
    assert "NVIDIA H200" in row and "finished, 1" in row and "20.5s" in row  # wrapped at 80
    assert any(line.startswith("train@1") and "failed" in line for line in lines)
    at = lines.index("✗ train@1 failed: its log ends")
    assert lines[at + 1 : at + 11] == [f"  line {i}" for i in range(21, 30)] + [
        "  RuntimeError: CUDA out of memory"
    ]
    assert "✗ train@2 left no record" in lines


def test_untrusted_branch_records_are_escaped_and_checked() -> None:
    hostile = record(HOSTILE, "failed", log_tail=f"```\n{HOSTILE}\n<!-- mlci-report:pr -->")
    hostile.runner = {"os": HOSTILE, "gpus": [{"name": HOSTILE}]}
    text = branches.markdown([hostile.to_dict()])
    check_safe(text.split("<details>")[0])
    # the log tail is a fenced block its own backticks cannot close; no marker gets out
    assert "<!-- mlci-report" not in text and "\n````\n```\n" in text

    def fail(where: str, what: str) -> Exception:
        return UsageError(f"{where} {what}")

    with pytest.raises(UsageError, match=r"branches\[0\] status is 'evil'"):
        branches.from_document([{**hostile.to_dict(), "status": "evil"}], fail)
    with pytest.raises(UsageError, match=r"branches\[0\] runner.gpus"):
        branches.from_document([{**hostile.to_dict(), "runner": {"gpus": "x"}}], fail)
    assert branches.from_document(None, fail) == []


def test_cli_record_and_check_in_a_repository(tiny: Path, tmp_path: Path) -> None:
    mlci = str(BIN / "mlci")
    sha = git(tiny, "rev-parse", "HEAD")
    log = tmp_path / "branch.log"
    log.write_text("stage 'train@1' failed: exit 1\n")
    out = tmp_path / "records"
    done = sh(
        mlci,
        "fanout",
        "record",
        "--name",
        "train@1",
        "--targets",
        "train@1 evaluate@1",
        "--runs-on",
        GPU,
        "--outcome",
        "failure",
        "--log",
        str(log),
        "--output",
        str(out),
        cwd=tiny,
    )
    written = records.read(out / "train-1.json")
    assert (
        written.status == "failed"
        and written.sha == sha
        and written.runs_on == ["self-hosted", "gpu"]
    )
    assert written.log_tail == "stage 'train@1' failed: exit 1"
    assert written.runner and written.runner["cpu_count"] >= 1
    assert "train@1 failed on self-hosted gpu" in done.stdout

    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan("restore", upstream="restore", n=2)))
    expect = json.dumps([{"name": "train@1", "targets": "train@1", "runs-on": GPU}])
    failed = sh(
        mlci,
        "fanout",
        "check",
        str(plan_file),
        "--records",
        str(out),
        "--expect",
        expect,
        cwd=tiny,
        check=False,
    )
    assert failed.returncode == 1, failed.stderr
    assert "the join does not run: branch train@1 failed" in failed.stderr
    assert records.read(tiny / ".mlci" / "branches" / "train-1.json").status == "failed"

    sh(
        mlci,
        "fanout",
        "record",
        "--name",
        "train@1",
        "--outcome",
        "success",
        "--runs-on",
        GPU,
        "--output",
        str(out),
        cwd=tiny,
    )
    passed = sh(
        mlci,
        "fanout",
        "check",
        str(plan_file),
        "--records",
        str(out),
        "--expect",
        expect,
        cwd=tiny,
        check=False,
    )
    assert passed.returncode == 0, passed.stderr
    records_only = sh(
        mlci, "fanout", "check", "--records", str(out), "--expect", expect, cwd=tiny, check=False
    )
    assert records_only.returncode == 0, records_only.stderr
    assert "1 jobs finished; the join restores their stages" in records_only.stderr
    bad = sh(mlci, "fanout", "check", str(log), "--records", str(out), cwd=tiny, check=False)
    assert bad.returncode == 2 and f"the plan {log}: is not JSON" in bad.stderr
