"""Build a Report for two revisions of a repository."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci import ci, config, git, run_record, snapshot
from mlci.diff import MetricChange, data, metrics, params, stages
from mlci.dvc_cache import Cache
from mlci.errors import UsageError
from mlci.report import branches
from mlci.report.model import Plot, Report, Revision, StageRow

__all__ = ["build", "default_base"]


def default_base(root: Path, context: ci.CiContext) -> str | None:
    """The revision to compare with when none is given.

    In a pull request's workflow: the PR's base commit (fetched when the clone is
    shallow). Elsewhere: the merge-base of HEAD with origin/<default branch>,
    else with the local default branch. None in a repository with nothing to compare.
    """
    if context.is_pull_request:
        if context.base_sha:
            return context.base_sha
        if context.base_ref:
            return f"origin/{context.base_ref}"
    if git.resolve(root, "HEAD") is None:
        return None
    branch = git.default_branch(root)
    for candidate in (f"origin/{branch}", branch):
        if git.resolve(root, candidate) and (base := git.merge_base(root, "HEAD", candidate)):
            return base
    return "HEAD"


def _revision(root: Path, rev: str) -> Revision:
    if rev == snapshot.WORKSPACE:
        return Revision(rev=rev, sha=None)
    return Revision(rev=rev, sha=git.resolve_or_fetch(root, rev))


@dataclass(frozen=True)
class _Made:
    """The revision a report's head is: the records of `.mlci/` are used only when made for it."""

    sha: str | None  # the commit (HEAD's, for the workspace)
    label: str  # as a note names it: "HEAD def5678", "feature (def5678)"
    workspace: bool  # the workspace: records made with uncommitted changes count

    def why_not(
        self, what: str, sha: Any, dirty: Any, fix: str, *, plural: bool = True
    ) -> str | None:
        """None when a record made for `sha` (`dirty`) is this revision's, else a note saying why not."""
        does, is_, was, they = (
            ("do", "are", "were", "they") if plural else ("does", "is", "was", "it")
        )
        if not isinstance(sha, str) or not sha:
            if self.sha is None and self.workspace:  # no commit yet, either time
                return None
            return f"{what} {does} not say which revision {they} {was} made for: {fix}"
        if sha != self.sha:
            return f"{what} {is_} for {sha[:7]}, not {self.label}: {fix}"
        if dirty is True and not self.workspace:
            return (
                f"{what} {was} made with uncommitted changes on top of {sha[:7]}, "
                f"not for {self.label} itself: {fix} on a clean checkout"
            )
        return None


def _made(root: Path, head: Revision) -> _Made:
    if head.sha is None:
        sha = git.resolve(root, "HEAD")
        return _Made(sha, f"HEAD {sha[:7]}" if sha else "HEAD (no commit yet)", workspace=True)
    named = head.rev if not head.sha.startswith(head.rev) else ""
    return _Made(head.sha, f"{named} ({head.sha[:7]})" if named else head.sha[:7], workspace=False)


def _validation(state: Path, shown: str, made: _Made) -> tuple[list[dict[str, Any]], list[str]]:
    """The validation results made for the report's head, and a note for each that is not."""
    results: list[dict[str, Any]] = []
    notes: list[str] = []
    folder = state / "validation"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            results.append({"file": path.name, "success": False, "error": f"unreadable: {exc}"})
            continue
        if not isinstance(document, dict):
            continue
        kind = document.get("kind") if document.get("kind") in ("data", "model") else ""
        why = made.why_not(
            f"validation results in {shown}/validation/{path.name}",
            document.get("sha"),
            document.get("dirty"),
            f"run mlci validate {kind}".rstrip(),
        )
        if why:
            notes.append(why)
        else:
            results.append({"file": path.name, **document})
    # failing first: they are what a reviewer has to read
    return sorted(results, key=lambda r: bool(r.get("success", True))), notes


def _significance(
    cfg: config.Config,
    base: snapshot.Snapshot | None,
    head: snapshot.Snapshot,
    rows: list[MetricChange],
) -> list[str]:
    """Paired-bootstrap intervals for metric changes recomputable from per-sample predictions."""
    file = cfg.report.predictions
    wanted = {
        m.name: cfg.report.significance[m.name]
        for m in rows
        if m.change and m.name in cfg.report.significance
    }
    if not file or base is None or not wanted:
        return []
    if file not in base.files or file not in head.files:
        return [f"significance: {file} is not available at both revisions"]
    from mlci import stats

    try:
        old = stats.read_predictions(base.files[file].decode("utf-8"))
        new = stats.read_predictions(head.files[file].decode("utf-8"))
        intervals = {
            i.metric: i
            for i in stats.compare(
                old, new, metrics=sorted(set(wanted.values())), resamples=cfg.report.resamples
            )
        }
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"significance: {file}: {exc}"]
    for row in rows:
        if (statistic := wanted.get(row.name)) and (interval := intervals.get(statistic)):
            row.significant = interval.significant
            row.interval = (interval.low, interval.high)
    return []


def _run_info(
    state: Path, shown: str, made: _Made
) -> tuple[run_record.RunRecord | None, list[str]]:
    record = run_record.read(state)
    if record is None:
        return None, []
    why = made.why_not(
        f"the run record {shown}/{run_record.FILENAME}",
        record.sha,
        record.dirty,
        "run mlci run",
        plural=False,
    )
    return (None, [why]) if why else (record, [])


def _pull(root: Path, cfg: config.Config, sides: list[tuple[snapshot.Snapshot, Revision]]) -> str:
    """Fetch the files each side records but the local cache lacks from the DVC remote; the
    remote, described. Files a revision does not have are not asked for.

    A remote that cannot be reached is exit 3, named: a report without the files it
    was asked to fetch would look like a report of a project without them. One that
    answers but holds nothing yet (nothing pushed; `mlci doctor` says "reachable, empty")
    has nothing to fetch: the notes name the files it lacks.
    """
    from mlci import dvc

    remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    if remote is None:
        raise UsageError(
            "--pull: no DVC remote to fetch from",
            hint="configure one (`dvc remote add -d NAME URL`) or [tool.mlci.dvc] remote",
        )
    described = f"DVC remote '{remote.name}' ({remote.url})"
    if not dvc.check_remote(root, remote):  # it answers, empty: created by the first push
        return described
    for snap, revision in sides:
        if snap.unread:
            dvc.fetch_outputs(root, remote, revision.sha, sorted(snap.unread))
    return described


def _missing(file: str, revision: Revision, why: str, pulled_from: str) -> str:
    """A note naming a file that could not be read, at which revision, and how to get it."""
    if "cache" not in why:
        return f"{file} at {revision.label}: {why}"
    if pulled_from:
        return (
            f"{file} at {revision.label}: in neither the local DVC cache nor {pulled_from}; "
            "push it from where it was produced (`dvc push`)"
        )
    return (
        f"{file} at {revision.label}: not in the local DVC cache; "
        "fetch it with `mlci report --pull` (or `dvc pull`)"
    )


def build(
    root: Path,
    cfg: config.Config,
    *,
    base: str | None,
    head: str = snapshot.WORKSPACE,
    all_params: bool = False,
    pull: bool = False,
    report_id: str = "",
    env: Mapping[str, str] | None = None,
) -> Report:
    context = ci.context(env)
    head_rev = _revision(root, head)
    base_name = base if base is not None else default_base(root, context)
    base_rev = _revision(root, base_name) if base_name else None
    extra = (cfg.report.predictions,) if cfg.report.predictions else ()

    def take(revision: Revision) -> snapshot.Snapshot:
        return snapshot.take(root, revision.rev, revision.sha, extra=extra)

    head_snap = take(head_rev)
    base_snap = take(base_rev) if base_rev else None
    sides = [(head_snap, head_rev), *([(base_snap, base_rev)] if base_snap and base_rev else [])]
    pulled_from = ""
    if pull and any(snap.unread for snap, _rev in sides):
        pulled_from = _pull(root, cfg, sides)
        head_snap = take(head_rev)
        base_snap = take(base_rev) if base_rev else None
        sides = [
            (head_snap, head_rev),
            *([(base_snap, base_rev)] if base_snap and base_rev else []),
        ]
    if not head_snap.has_pipeline and not (root / ".dvc").is_dir():
        raise UsageError(
            f"not a DVC project: no dvc.yaml at {head_rev.label} and no .dvc folder in {root}",
            hint="mlci reports on DVC projects: `dvc init`, then `dvc add` or `dvc stage add`",
        )

    metric_rows = metrics(base_snap, head_snap)
    problems = [line for snap, _rev in sides for line in snap.problems]
    notes = problems + [
        _missing(file, revision, why, pulled_from)
        for snap, revision in sides
        for file, why in snap.unavailable.items()
        if file not in extra
    ]
    notes += _significance(cfg, base_snap, head_snap, metric_rows)

    made = _made(root, head_rev)
    shown = cfg.state_dir.strip("/") or "."
    record, record_notes = _run_info(cfg.state_path, shown, made)
    validation, validation_notes = _validation(cfg.state_path, shown, made)
    notes += record_notes + validation_notes
    fanned, fanned_notes = branches.read(
        cfg.state_path,
        lambda what, sha: made.why_not(what, sha, False, "download this run's", plural=False),
    )
    notes += fanned_notes
    ran = {s.name: s for s in record.stages} if record else {}
    stage_rows = []
    for change in stages(base_snap, head_snap):
        done = ran.get(change.name)
        stage_rows.append(
            StageRow(
                change, run=done.status if done else None, seconds=done.seconds if done else None
            )
        )

    plots = [
        Plot(
            spec=spec,
            base={f: base_snap.files[f] for f in spec.files if base_snap and f in base_snap.files},
            head={f: head_snap.files[f] for f in spec.files if f in head_snap.files},
        )
        for spec in head_snap.plots
    ]
    return Report(
        id=report_id or cfg.report.id or context.workflow or "pipeline",
        base=base_rev,
        head=head_rev,
        metrics=metric_rows,
        params=params(base_snap, head_snap, include_unchanged=all_params),
        data=data(base_snap, head_snap, manifest=Cache(root).manifest),
        stages=stage_rows,
        plots=plots,
        validation=validation,
        runner=record.hardware if record else None,
        branches=fanned,
        mlflow=record.mlflow if record else None,
        run={"status": record.status, "error": record.error, "ci": record.ci} if record else None,
        notes=notes,
        all_params=all_params,
        problems=problems,
        metrics_declared=head_snap.metrics_declared
        or bool(base_snap and base_snap.metrics_declared),
    )
