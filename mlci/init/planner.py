"""`mlci init`: CI workflows, `[tool.mlci]` and a gx/ skeleton for a git + DVC repository.

Every file is planned first (created, updated, unchanged, or in conflict: it
differs from what init would write), and written only when nothing conflicts
or `force` is given, so a refused run leaves the repository as it was and a
second run with the same options plans no change. This module finds the project,
checks the options, pins the reusable workflows, plans every file and writes them.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from mlci import __version__, config, git
from mlci.errors import ServiceError, UsageError
from mlci.init.changes import FileChange, InitPlan, read_text, whole_file
from mlci.init.datasets import Dataset, read_dataset
from mlci.init.gx import GX_DIR, skeleton, starter_suite
from mlci.init.pyproject import config_tables, merge_pyproject, validated
from mlci.init.workflows import WORKFLOWS_DIR, workflows
from mlci.workspace import load_project

DEFAULT_REPO = "mlci-dev/mlci"
# the release tag of this mlci; `--ref` takes a commit SHA to pin by hash
DEFAULT_REF = f"v{__version__}"
_DEFAULT_RUNNER = ("ubuntu-latest",)


def init(
    path: Path | None = None,
    *,
    data: Sequence[Path] = (),
    repo: str | None = None,
    ref: str | None = None,
    runner: Sequence[str] = (),
    mlci_version: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> InitPlan:
    """Plan the files; unless `dry_run`, write them (refusing conflicts without `force`)."""
    start = (path or Path.cwd()).resolve()
    repo = _checked("--repo", repo or DEFAULT_REPO, r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
    ref = _checked("--ref", ref or DEFAULT_REF, r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
    if ".." in ref or ref.endswith((".", "/", ".lock")):
        raise UsageError(f"--ref: not a valid git ref: {ref!r}")
    labels = [_checked("--runner", label, r"[A-Za-z0-9_][A-Za-z0-9._-]*") for label in runner]
    if mlci_version is not None:
        _checked("--mlci-version", mlci_version, r"[A-Za-z0-9._+/~=-]+")

    root, project = _locate(start)
    shown_project = project.relative_to(root).as_posix()
    prefix = "" if shown_project == "." else f"{shown_project}/"
    datasets = [read_dataset(start, project, file) for file in data]

    pyproject_path = project / "pyproject.toml"
    old_pyproject = read_text(pyproject_path)
    tables = config_tables(project, datasets)
    pyproject = merge_pyproject(f"{prefix}pyproject.toml", old_pyproject, tables)
    settings = validated(f"{prefix}pyproject.toml", pyproject.text)

    result = InitPlan(root=root, project=project)
    pinned, unpinned_why = _pin(repo, ref)
    files = workflows(
        repo=repo,
        ref=pinned,
        runner=labels or list(_DEFAULT_RUNNER),
        mlci_version=mlci_version,
        branch=_default_branch(root),
        working_directory=shown_project,
        validate_data=bool(settings.data),
    )
    for name, text in files.items():
        result.changes.append(whole_file(root, f"{WORKFLOWS_DIR}/{name}", text))
    result.changes.append(pyproject.change(old_pyproject))
    result.changes.append(_gitignore(root, f"{prefix}.gitignore", settings.state_dir))
    # the gx/ project: kept as it is when there is one already
    for name, text in skeleton(project.name).items():
        change = whole_file(root, f"{prefix}{GX_DIR}/{name}", text)
        if change.action == "conflict":
            change = FileChange(change.path, "unchanged", change.old, change.old or "")
        result.changes.append(change)
    for dataset in datasets:
        suite = starter_suite(dataset.frame, dataset.name, dataset.shown)
        text = json.dumps(suite, indent=2, ensure_ascii=False) + "\n"
        result.changes.append(
            whole_file(root, f"{prefix}{GX_DIR}/expectations/{dataset.name}.json", text)
        )
    result.next_steps = _next_steps(result, settings, datasets, ref=ref, unpinned=unpinned_why)
    if not dry_run:
        write(result, force=force)
    return result


def write(planned: InitPlan, *, force: bool = False) -> None:
    planned.check(force=force)
    for change in planned.pending:
        target = planned.root / change.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(change.new.encode("utf-8"))
    planned.written = True


def _pin(repo: str, ref: str) -> tuple[str, str]:
    """`ref` as the workflows write it: `SHA # ref` when the tag or branch resolves, else
    `ref` itself, with why it could not be pinned.

    A commit SHA is taken as it is. Otherwise git asks the server that hosts `repo`
    ($GITHUB_SERVER_URL, else https://github.com; bounded in time) for the commit.
    """
    if re.fullmatch(r"[0-9a-f]{40}", ref):
        return ref, ""
    server = (os.environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    try:
        sha = git.remote_ref(f"{server}/{repo}.git", ref)
    except ServiceError as exc:
        return ref, exc.message
    return f"{sha} # {ref}", ""


def _checked(option: str, value: str, pattern: str) -> str:
    if not re.fullmatch(pattern, value):
        raise UsageError(f"{option}: not a valid value: {value!r}")
    return value


def _locate(start: Path) -> tuple[Path, Path]:
    """The git top level and the DVC project folder (start, or the nearest one above it)."""
    if not start.is_dir():
        raise UsageError(f"no such directory: {start}")
    root = git.toplevel(start).resolve()
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            project = folder
            break
        if folder == root:
            raise UsageError(
                f"not a DVC repository: {start}",
                hint="mlci init sets up CI for a DVC pipeline: run `dvc init` first",
            )
    else:  # pragma: no cover - the git top level is always among the parents
        raise UsageError(f"not a DVC repository: {start}")
    if not project.is_relative_to(root):
        raise UsageError(f"the DVC project {project} is outside the git repository {root}")
    load_project(project)  # no dvc.yaml, or a broken one: exit 2 naming it
    return root, project


def _gitignore(root: Path, shown: str, state_dir: str) -> FileChange:
    old = read_text(root / shown)
    entry = state_dir.strip("/")
    ignored = {entry, f"{entry}/", f"/{entry}", f"/{entry}/", f"{entry}/*", f"/{entry}/*"}
    if old is not None and any(line.strip() in ignored for line in old.splitlines()):
        return FileChange(shown, "unchanged", old, old)
    base = old or ""
    if base and not base.endswith("\n"):
        base += "\n"
    new = f"{base}# mlci's state: run records, the MLflow database, the embedded DVC remote\n/{entry}/\n"
    return FileChange(shown, "create" if old is None else "update", old, new, f"/{entry}/ added")


def _default_branch(root: Path) -> str:
    branch = git.default_branch(root)
    if (
        branch == "main"
        and git.resolve(root, "refs/heads/main") is None
        and git.resolve(root, "refs/heads/master") is not None
    ):
        return "master"
    return branch


# ---------------------------------------------------------------- next steps


def _dvc_remote(project: Path) -> str | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read([project / ".dvc" / "config", project / ".dvc" / "config.local"])
    except configparser.Error:
        return None
    return parser.get("core", "remote", fallback=None)


def _next_steps(
    result: InitPlan,
    settings: config.Config,
    datasets: list[Dataset],
    *,
    ref: str,
    unpinned: str,
) -> list[str]:
    steps = []
    written = [c.path for c in result.pending]
    if written:
        steps.append(
            f"review and commit: git add {' '.join(sorted(written))} && git commit -m 'CI with mlci'"
        )
    if not _dvc_remote(result.project):
        steps.append(
            "give CI a DVC remote it can reach (`dvc remote add -d storage s3://bucket/path`, "
            "committed; or the DVC_REMOTE_URL secret), with credentials as secrets "
            "(see the comments in .github/workflows/mlci-pr.yml)"
        )
    if not (result.project / "dvc.lock").is_file():
        steps.append(
            "run the pipeline (`mlci run`) and commit dvc.lock, so pull requests have a baseline"
        )
    if not settings.gates:
        steps.append(
            "add gates on your metrics in [tool.mlci.gates] (see the comment in pyproject.toml)"
        )
    for dataset in datasets:
        steps.append(
            f"check the starter suite: `mlci validate data {dataset.name}`; widen its ranges "
            f"and value sets in gx/expectations/{dataset.name}.json where new data may differ"
        )
    if unpinned:
        steps.append(
            f"pin the reusable workflows by commit: `mlci init --force --ref <SHA of {ref}>` "
            f"(zizmor's unpinned-uses asks for a SHA; {ref} could not be resolved: {unpinned})"
        )
    steps.append(
        "mlci-retrain.yml opens pull requests: give it a PR_TOKEN secret (a GitHub App or "
        "fine-grained token) so their CI runs; protect the `prod` environment with reviewers"
    )
    return steps
