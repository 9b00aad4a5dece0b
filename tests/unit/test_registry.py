"""The git-tag model registry: GTO's grammar, state, operations, and `gto show --json` parity."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlci import registry
from mlci.config import ReleaseConfig
from mlci.errors import ServiceError, UsageError
from tests.conftest import commit_all, git

GTO = Path(sys.executable).parent / "gto"
DVC_YAML = """\
artifacts:
  digits:
    type: model
    path: models/digits
    desc: handwritten digits
    labels: [vision]
  alpha:
    type: model
    path: models/alpha
  beta:
    type: model
    path: models/beta
"""
CFG = ReleaseConfig()  # dev, staging, prod; prod protected
needs_gto = pytest.mark.skipif(not GTO.exists(), reason="gto is not installed (extra: registry)")


# --- helpers -------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "dvc.yaml").write_text(DVC_YAML)
    commit_all(path, "declare the artifacts")
    return path


def new_commit(repo: Path, text: str) -> str:
    (repo / "model.txt").write_text(text)
    return commit_all(repo, f"model {text}")


def raw_tag(repo: Path, tag: str, rev: str = "HEAD", *, date: int | None = None) -> None:
    """An annotated tag written by hand (as GTO or a person would), optionally dated."""
    env = dict(os.environ)
    if date is not None:
        env["GIT_COMMITTER_DATE"] = f"{date} +0000"
    subprocess.run(
        ["git", "tag", "-a", "-m", f"by hand: {tag}", tag, f"{rev}^{{commit}}"],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )


def tag_message(repo: Path, tag: str) -> str:
    return git(repo, "for-each-ref", "--format=%(contents)", f"refs/tags/{tag}")


def tag_type(repo: Path, tag: str) -> str:
    return git(repo, "cat-file", "-t", tag)


def gto_show(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [str(GTO), "show", *args, "--json"], cwd=repo, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


# --- grammar -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "name", "action", "version", "stage", "counter"),
    [
        ("digits@v1.2.3", "digits", "register", "v1.2.3", None, None),
        ("digits@v1.2.3!", "digits", "deregister", "v1.2.3", None, None),
        ("digits#prod#3", "digits", "assign", None, "prod", 3),
        ("digits#prod!#4", "digits", "unassign", None, "prod", 4),
        ("digits@deprecated", "digits", "deprecate", None, None, None),
        ("digits@deprecated#7", "digits", "deprecate", None, None, 7),
        ("digits@v1.0.0#5", "digits", "register", "v1.0.0", None, 5),
        ("digits@v1.0.0-rc.1+build.5", "digits", "register", "v1.0.0-rc.1+build.5", None, None),
        ("models=digits@v1.0.0", "models:digits", "register", "v1.0.0", None, None),
        ("path/to.x=digits#prod#1", "path/to.x:digits", "assign", None, "prod", 1),
        ("team/digits_2@v0.0.1", "team/digits_2", "register", "v0.0.1", None, None),
        ("digits#prod", "digits", "assign", None, "prod", None),  # gto assign --simple
        ("refs/tags/digits@v1.0.0", "digits", "register", "v1.0.0", None, None),
    ],
)
def test_parse_tag_reads_gto_grammar(
    tag: str, name: str, action: str, version: str | None, stage: str | None, counter: int | None
) -> None:
    info = registry.parse_tag(tag)
    assert info is not None
    assert (info.name, info.action, info.version, info.stage, info.counter) == (
        name,
        action,
        version,
        stage,
        counter,
    )


@pytest.mark.parametrize(
    "tag",
    ["v1.0.0", "release-1", "digits@1.2", "digits@v01.0.0", "-digits@v1.0.0", "digits@created"],
)
def test_parse_tag_ignores_other_tags(tag: str) -> None:
    assert registry.parse_tag(tag) is None


def test_tag_info_event_names_match_gto_check_ref() -> None:
    events = [
        registry.check_tag(t).event
        for t in ("a@v1.0.0", "a@v1.0.0!", "a#dev#1", "a#dev!#2", "a@deprecated")
    ]
    assert events == ["registration", "deregistration", "assignment", "unassignment", "deprecation"]


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("digits@1.2", "version must be vX.Y.Z"),
        ("digits@v1.2", "version must be vX.Y.Z"),
        ("digits#prod", "stage tags end with #N"),
        ("digits#prod!", "stage tags end with #N"),
        ("digits#prod#x", "counter after '#' must be a number"),
        ("digits#prod#1#2", "too many '#'"),
        ("digits#-prod#1", "the stage '-prod'"),
        ("-digits@v1.0.0", "must start and end with a letter or digit"),
        ("models:digits@v1.0.0", "written dir=name"),
        ("digits@v1.0.0!!", "a single '!'"),
        ("digits@created", "records no registry event"),
        ("release-1", "no '@' or '#'"),
    ],
)
def test_check_tag_says_why(tag: str, reason: str) -> None:
    with pytest.raises(UsageError) as caught:
        registry.check_tag(tag)
    assert reason in caught.value.message, caught.value.message


def test_check_tag_lenient_accepts_gto_simple_stage_tags() -> None:
    info = registry.check_tag("digits#prod", strict=False)
    assert (info.action, info.stage, info.counter) == ("assign", "prod", None)
    assert registry.check_tag("refs/tags/digits#prod#2").counter == 2


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


# --- parity with gto show --json --------------------------------------------------


@needs_gto
def test_show_equals_gto_show(repo: Path) -> None:
    for text in ("1", "2", "3", "4"):
        new_commit(repo, text)
        registry.register(repo, "digits", bump="minor" if text == "3" else "patch")
    versions = ["v0.0.1", "v0.0.2", "v0.1.0", "v0.1.1"]
    for version in versions[:3]:
        for stage in ("dev", "staging"):
            registry.promote(repo, "digits", version, stage, cfg=CFG)
    registry.promote(repo, "digits", "v0.0.2", "prod", cfg=CFG)
    registry.promote(repo, "digits", "v0.1.0", "prod", cfg=CFG)
    registry.rollback(repo, "digits", "prod")
    registry.promote(repo, "digits", "v0.1.1", "dev", cfg=CFG, force=True)
    # GTO's other events, and ties within one second (GTO breaks them by tag name)
    raw_tag(repo, "digits#staging!#20", "digits@v0.1.0", date=2_000_000_000)
    raw_tag(repo, "digits@v0.1.1!", "digits@v0.1.1", date=2_000_000_001)
    raw_tag(repo, "digits#dev#21", "digits@v0.0.1", date=2_000_000_002)
    raw_tag(repo, "digits#dev#22", "digits@v0.0.2", date=2_000_000_002)
    git(repo, "tag", "digits#prod#90", "digits@v0.0.1")  # lightweight: ignored
    registry.register(repo, "alpha", ref="digits@v0.0.1")
    registry.promote(repo, "alpha", "v0.0.1", "dev", cfg=CFG)
    raw_tag(repo, "alpha@deprecated", date=2_000_000_005)
    registry.register(repo, "beta")
    raw_tag(repo, "beta#qa#1", "HEAD~2", date=2_000_000_006)  # a stage on an unregistered commit
    raw_tag(repo, "tools=enc@v1.0.0-rc.1", "HEAD~1", date=2_000_000_007)

    reg = registry.load(repo)
    assert json.dumps(reg.show(), indent=4) == gto_show(repo)
    assert json.dumps(reg.show("digits"), indent=4) == gto_show(repo, "digits")
    assert json.dumps(reg.show("beta"), indent=4) == gto_show(repo, "beta")
    assert json.dumps(reg.show("digits#dev"), indent=4) == gto_show(repo, "digits#dev")
    # and mlci's own view agrees with what gto shows
    shown = reg.show()
    art = reg.artifact("digits")
    assert shown["digits"]["version"] == art.latest == "v0.1.0"
    assert {s: art.stages[s].current for s in ("dev", "staging", "prod")} == {
        s: shown["digits"]["stage"][s] for s in ("dev", "staging", "prod")
    }
    assert "alpha" not in shown and reg.artifact("alpha").deprecated


@needs_gto
def test_show_honours_gto_config_stages(repo: Path) -> None:
    registry.register(repo, "digits")
    registry.promote(repo, "digits", "v0.0.1", "dev", cfg=CFG)
    (repo / ".gto").write_text("stages: [dev, staging, prod]\n")
    reg = registry.load(repo)
    assert reg.show()["digits"]["stage"] == {"dev": "v0.0.1", "staging": None, "prod": None}
    assert json.dumps(reg.show(), indent=4) == gto_show(repo)
