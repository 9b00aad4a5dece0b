"""A run of `mlci retrain`: the dataset chosen, new data read and merged into it in a
temporary git worktree of HEAD, validated, `dvc add` + `dvc push`, committed on
`mlci/retrain-<dataset>-<md5>`, that branch pushed and proposed as a pull request.

The worktree's DVC cache is the repository's: the user's checkout, branch and files
are left exactly as they were. The branch name carries the merged data's md5, so a
run whose data is already on origin finds its branch and opens nothing new.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlci import ci, dvc, git
from mlci.config import Config, DatasetConfig
from mlci.errors import UsageError
from mlci.retrain.merge import md5, merge_rows
from mlci.retrain.proposal import commit_message, propose, pull_body
from mlci.retrain.result import RetrainResult, Step
from mlci.retrain.sources import read_sources

if TYPE_CHECKING:
    from mlci.validate.results import Result as ValidationResult

_BRANCH_PREFIX = "mlci/retrain-"


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
    where, files = read_sources(root, cfg, source)
    result = RetrainResult(status="nothing-new", dataset=name, path=dataset.path, source=where)
    if not files:
        result.message = f"nothing to retrain: no new data in {where}"
        return result
    remote = dvc.resolve_remote(root, cfg.dvc.remote, cfg.dvc.embedded_remote)
    result.base = head.branch or git.default_branch(root)
    head_sha = head.sha
    token = token or ci.context(env).token
    with tempfile.TemporaryDirectory(prefix="mlci-retrain-") as tmp:
        run = _Run(
            root=root,
            worktree=Path(tmp) / "worktree",
            cfg=cfg,
            dataset=dataset,
            result=result,
            head_sha=head_sha,
            remote=remote,
            push=push,
            dry_run=dry_run,
            token=token,
            env=env,
            step=step,
        )
        if dry_run:  # a copy of HEAD's files: not even .git/worktrees is written
            git.export_tree(root, head_sha, run.worktree)
            return run.merge(files, branch)
        git.add_worktree(root, run.worktree, head_sha)
        try:
            return run.merge(files, branch)
        finally:
            git.remove_worktree(root, run.worktree)


@dataclass
class _Run:
    root: Path
    worktree: Path  # a worktree (or, for a dry run, a copy) of HEAD
    cfg: Config
    dataset: DatasetConfig
    result: RetrainResult
    head_sha: str
    remote: dvc.Remote | None
    push: bool
    dry_run: bool
    token: str | None
    env: Mapping[str, str] | None
    step: Step

    def merge(self, files: list[tuple[str, bytes]], branch: str | None) -> RetrainResult:
        result, dataset, remote = self.result, self.dataset, self.remote
        tracked, data_file = self._checkout()
        old = data_file.read_bytes()
        merged, added = merge_rows(result, dataset, self.cfg.model.label, old, files)
        result.md5_before = md5(old)
        if not added:
            result.message = (
                f"nothing to retrain: the {sum(f.rows for f in result.files)} rows of "
                f"{len(result.files)} file(s) in {result.source} are all in {dataset.path} already"
            )
            return result
        result.md5_after = md5(merged)
        result.branch = branch or f"{_BRANCH_PREFIX}{result.dataset}-{result.md5_after[:8]}"
        # Actions: the token, the bot's identity
        auth = ci.git_env(self.root, token=self.token, env=self.env)
        if self.push and not self.dry_run:
            if remote is None:
                raise UsageError(
                    "no DVC remote to push the new data to",
                    hint="configure one (dvc remote add -d NAME URL) or [tool.mlci.dvc] embedded_remote",
                )
            on_origin = git.remote_branch(self.root, result.branch, env=auth)
            if on_origin is not None:  # this very data was merged, validated and pushed before
                result.commit = on_origin
                result.body = pull_body(result)
                return self._propose(pushed=False)
        data_file.write_bytes(merged)

        self.step(f"validating {dataset.path}: {result.rows_after} rows, suite '{dataset.suite}'")
        result.validation = _validate(self.worktree, self.cfg, result.dataset)
        result.body = pull_body(result)
        if not result.validation.success:
            result.status = "invalid"
            result.message = (
                f"the merged {dataset.path} fails its expectation suite '{dataset.suite}': "
                "nothing committed or pushed"
            )
            return result
        if self.dry_run:
            result.status = "dry-run"
            result.message = (
                f"dry run: {result.rows_added} new rows for {dataset.path}; nothing written"
            )
            return result

        pushing = f", dvc push to '{remote.name}'" if self.push and remote else ""
        self.step(f"dvc add {tracked.out}{pushing}")
        result.pushed_objects = dvc.add_and_push(
            self.worktree, tracked.out, root=self.root, remote=remote if self.push else None
        )
        after = dvc.tracked_out(self.worktree, dataset.path)
        result.out_md5_after = after.md5 if after else ""
        result.body = pull_body(result)
        paths = [tracked.dvcfile]
        ignore = (Path(tracked.out).parent / ".gitignore").as_posix().removeprefix("./")
        if (self.worktree / ignore).is_file():
            paths.append(ignore)
        result.commit = git.commit_paths(self.worktree, paths, commit_message(result), env=auth)
        git.set_branch(self.root, result.branch, result.commit)
        if not self.push:
            result.status = "committed"
            result.message = (
                f"committed {result.rows_added} new rows of {dataset.path} on {result.branch} "
                "(not pushed: no pull request)"
            )
            return result
        self.step(f"git push origin {result.branch}")
        git.push_branch(self.root, result.branch, env=auth)
        return self._propose(pushed=True)

    def _checkout(self) -> tuple[dvc.TrackedOut, Path]:
        """The DVC-tracked folder or file holding the dataset, as of HEAD, into the worktree."""
        result, dataset = self.result, self.dataset
        tracked = dvc.tracked_out(self.worktree, dataset.path)
        if tracked is None:
            raise UsageError(
                f"dataset '{result.dataset}': {dataset.path} is not tracked by a .dvc file",
                hint=f"track it with `dvc add {dataset.path}` and commit the .dvc file",
            )
        result.dvcfile, result.out = tracked.dvcfile, tracked.out
        result.out_md5_before = tracked.md5
        self.step(f"reading {tracked.out} as of {self.head_sha[:8]} ({tracked.dvcfile})")
        target = self.worktree / tracked.out
        target.parent.mkdir(parents=True, exist_ok=True)
        dvc.export_output(self.root, self.remote, self.head_sha, tracked.out, target.parent)
        data_file = self.worktree / dataset.path
        if not data_file.is_file():
            raise UsageError(f"dataset '{result.dataset}': {dataset.path} is not in {tracked.out}")
        return tracked, data_file

    def _propose(self, *, pushed: bool) -> RetrainResult:
        return propose(self.result, token=self.token, env=self.env, step=self.step, pushed=pushed)


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


def _validate(worktree: Path, cfg: Config, name: str) -> ValidationResult:
    from mlci.validate import data

    return data.validate(worktree, cfg, names=[name])
