"""The git-tag model registry: register, promote, rollback, and the state read back from the tags.

GTO's tag grammar is checked in test_registry_tags.py, `gto show --json` parity in
test_registry_gto_parity.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mlci import registry
from mlci.config import ReleaseConfig
from mlci.errors import ServiceError, UsageError
from tests.conftest import commit_all, git
from tests.unit.registry_helpers import CFG, new_commit, raw_tag
from tests.unit.registry_helpers import repo as repo_fixture  # noqa: F401

# --- helpers -------------------------------------------------------------------


def tag_message(repo: Path, tag: str) -> str:
    return git(repo, "for-each-ref", "--format=%(contents)", f"refs/tags/{tag}")


def tag_type(repo: Path, tag: str) -> str:
    return git(repo, "cat-file", "-t", tag)


# --- operations and state ---------------------------------------------------------


def test_register_creates_annotated_tags_and_bumps(repo: Path) -> None:
    first = registry.register(repo, "digits")
    assert first == "digits@v0.0.1"
    assert tag_type(repo, first) == "tag"  # annotated
    assert tag_message(repo, first) == "Registering artifact digits version v0.0.1"
    new_commit(repo, "2")
    assert registry.register(repo, "digits", bump="minor") == "digits@v0.1.0"
    new_commit(repo, "3")
    assert registry.register(repo, "digits", bump="major", message="big one") == "digits@v1.0.0"
    assert tag_message(repo, "digits@v1.0.0") == "big one"
    new_commit(repo, "4")
    assert registry.register(repo, "digits", version="v3.0.0-rc.1") == "digits@v3.0.0-rc.1"
    # first versions of the other bumps
    assert registry.register(repo, "alpha", bump="minor") == "alpha@v0.1.0"
    assert registry.register(repo, "beta", bump="major") == "beta@v1.0.0"

    art = registry.load(repo).artifact("digits")
    assert [v.version for v in art.versions] == ["v3.0.0-rc.1", "v1.0.0", "v0.1.0", "v0.0.1"]
    assert art.latest == "v3.0.0-rc.1"
    assert art.meta == {
        "type": "model",
        "path": "models/digits",
        "desc": "handwritten digits",
        "labels": ["vision"],
    }
    assert art.declared and not art.deprecated
    first_version = art.version("v0.0.1")
    assert first_version is not None
    assert first_version.tag == "digits@v0.0.1"
    assert first_version.author == "Test Author"
    assert first_version.commit == git(repo, "rev-list", "-n1", "digits@v0.0.1")
    assert not first_version.deregistered


def test_register_refusals(repo: Path) -> None:
    first_commit = git(repo, "rev-parse", "HEAD")
    registry.register(repo, "digits", version="v1.0.0")
    with pytest.raises(UsageError, match=rf"commit {first_commit[:7]} has digits v1.0.0 already"):
        registry.register(repo, "digits")
    new_commit(repo, "2")
    with pytest.raises(
        UsageError, match=rf"digits v1.0.0 is already registered on commit {first_commit[:7]}"
    ):
        registry.register(repo, "digits", version="v1.0.0")
    with pytest.raises(UsageError, match=re.escape("version must be vX.Y.Z")):
        registry.register(repo, "digits", version="1.1.0")
    with pytest.raises(UsageError, match="unknown artifact 'nope'"):
        registry.register(repo, "nope")
    with pytest.raises(UsageError, match="invalid artifact name"):
        registry.register(repo, "bad name")
    with pytest.raises(UsageError, match="unknown revision"):
        registry.register(repo, "digits", ref="no-such-branch")


def test_an_artifact_known_only_from_tags_can_be_registered(repo: Path) -> None:
    raw_tag(repo, "legacy@v2.0.0")
    new_commit(repo, "2")
    assert registry.register(repo, "legacy") == "legacy@v2.0.1"
    assert registry.load(repo).artifact("legacy").declared is False


def test_lightweight_tags_are_ignored_but_their_counters_count(repo: Path) -> None:
    registry.register(repo, "digits")
    git(repo, "tag", "digits@v9.0.0")  # lightweight: not a version
    git(repo, "tag", "digits#prod#41")  # lightweight: no stage, but GTO counts its counter
    reg = registry.load(repo)
    art = reg.artifact("digits")
    assert [v.version for v in art.versions] == ["v0.0.1"]
    assert art.stages == {}
    assert registry.promote(repo, "digits", "v0.0.1", "dev", cfg=CFG) == "digits#dev#42"


def test_promote_policy_and_counters(repo: Path) -> None:
    registry.register(repo, "digits")
    assert registry.promote(repo, "digits", "v0.0.1", "dev", cfg=CFG) == "digits#dev#1"
    assert tag_type(repo, "digits#dev#1") == "tag"
    assert (
        tag_message(repo, "digits#dev#1") == "Assigning stage dev to artifact digits version v0.0.1"
    )
    with pytest.raises(UsageError, match="never been in staging"):
        registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG)
    assert registry.promote(repo, "digits", "v0.0.1", "staging", cfg=CFG) == "digits#staging#2"
    assert registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG) == "digits#prod#3"
    with pytest.raises(UsageError, match="in prod already"):
        registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG)
    assert registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG, force=True) == (
        "digits#prod#4"
    )

    new_commit(repo, "2")
    registry.register(repo, "digits")
    # --force skips the order of stages
    assert registry.promote(repo, "digits", "v0.0.2", "prod", cfg=CFG, force=True) == (
        "digits#prod#5"
    )
    with pytest.raises(UsageError, match="unknown stage 'qa'"):
        registry.promote(repo, "digits", "v0.0.2", "qa", cfg=CFG)
    with pytest.raises(UsageError, match=re.escape("has no version v7.0.0")):
        registry.promote(repo, "digits", "v7.0.0", "dev", cfg=CFG)
    with pytest.raises(UsageError, match="unknown artifact 'nope'"):
        registry.promote(repo, "nope", "v0.0.1", "dev", cfg=CFG)

    stages = registry.load(repo).artifact("digits").stages
    assert {name: s.current for name, s in stages.items()} == {
        "dev": "v0.0.1",
        "staging": "v0.0.1",
        "prod": "v0.0.2",  # promoted a second after v0.0.1: the newest assignment wins
    }
    assert [(e.action, e.version, e.counter) for e in stages["prod"].history] == [
        ("assign", "v0.0.1", 3),
        ("assign", "v0.0.1", 4),
        ("assign", "v0.0.2", 5),
    ]


def test_protected_stage_needs_a_commit_on_the_default_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    new_commit(repo, "feature work")
    registry.register(repo, "digits")
    for stage in ("dev", "staging"):
        registry.promote(repo, "digits", "v0.0.1", stage, cfg=CFG)
    with pytest.raises(UsageError, match=r"prod is protected: .* is not on main"):
        registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG)
    assert registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG, force=True)
    # once merged to main, the next version passes
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "feature")
    new_commit(repo, "on main")
    registry.register(repo, "digits")
    for stage in ("dev", "staging", "prod"):
        registry.promote(repo, "digits", "v0.0.2", stage, cfg=CFG)
    # a custom config: nothing protected
    open_cfg = ReleaseConfig(stages=["dev", "staging", "prod"], protected=[])
    git(repo, "checkout", "-q", "-b", "other")
    new_commit(repo, "unmerged")
    registry.register(repo, "digits")
    for stage in ("dev", "staging", "prod"):
        registry.promote(repo, "digits", "v0.0.3", stage, cfg=open_cfg)


def test_protected_stage_uses_origin_head(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "trunk", str(remote))
    git(repo, "branch", "-m", "main", "trunk")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "trunk")
    git(repo, "remote", "set-head", "origin", "trunk")
    new_commit(repo, "local only")  # not pushed: not on origin/trunk
    registry.register(repo, "digits")
    for stage in ("dev", "staging"):
        registry.promote(repo, "digits", "v0.0.1", stage, cfg=CFG)
    with pytest.raises(UsageError, match="is not on origin/trunk"):
        registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG)
    git(repo, "push", "-q", "origin", "trunk")
    git(repo, "fetch", "-q", "origin")
    assert registry.promote(repo, "digits", "v0.0.1", "prod", cfg=CFG, push=True)
    assert "digits#prod#3" in git(repo, "ls-remote", "--tags", "origin")


def test_push_failure_is_a_service_error(repo: Path) -> None:
    with pytest.raises(ServiceError, match=re.escape("git push origin digits@v0.0.1 failed")):
        registry.register(repo, "digits", push=True)
    assert tag_type(repo, "digits@v0.0.1") == "tag"  # the tag stays local


def test_in_actions_without_an_identity_the_bot_tags_and_pushes(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner: no git identity, a checkout without credentials, GITHUB_TOKEN set."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (Path(os.environ["HOME"]) / ".gitconfig").write_text("")
    with pytest.raises(UsageError, match="git needs an identity to write the tag"):
        registry.register(repo, "digits")  # outside Actions: the user is asked to set one

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_runner_token")
    tag = registry.register(repo, "digits", push=True)
    pushed = git(
        origin, "for-each-ref", "--format=%(objecttype) %(taggeremail)", f"refs/tags/{tag}"
    )
    assert pushed == "tag <41898282+github-actions[bot]@users.noreply.github.com>"


def test_deregister_and_unassign_are_honoured(repo: Path) -> None:
    for text in ("1", "2", "3"):
        new_commit(repo, text)
        registry.register(repo, "digits")
        version = f"v0.0.{text}"
        for stage in ("dev", "staging", "prod"):
            registry.promote(repo, "digits", version, stage, cfg=CFG)
    reg = registry.load(repo)
    assert reg.artifact("digits").stages["prod"].current == "v0.0.3"
    # GTO's forms, written as gto deprecate would: deregister v0.0.3, unassign dev of v0.0.2
    raw_tag(repo, "digits@v0.0.3!", "digits@v0.0.3", date=2_000_000_000)
    raw_tag(repo, "digits#dev!#10", "digits@v0.0.2", date=2_000_000_001)
    art = registry.load(repo).artifact("digits")
    assert art.version("v0.0.3").deregistered  # type: ignore[union-attr]
    assert art.latest == "v0.0.2"
    assert art.stages["prod"].current == "v0.0.2"  # the deregistered version left its stages
    assert art.stages["dev"].current == "v0.0.1"  # v0.0.2 was unassigned from dev
    assert art.stages["dev"].history[-1].action == "unassign"
    with pytest.raises(UsageError, match="deregistered"):
        registry.promote(repo, "digits", "v0.0.3", "dev", cfg=CFG)
    with pytest.raises(UsageError, match=re.escape("carried digits v0.0.3 already")):
        registry.register(repo, "digits", ref="digits@v0.0.3")
    # the next version does not reuse the deregistered one's number
    new_commit(repo, "4")
    assert registry.register(repo, "digits") == "digits@v0.0.4"


def test_rollback(repo: Path) -> None:
    for text in ("1", "2", "3"):
        new_commit(repo, text)
        registry.register(repo, "digits")
        for stage in ("dev", "staging", "prod"):
            registry.promote(repo, "digits", f"v0.0.{text}", stage, cfg=CFG)
    assert registry.load(repo).artifact("digits").stages["prod"].current == "v0.0.3"

    tag = registry.rollback(repo, "digits", "prod")
    assert tag == "digits#prod#10"
    assert tag_message(repo, tag) == (
        "Assigning stage prod to artifact digits version v0.0.2 (rollback of digits#prod#9)"
    )
    prod = registry.load(repo).artifact("digits").stages["prod"]
    assert prod.current == "v0.0.2"
    assert prod.history[-1].rollback_of == "digits#prod#9"
    assert git(repo, "rev-list", "-n1", tag) == git(repo, "rev-list", "-n1", "digits@v0.0.2")

    # a second rollback is a no-op that says so
    tags_before = git(repo, "tag", "-l")
    assert registry.rollback(repo, "digits", "prod") == tag
    assert git(repo, "tag", "-l") == tags_before

    # after a new promotion, a rollback returns to the version the rollback had put there
    registry.promote(repo, "digits", "v0.0.3", "prod", cfg=CFG, force=True)
    assert registry.rollback(repo, "digits", "prod") == "digits#prod#12"
    assert registry.load(repo).artifact("digits").stages["prod"].current == "v0.0.2"

    with pytest.raises(UsageError, match="no version in qa"):
        registry.rollback(repo, "digits", "qa")
    registry.register(repo, "alpha")
    registry.promote(repo, "alpha", "v0.0.1", "dev", cfg=CFG)
    with pytest.raises(UsageError, match="nothing to roll back to"):
        registry.rollback(repo, "alpha", "dev")


def test_rollback_skips_reassignments_of_the_current_version(repo: Path) -> None:
    new_commit(repo, "1")
    registry.register(repo, "digits")
    new_commit(repo, "2")
    registry.register(repo, "digits")
    registry.promote(repo, "digits", "v0.0.1", "dev", cfg=CFG)
    registry.promote(repo, "digits", "v0.0.2", "dev", cfg=CFG)
    registry.promote(repo, "digits", "v0.0.2", "dev", cfg=CFG, force=True)
    registry.rollback(repo, "digits", "dev")
    assert registry.load(repo).artifact("digits").stages["dev"].current == "v0.0.1"


def test_declared_artifacts_without_tags(repo: Path) -> None:
    reg = registry.load(repo)
    assert set(reg.artifacts) == {"digits", "alpha", "beta"}
    assert reg.artifact("alpha").versions == []
    assert reg.show() == {}  # as gto show: it does not read dvc.yaml
    assert reg.show(declared=True)["alpha"] == {
        "version": None,
        "stage": {},
        "registered": False,
        "active": True,
    }
    assert reg.show("alpha") == []
    with pytest.raises(UsageError, match="unknown artifact 'nope'"):
        reg.show("nope")


def test_monorepo_names(repo: Path) -> None:
    sub = repo / "sub"
    sub.mkdir()
    (sub / "dvc.yaml").write_text("artifacts:\n  enc:\n    type: model\n    path: enc.pt\n")
    commit_all(repo, "sub project")
    assert registry.register(repo, "sub:enc") == "sub=enc@v0.0.1"
    assert registry.promote(repo, "sub:enc", "v0.0.1", "dev", cfg=CFG) == "sub=enc#dev#1"
    art = registry.load(repo).artifact("sub:enc")
    assert art.meta == {"type": "model", "path": "enc.pt"}
    assert art.stages["dev"].current == "v0.0.1"
