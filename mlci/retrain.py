"""`mlci retrain`: new labelled data into the dataset, on a branch, as a pull request.

The served model stores labelled feedback (`feedback-*.csv` in the feedback store);
`retrain` merges it into a DVC-tracked CSV dataset of `[tool.mlci.data]`, validates
the result with the dataset's expectation suite, `dvc add` + `dvc push`, commits the
new `.dvc` file on `mlci/retrain-<dataset>-<md5>`, pushes that branch and opens a
pull request whose body is the data diff. The pull request's own CI then re-runs
the pipeline and reports the metric change.

The merge rule (docs/retrain.md):

- a new file must have every column of the dataset (any order), else exit 2 naming
  it; columns the dataset lacks (the feedback store's `predicted`) are dropped;
- rows are compared cell by cell after parsing numbers (`1` equals `1.0`); a row
  equal to one of the dataset, or to an earlier new row, is dropped;
- the dataset's bytes stay as they are and the new rows are appended, in the order
  of their files (sorted by name: by time, for feedback files), then of their lines.

Feedback files are only read, never moved or deleted (the store may be a bucket the
service writes to): the de-duplication makes a second run over the same files a
no-op once the pull request is merged, and the branch name carries the merged
data's md5, so a run before that finds its own branch and opens nothing new.

All writing happens in a temporary git worktree of HEAD, whose DVC cache is the
repository's: the user's checkout, branch and files are left exactly as they were.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlci import ci, dvc, git
from mlci.config import Config, DatasetConfig
from mlci.errors import ServiceError, UsageError
from mlci.report import safe

if TYPE_CHECKING:
    from mlci.validate.results import Result as ValidationResult

__all__ = [
    "FEEDBACK_ENV",
    "FEEDBACK_PATTERN",
    "RetrainResult",
    "SourceFile",
    "pull_body",
    "retrain",
]

FEEDBACK_ENV = "MLCI_FEEDBACK_STORE"  # as in the served model (pipelines/digits/service.py)
FEEDBACK_PATTERN = "feedback-*.csv"
BRANCH_PREFIX = "mlci/retrain-"
MARKER = "<!-- mlci-retrain -->"
MAX_FILES_SHOWN = 50

Status = Literal["nothing-new", "invalid", "dry-run", "committed", "pushed", "opened", "exists"]
Step = Callable[[str], None]


@dataclass
class SourceFile:
    name: str
    rows: int
    added: int = 0
    duplicates: int = 0


@dataclass
class RetrainResult:
    status: Status
    dataset: str
    path: str
    source: str
    message: str = ""
    files: list[SourceFile] = field(default_factory=list)
    rows_before: int = 0
    rows_added: int = 0
    duplicates_existing: int = 0  # new rows already in the dataset
    duplicates_new: int = 0  # new rows repeated within the new data
    dropped_columns: list[str] = field(default_factory=list)
    label: str | None = None
    labels_before: dict[str, int] = field(default_factory=dict)
    labels_added: dict[str, int] = field(default_factory=dict)
    md5_before: str = ""
    md5_after: str = ""
    dvcfile: str = ""
    out: str = ""
    out_md5_before: str = ""
    out_md5_after: str = ""
    base: str | None = None
    branch: str | None = None
    commit: str | None = None
    pushed_objects: int = 0
    pull_number: int | None = None
    pull_url: str | None = None
    body: str = ""
    validation: ValidationResult | None = None

    @property
    def rows_after(self) -> int:
        return self.rows_before + self.rows_added

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows_after"] = self.rows_after
        data["validation"] = self.validation.to_dict() if self.validation else None
        return data


# ---------------------------------------------------------------- entry point


def retrain(
    root: Path,
    cfg: Config,
    *,
    source: str | None = None,
    name: str | None = None,
    branch: str | None = None,
    push: bool = True,
    dry_run: bool = False,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Step = lambda _: None,
) -> RetrainResult:
    name, dataset = _dataset(cfg, name)
    head = git.head(root)
    if head.sha is None:
        raise UsageError(f"{root}: the repository has no commit yet")
    where, files = _read_sources(root, cfg, source)
    result = RetrainResult(status="nothing-new", dataset=name, path=dataset.path, source=where)
    if not files:
        result.message = f"nothing to retrain: no new data in {where}"
        return result
    remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    result.base = head.branch or git.default_branch(root)
    context = ci.context(env)
    token = token or context.token
    head_sha = head.sha
    with tempfile.TemporaryDirectory(prefix="mlci-retrain-") as tmp:
        worktree = Path(tmp) / "worktree"

        def run() -> RetrainResult:
            return _retrain(
                root,
                worktree,
                cfg,
                dataset,
                result,
                files,
                head_sha=head_sha,
                remote=remote,
                branch=branch,
                push=push,
                dry_run=dry_run,
                token=token,
                env=env,
                step=step,
            )

        if dry_run:  # a copy of HEAD's files: not even .git/worktrees is written
            git.export_tree(root, head_sha, worktree)
            return run()
        git.add_worktree(root, worktree, head_sha)
        try:
            return run()
        finally:
            git.remove_worktree(root, worktree)


def _retrain(
    root: Path,
    worktree: Path,
    cfg: Config,
    dataset: DatasetConfig,
    result: RetrainResult,
    files: list[tuple[str, bytes]],
    *,
    head_sha: str,
    remote: dvc.Remote | None,
    branch: str | None,
    push: bool,
    dry_run: bool,
    token: str | None,
    env: Mapping[str, str] | None,
    step: Step,
) -> RetrainResult:
    tracked, data_file = _checkout(root, worktree, dataset, result, head_sha, remote, step)
    old = data_file.read_bytes()
    merged, added = _merge(result, dataset, cfg.model.label, old, files)
    result.md5_before = _md5(old)
    if not added:
        result.message = (
            f"nothing to retrain: the {sum(f.rows for f in result.files)} rows of "
            f"{len(result.files)} file(s) in {result.source} are all in {dataset.path} already"
        )
        return result
    result.md5_after = _md5(merged)
    result.branch = branch or f"{BRANCH_PREFIX}{result.dataset}-{result.md5_after[:8]}"
    auth = ci.git_env(root, token=token, env=env)  # Actions: the token, the bot's identity
    if push and not dry_run:
        if remote is None:
            raise UsageError(
                "no DVC remote to push the new data to",
                hint="configure one (dvc remote add -d NAME URL) or [tool.mlci.dvc] embedded_remote",
            )
        on_origin = git.remote_branch(root, result.branch, env=auth)
        if on_origin is not None:  # this very data was merged, validated and pushed before
            result.commit = on_origin
            result.body = pull_body(result)
            return _propose(result, token=token, env=env, step=step, pushed=False)
    data_file.write_bytes(merged)

    step(f"validating {dataset.path}: {result.rows_after} rows, suite '{dataset.suite}'")
    result.validation = _validate(worktree, cfg, result.dataset)
    result.body = pull_body(result)
    if not result.validation.success:
        result.status = "invalid"
        result.message = (
            f"the merged {dataset.path} fails its expectation suite '{dataset.suite}': "
            "nothing committed or pushed"
        )
        return result
    if dry_run:
        result.status = "dry-run"
        result.message = (
            f"dry run: {result.rows_added} new rows for {dataset.path}; nothing written"
        )
        return result

    step(f"dvc add {tracked.out}" + (f", dvc push to '{remote.name}'" if push and remote else ""))
    result.pushed_objects = dvc.add_and_push(
        worktree, tracked.out, root=root, remote=remote if push else None
    )
    after = dvc.tracked_out(worktree, dataset.path)
    result.out_md5_after = after.md5 if after else ""
    result.body = pull_body(result)
    paths = [tracked.dvcfile]
    ignore = (Path(tracked.out).parent / ".gitignore").as_posix().removeprefix("./")
    if (worktree / ignore).is_file():
        paths.append(ignore)
    result.commit = git.commit_paths(worktree, paths, _commit_message(result), env=auth)
    git.set_branch(root, result.branch, result.commit)
    if not push:
        result.status = "committed"
        result.message = (
            f"committed {result.rows_added} new rows of {dataset.path} on {result.branch} "
            "(not pushed: no pull request)"
        )
        return result
    step(f"git push origin {result.branch}")
    git.push_branch(root, result.branch, env=auth)
    return _propose(result, token=token, env=env, step=step, pushed=True)


def _checkout(
    root: Path,
    worktree: Path,
    dataset: DatasetConfig,
    result: RetrainResult,
    head_sha: str,
    remote: dvc.Remote | None,
    step: Step,
) -> tuple[dvc.TrackedOut, Path]:
    """The DVC-tracked folder or file holding the dataset, as of HEAD, into the worktree."""
    tracked = dvc.tracked_out(worktree, dataset.path)
    if tracked is None:
        raise UsageError(
            f"dataset '{result.dataset}': {dataset.path} is not tracked by a .dvc file",
            hint=f"track it with `dvc add {dataset.path}` and commit the .dvc file",
        )
    result.dvcfile, result.out, result.out_md5_before = tracked.dvcfile, tracked.out, tracked.md5
    step(f"reading {tracked.out} as of {head_sha[:8]} ({tracked.dvcfile})")
    target = worktree / tracked.out
    target.parent.mkdir(parents=True, exist_ok=True)
    dvc.export_output(root, remote, head_sha, tracked.out, target.parent)
    data_file = worktree / dataset.path
    if not data_file.is_file():
        raise UsageError(f"dataset '{result.dataset}': {dataset.path} is not in {tracked.out}")
    return tracked, data_file


def _propose(
    result: RetrainResult,
    *,
    token: str | None,
    env: Mapping[str, str] | None,
    step: Step,
    pushed: bool,
) -> RetrainResult:
    """Open the pull request of the pushed branch, unless one (open or closed) exists for it."""
    from mlci import github

    assert result.branch is not None  # noqa: S101 (set by the caller)
    context = ci.context(env)
    token = token or context.token
    result.status = "pushed" if pushed else "exists"
    if not (context.repository and token):
        missing = "GITHUB_REPOSITORY" if not context.repository else "a GitHub token"
        result.message = (
            f"{'pushed' if pushed else 'found'} {result.branch} on origin; no pull request opened "
            f"(no {missing}): open one from {result.branch} into {result.base}"
        )
        return result
    client = github.Client(token, context.repository, api_url=context.api_url)
    existing = github.pulls_from(client, result.branch)
    if existing:
        pull = next((p for p in existing if p.state == "open"), existing[0])
        result.status = "exists"
        result.pull_number, result.pull_url = pull.number, pull.url
        result.message = (
            f"this data is already proposed in #{pull.number} ({pull.state}): {pull.url}"
        )
        return result
    step(f"opening a pull request from {result.branch} into {result.base}")
    pull = github.create_pull(
        client,
        head=result.branch,
        base=result.base or "main",
        title=_title(result),
        body=result.body,
    )
    result.status = "opened"
    result.pull_number, result.pull_url = pull.number, pull.url
    result.message = f"opened #{pull.number}: {pull.url}"
    return result


# ---------------------------------------------------------------- inputs


def _dataset(cfg: Config, name: str | None) -> tuple[str, DatasetConfig]:
    known = sorted(cfg.data)
    if not known:
        raise UsageError(
            "no dataset to retrain",
            hint='declare one in pyproject.toml: [tool.mlci.data.NAME] path = "data/x.csv", suite = "x"',
        )
    if name is None:
        if len(known) > 1:
            raise UsageError(f"several datasets ({', '.join(known)}): pick one with --data NAME")
        name = known[0]
    if name not in cfg.data:
        raise UsageError(f"unknown dataset '{name}' (known: {', '.join(known)})")
    dataset = cfg.data[name]
    if dataset.format != "csv":
        raise UsageError(f"dataset '{name}': retrain appends to CSV files, not {dataset.format}")
    if any(char in dataset.path for char in "*?["):
        raise UsageError(
            f"dataset '{name}': retrain appends to one file, and {dataset.path} is a glob"
        )
    return name, dataset


def _is_url(text: str) -> bool:
    return ("://" in text or "::" in text) and not text.startswith("file://")


def _read_sources(
    root: Path, cfg: Config, source: str | None
) -> tuple[str, list[tuple[str, bytes]]]:
    """(where, [(shown name, content)]): the source's CSV files, sorted by name.

    No source: the feedback store's `feedback-*.csv` ($MLCI_FEEDBACK_STORE, else
    `[tool.mlci.release] feedback_store`, relative to the root); a store that does
    not exist yet holds nothing. A source given: a CSV file, or a folder's `*.csv`.
    """
    explicit = source is not None
    if source is None:
        source = os.environ.get(FEEDBACK_ENV) or cfg.release.feedback_store
    pattern = "*.csv" if explicit else FEEDBACK_PATTERN
    if _is_url(source):
        return source, _read_url(source, pattern, explicit=explicit)
    path = Path(source.removeprefix("file://"))
    if not path.is_absolute():
        path = (Path.cwd() if explicit else root) / path
    if path.is_file():
        return source, [(source, _read(path))]
    if path.is_dir():
        found = sorted(p for p in path.glob(pattern) if p.is_file())
        return source, [(f"{source.rstrip('/')}/{p.name}", _read(p)) for p in found]
    if explicit:
        raise UsageError(f"{source}: no such file or folder")
    return source, []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


def _read_url(url: str, pattern: str, *, explicit: bool) -> list[tuple[str, bytes]]:
    import fsspec  # type: ignore[import-untyped]  # installed with DVC; s3/gcs/azure need plugins

    try:
        fs, path = fsspec.core.url_to_fs(url)
        if fs.isfile(path):
            return [(url, fs.cat_file(path))]
        if not fs.isdir(path):
            if explicit:
                raise UsageError(f"{url}: no such file or folder")
            return []
        found = sorted(str(p) for p in fs.glob(f"{path.rstrip('/')}/{pattern}"))
        base = url.rstrip("/")
        return [(f"{base}/{p.rsplit('/', 1)[-1]}", fs.cat_file(p)) for p in found]
    except UsageError:
        raise
    except ImportError as exc:
        raise UsageError(f"{url}: no filesystem for this URL: {exc}") from None
    except Exception as exc:  # each fsspec backend raises its own types
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise ServiceError(f"{url}: cannot read: {text}") from None


# ---------------------------------------------------------------- the merge


def _key(cell: str) -> str:
    """A cell as compared: numbers by value (`1`, `1.0` and ` 1` are equal), text as is."""
    text = cell.strip()
    try:
        return str(int(text))
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number.is_integer():
        return str(int(number))
    return repr(number)


def _rows(raw: bytes, shown: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    if b"\x00" in raw[:8192]:
        raise UsageError(f"{shown}: not a CSV file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{shown}: not a UTF-8 CSV file") from None
    try:
        table = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error as exc:
        raise UsageError(f"{shown}: cannot parse as CSV: {exc}") from None
    if not table:
        return [], []
    header = [column.strip() for column in table[0]]
    for number, row in enumerate(table[1:], 2):
        if len(row) != len(header):
            raise UsageError(
                f"{shown}: line {number} has {len(row)} fields, the header {len(header)}"
            )
    return header, table[1:]


def _merge(
    result: RetrainResult,
    dataset: DatasetConfig,
    label: str,
    old: bytes,
    files: list[tuple[str, bytes]],
) -> tuple[bytes, int]:
    """The dataset's bytes with the new rows appended; fills the counts of `result`."""
    columns, existing = _rows(old, dataset.path, dataset.delimiter)
    if not columns:
        raise UsageError(f"{dataset.path}: the dataset has no header row")
    seen = {tuple(_key(c) for c in row) for row in existing}
    label_at = columns.index(label) if label in columns else None
    result.rows_before = len(existing)
    if label_at is not None:
        result.label = label
        result.labels_before = _count(row[label_at] for row in existing)
    # every file is checked before anything is merged: one bad file refuses the batch
    parsed: list[tuple[str, list[list[str]], list[int]]] = []
    for shown, raw in files:
        header, rows = _rows(raw, shown, dataset.delimiter)
        if not header and not rows:
            parsed.append((shown, [], []))
            continue
        missing = [c for c in columns if c not in header]
        if missing:
            raise UsageError(
                f"{shown}: its columns do not match {dataset.path}: missing "
                + ", ".join(missing[:10])
                + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""),
                hint=f"a new file needs every column of the dataset: {', '.join(columns[:5])}, …",
            )
        extra = [c for c in header if c not in columns]
        result.dropped_columns += [c for c in extra if c not in result.dropped_columns]
        order = [header.index(c) for c in columns]
        parsed.append((shown, rows, order))

    new: list[list[str]] = []
    batch: set[tuple[str, ...]] = set()
    for shown, rows, order in parsed:
        entry = SourceFile(name=shown, rows=len(rows))
        for row in rows:
            values = [row[i].strip() for i in order]
            key = tuple(_key(v) for v in values)
            if key in seen:
                result.duplicates_existing += 1
            elif key in batch:
                result.duplicates_new += 1
            else:
                batch.add(key)
                new.append(values)
                entry.added += 1
                continue
            entry.duplicates += 1
        result.files.append(entry)
    return _append(old, new, dataset.delimiter, result, label_at), len(new)


def _append(
    old: bytes, new: list[list[str]], delimiter: str, result: RetrainResult, label_at: int | None
) -> bytes:
    result.rows_added = len(new)
    if label_at is not None:
        result.labels_added = _count(row[label_at] for row in new)
    if not new:
        return old
    eol = "\r\n" if b"\r\n" in old.split(b"\n", 1)[0] + b"\n" else "\n"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    writer.writerows(new)
    head = old if old.endswith(b"\n") else old + eol.encode()
    return head + out.getvalue().encode("utf-8")


def _count(values: Any) -> dict[str, int]:
    counts = Counter(_key(v) for v in values)

    def order(key: str) -> tuple[int, float, str]:
        try:
            return (0, float(key), key)
        except ValueError:
            return (1, 0.0, key)

    return {key: counts[key] for key in sorted(counts, key=order)}


def _md5(content: bytes) -> str:
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def _validate(worktree: Path, cfg: Config, name: str) -> ValidationResult:
    from mlci.validate import data

    return data.validate(worktree, cfg, names=[name])


# ---------------------------------------------------------------- the pull request


def _title(result: RetrainResult) -> str:
    return f"mlci retrain: {result.rows_added} new rows for {result.dataset}"


def _commit_message(result: RetrainResult) -> str:
    return (
        f"{_title(result)}\n\n"
        f"{result.path}: {result.rows_before} -> {result.rows_after} rows "
        f"(md5 {result.md5_before[:8]} -> {result.md5_after[:8]}), "
        f"from {len(result.files)} file(s) of {result.source}.\n"
    )


def pull_body(result: RetrainResult) -> str:
    """The data diff as markdown; every name and value from the data is escaped."""
    dropped = result.duplicates_existing + result.duplicates_new
    lines = [
        MARKER,
        f"## {safe.inline(_title(result))}",
        "",
        f"New labelled data from {safe.code(result.source)} merged into "
        f"{safe.code(result.path)} (appended; exact duplicates dropped).",
        "",
        "| | rows |",
        "|---|---:|",
        f"| before | {result.rows_before} |",
        f"| added | {result.rows_added} |",
        f"| duplicates dropped | {dropped} ({result.duplicates_existing} already in the dataset, "
        f"{result.duplicates_new} repeated in the new data) |",
        f"| after | {result.rows_after} |",
        "",
        "| | before | after |",
        "|---|---|---|",
        f"| md5 of {safe.code(result.path, table=True)} | {safe.code(result.md5_before or '—', table=True)} "
        f"| {safe.code(result.md5_after or '—', table=True)} |",
    ]
    if result.out_md5_after:
        lines.append(
            f"| {safe.code(result.out, table=True)} in {safe.code(result.dvcfile, table=True)} "
            f"| {safe.code(result.out_md5_before or '—', table=True)} "
            f"| {safe.code(result.out_md5_after, table=True)} |"
        )
    if result.label:
        lines += [
            "",
            f"Per {safe.code(result.label)}:",
            "",
            "| label | before | added | after |",
            "|---|---:|---:|---:|",
        ]
        for key in _count_keys(result):
            before = result.labels_before.get(key, 0)
            added = result.labels_added.get(key, 0)
            lines.append(f"| {safe.cell(key)} | {before} | {added} | {before + added} |")
    if result.dropped_columns:
        names = ", ".join(safe.code(c) for c in result.dropped_columns[:20])
        lines += ["", f"Columns not in the dataset, dropped: {names}"]
    shown = result.files[:MAX_FILES_SHOWN]
    table = ["| file | rows | added | duplicates |", "|---|---:|---:|---:|"]
    table += [f"| {safe.cell(f.name)} | {f.rows} | {f.added} | {f.duplicates} |" for f in shown]
    if len(result.files) > len(shown):
        table.append(f"| … {len(result.files) - len(shown)} more | | | |")
    lines += ["", safe.details(f"{len(result.files)} new data file(s)", "\n".join(table))]
    if result.validation is not None:
        verdict = "passed" if result.validation.success else "failed"
        lines += [
            "",
            f"Validation ({safe.code(result.path)}, its expectation suite): {verdict}, "
            f"{safe.inline(result.validation.summary)}.",
        ]
    lines += [
        "",
        "This pull request's own CI re-runs the pipeline on the new data and reports the "
        "metric change against the base branch.",
    ]
    return "\n".join(lines) + "\n"


def _count_keys(result: RetrainResult) -> list[str]:
    keys = list(result.labels_before)
    keys += [k for k in result.labels_added if k not in result.labels_before]
    return keys
