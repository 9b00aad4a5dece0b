"""`mlci release --auto`: on a push to main, register and release each model that changed.

The bump comes from `--bump`, else the commit's `Release-Bump` trailer, else the
merged pull request's label, else patch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlci import ci, config, git, registry, snapshot, workspace
from mlci.errors import UsageError
from mlci.release.deploy import release
from mlci.release.destinations import connect_github
from mlci.release.results import ReleaseResult

__all__ = ["auto", "choose_bump"]


_BUMPS = ("major", "minor", "patch")


def _trailer_bump(root: Path, sha: str) -> str | None:
    """`Release-Bump: major|minor|patch`, a trailer of the commit message."""
    value = git.trailer(root, sha, "Release-Bump").lower()
    return value if value in _BUMPS else None


def _label_bump(labels: list[str], prefix: str) -> str | None:
    """The largest bump among labels PREFIX{major,minor,patch}."""
    names = {label.lower() for label in labels}
    return next((bump for bump in _BUMPS if f"{prefix}{bump}".lower() in names), None)


def choose_bump(
    root: Path,
    cfg: config.Config,
    sha: str,
    *,
    github_client: Any,
    step: Callable[[str], None] = lambda _: None,
) -> tuple[str, str]:
    """(bump, where it came from): the commit's trailer, else its merged PR's label, else patch.

    The trailer wins: it is in git, written for this very commit, and read the
    same offline. Labels are asked of GitHub only when there is no trailer.
    """
    if bump := _trailer_bump(root, sha):
        return bump, "the commit's Release-Bump trailer"
    prefix = cfg.release.bump_label_prefix
    if not prefix:
        return "patch", "the default"
    if github_client is None:
        step("no GitHub token or GITHUB_REPOSITORY: bump from the Release-Bump trailer only")
        return "patch", "the default (PR labels not read: no GitHub token)"
    found = github_client.merged_pull_labels(sha)
    if found is None:
        return "patch", f"the default (no merged pull request for {sha[:8]})"
    number, labels = found
    if bump := _label_bump(labels, prefix):
        return bump, f"the label {prefix}{bump} of #{number}"
    return "patch", f"the default (#{number} has no {prefix}major/minor/patch label)"


def auto(
    root: Path,
    cfg: config.Config,
    *,
    bump: str | None = None,
    push: bool = False,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> list[ReleaseResult]:
    """On a push to main: register and release each model whose file changed since its latest version.

    Only when the gates pass. The bump: `bump`, else `choose_bump` (trailer, PR
    label, patch). The tag is made and released in this same job: a tag pushed
    with a workflow's GITHUB_TOKEN starts no new workflow run.
    """
    from mlci.errors import GateFailed
    from mlci.validate import model as gates

    sha = git.resolve(root, "HEAD")
    if sha is None:
        raise UsageError("no commit to release")
    declared = {
        n: a for n, a in workspace.load_project(root).artifacts.items() if a.get("type") == "model"
    }
    if not declared:
        raise UsageError("dvc.yaml declares no artifact of type model: nothing to release")
    head = snapshot.take(root, "HEAD", sha)
    state = registry.load(root)
    done: list[ReleaseResult] = []
    chosen: tuple[str, str] | None = (bump, "--bump") if bump else None
    for name, meta in declared.items():
        path = str(meta.get("path", ""))
        current = head.data.get(path)
        if current is None or not current.hash:
            raise UsageError(
                f"{path} (artifact {name}) has no hash in dvc.lock at HEAD: run the pipeline first"
            )
        latest = None
        if name in state.artifacts and (number := state.artifacts[name].latest):
            latest = state.artifacts[name].version(number)
        if latest is not None:
            before = snapshot.take(root, latest.tag, latest.commit).data.get(path)
            if before is not None and before.hash == current.hash:
                step(f"{name}: unchanged since {latest.version}, nothing to release")
                continue
        verdict = gates.validate(
            root, cfg, base=latest.commit if latest else None, head="HEAD", checks=False
        )
        if not verdict.success:
            failed = ", ".join(c.name for c in verdict.errors)
            raise GateFailed(f"{name}: gates failed ({failed}): no version registered")
        if chosen is None:  # once, and only when a model is due: it may ask GitHub
            github_client = connect_github(token, ci.context(env))
            chosen = choose_bump(root, cfg, sha, github_client=github_client, step=step)
        tag = registry.register(root, name, bump=chosen[0], ref=sha, push=push)  # type: ignore[arg-type]
        step(f"registered {tag} ({chosen[0]} bump, from {chosen[1]})")
        result = release(root, cfg, tag, token=token, env=env, step=step)
        result.notes.append(f"{chosen[0]} bump, from {chosen[1]}")
        done.append(result)
    return done
