"""Post a report artifact from a `workflow_run` job, without the repository it describes.

The artifact comes from a pull request's run, maybe from a fork: anyone could have
written it, so it is data only. It is rendered by mlci's markdown renderer (which escapes
every value) after a type check of every field, and the pull request, head commit and
repository come from the trusted `workflow_run` event, never from the artifact.

    python from_artifact.py FOLDER [--post] [--id ID]

Without --post: the job summary and outputs only, and exit 1 when a validation failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci import api, ci, console, github
from mlci.diff import DataChange, MetricChange, ParamChange, StageChange
from mlci.errors import MlciError, UsageError
from mlci.report import markdown
from mlci.report.model import Report, Revision, StageRow
from mlci.snapshot import DataVersion
from mlci.validate import publish
from mlci.validate.results import Check, Result

MAX_BYTES = 20 * 1024 * 1024
STATUSES = {"added", "deleted", "modified", "unchanged"}
RUNS = {"ran", "cached", "unchanged", "failed"}
VERDICTS = {"pass", "fail", "warn", "no-baseline", "skipped"}


class BadArtifact(UsageError):
    pass


def _objects(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadArtifact(f"report.json: {where} must be a list of objects")
    return value


def _text(value: Any, where: str, *, optional: bool = False) -> Any:
    if (value is None and optional) or isinstance(value, str):
        return value
    raise BadArtifact(f"report.json: {where} must be a string")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _scalar(value: Any) -> Any:
    # metric and param values are shown, never evaluated: keep JSON scalars, drop structures
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadArtifact(f"report.json: {where} must be a list of strings")
    return value


def _version(row: dict[str, Any], side: str) -> DataVersion | None:
    digest, size, files = row.get(f"{side}_hash"), row.get(f"{side}_size"), row.get(f"{side}_files")
    if digest is None and size is None and files is None:
        return None
    return DataVersion(
        path=_text(row.get("path"), "data.path"),
        hash=_text(digest, f"data.{side}_hash", optional=True),
        size=_int(size),
        files=_int(files),
        source="artifact",
    )


def _metric(row: dict[str, Any]) -> MetricChange:
    interval = row.get("interval")
    bounds = [_number(v) for v in interval] if isinstance(interval, list) else []
    low, high = (bounds[0], bounds[1]) if len(bounds) == 2 else (None, None)
    significant = row.get("significant")
    return MetricChange(
        file=_text(row.get("file"), "metrics.file"),
        name=_text(row.get("name"), "metrics.name"),
        base=_scalar(row.get("base")),
        head=_scalar(row.get("head")),
        change=_number(row.get("change")),
        significant=significant if isinstance(significant, bool) else None,
        interval=(low, high) if low is not None and high is not None else None,
    )


def _stage(row: dict[str, Any]) -> StageRow:
    status = row.get("status")
    changed: dict[str, Any] = row["changed"] if isinstance(row.get("changed"), dict) else {}
    run = row.get("run")
    if status not in STATUSES:
        raise BadArtifact(f"report.json: stages.status {status!r} is not one of {sorted(STATUSES)}")
    return StageRow(
        change=StageChange(
            name=_text(row.get("name"), "stages.name"),
            status=status,
            cmd=changed.get("cmd") is True,
            deps=_strings(changed.get("deps"), "stages.changed.deps"),
            params=_strings(changed.get("params"), "stages.changed.params"),
            outs=_strings(changed.get("outs"), "stages.changed.outs"),
        ),
        run=run if run in RUNS else None,
        seconds=_number(row.get("seconds")),
    )


def _check(row: dict[str, Any]) -> Check:
    verdict, severity = row.get("verdict"), row.get("severity", "error")
    if verdict not in VERDICTS or severity not in {"error", "warning"}:
        raise BadArtifact("report.json: a validation check has an unknown verdict or severity")
    details = row.get("details")
    return Check(
        group=_text(row.get("group"), "check.group"),
        name=_text(row.get("name"), "check.name"),
        verdict=verdict,
        severity=severity,
        target=_text(row.get("target"), "check.target", optional=True),
        observed=_scalar(row.get("observed")),
        expected=_text(row.get("expected"), "check.expected", optional=True),
        message=_text(row.get("message", ""), "check.message"),
        details=details if isinstance(details, dict) else {},
        file=_text(row.get("file"), "check.file", optional=True),
        line=_int(row.get("line")),
    )


def _validation(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Result]]:
    """The report's validation rows, with verdicts recomputed from the checks."""
    shown, results = [], []
    for row in rows:
        kind = row.get("kind")
        if kind not in {"data", "model"}:
            shown.append({"file": str(row.get("file")), "success": False, "error": "unknown kind"})
            continue
        result = Result(
            kind=kind, checks=[_check(c) for c in _objects(row.get("checks"), "checks")]
        )
        results.append(result)
        shown.append(
            {
                "file": f"{kind}.json",
                "kind": kind,
                "success": result.success,
                "summary": result.summary,
            }
        )
    return sorted(shown, key=lambda r: bool(r["success"])), results


def load(folder: Path) -> tuple[Report, list[Result]]:
    path = folder / "report.json"
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BadArtifact(f"{path} is larger than {MAX_BYTES} bytes")
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadArtifact(f"cannot read the report artifact {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != 1:
        raise BadArtifact(f"{path} is not an mlci report (format 1)")
    base = document.get("base") if isinstance(document.get("base"), dict) else None
    runner = document.get("runner") if isinstance(document.get("runner"), dict) else None
    mlflow = document.get("mlflow") if isinstance(document.get("mlflow"), dict) else None
    stages = [_stage(s) for s in _objects(document.get("stages"), "stages")]
    validation, results = _validation(_objects(document.get("validation"), "validation"))
    report = Report(
        id=_text(document.get("id", ""), "id"),
        base=Revision(
            rev=_text(base.get("rev"), "base.rev"),
            sha=_text(base.get("sha"), "base.sha", optional=True),
        )
        if base
        else None,
        head=Revision(rev="workspace", sha=None),
        metrics=[_metric(m) for m in _objects(document.get("metrics"), "metrics")],
        params=[
            ParamChange(
                file=_text(p.get("file"), "params.file"),
                name=_text(p.get("name"), "params.name"),
                base=_scalar(p.get("base")),
                head=_scalar(p.get("head")),
            )
            for p in _objects(document.get("params"), "params")
        ],
        data=[
            DataChange(
                path=_text(d.get("path"), "data.path"),
                status=d["status"] if d.get("status") in STATUSES else "modified",
                base=_version(d, "base"),
                head=_version(d, "head"),
            )
            for d in _objects(document.get("data"), "data")
        ],
        stages=stages,
        validation=validation,
        runner={
            "os": str(runner.get("os")),
            "cpu_count": _int(runner.get("cpu_count")),
            "gpus": [{"name": str(g.get("name"))} for g in _objects(runner.get("gpus"), "gpus")],
        }
        if runner
        else None,
        mlflow={"run_id": str(mlflow.get("run_id")), "url": str(mlflow.get("url") or "")}
        if mlflow
        else None,
        # the JSON keeps each stage's run; the headline counts them when a run was recorded
        run={} if any(s.run for s in stages) else None,
        notes=[str(n) for n in _strings(document.get("notes"), "notes")],
    )
    return report, results


def trusted_target(context: ci.CiContext) -> tuple[str, int | None, str | None]:
    """Head commit, pull request number (when the event names it) and the run's URL."""
    run = context.event.get("workflow_run")
    if context.event_name != "workflow_run" or not isinstance(run, Mapping):
        raise UsageError(
            "a report artifact is posted from a workflow_run job: the pull request and "
            f"commit come from that event (this is a {context.event_name or 'local'} run)"
        )
    head_sha = run.get("head_sha")
    if not isinstance(head_sha, str) or len(head_sha) != 40:
        raise UsageError("the workflow_run event has no head_sha")
    # a fork's pull requests are not listed: post_report then asks GitHub for the commit's PR
    numbers = [
        p["number"]
        for p in run.get("pull_requests") or []
        if isinstance(p, Mapping)
        and isinstance(p.get("number"), int)
        and isinstance(p.get("head"), Mapping)
        and p["head"].get("sha") == head_sha
    ]
    url = run.get("html_url")
    return head_sha, (numbers[0] if numbers else None), url if isinstance(url, str) else None


def post(report: Report, results: list[Result], token: str | None) -> str:
    context = ci.context()
    head_sha, number, run_url = trusted_target(context)
    report.head = Revision(rev=head_sha, sha=head_sha)
    pull: dict[str, Any] = {"head": {"sha": head_sha}}
    if number is not None:
        pull["number"] = number
    with tempfile.TemporaryDirectory() as folder:
        event = Path(folder) / "event.json"
        event.write_text(json.dumps({"pull_request": pull}), encoding="utf-8")
        env = {**os.environ, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
        posted = api.post_report(report, token=token, precision=4, env=env)
    console.info(posted)
    if context.repository and token:
        client = github.Client(token, context.repository, api_url=context.api_url)
        for result in results:
            url = github.create_check_run(
                client,
                f"mlci/{result.kind}",
                head_sha,
                success=result.success,
                title=f"{result.kind} validation {'passed' if result.success else 'failed'}",
                summary=publish.markdown(result),
                findings=[
                    dataclasses.asdict(c) for c in result.checks if c.failed or c.verdict == "warn"
                ],
                details_url=run_url,
            )
            console.info(f"check run mlci/{result.kind}: {url}")
    return posted.rsplit(": ", 1)[-1] if posted.startswith("report ") else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the downloaded artifact (holds report.json)")
    parser.add_argument("--post", action="store_true", help="post the comment and check runs")
    parser.add_argument("--id", default="", help="report id (default: the artifact's)")
    args = parser.parse_args(argv)
    try:
        report, results = load(args.folder)
        if args.id:
            report.id = args.id
        url = post(report, results, os.environ.get("GITHUB_TOKEN")) if args.post else ""
        ci.add_summary(markdown.render(report))
        ci.set_output("metrics-changed", str(len(report.changed_metrics)))
        ci.set_output("report-json", json.dumps(report.to_dict()))
        ci.set_output("comment-url", url)
    except MlciError as exc:
        console.error(exc.message)
        return exc.exit_code
    if not args.post and any(not r.success for r in results):
        console.error("a validation failed (see the report)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
