"""The git-tag model registry: GTO's tag grammar, as read (parse_tag) and checked (check_tag)."""

from __future__ import annotations

import pytest

from mlci import registry
from mlci.errors import UsageError

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
