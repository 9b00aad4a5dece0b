"""Webhook events: the payloads the GitHub stand-in builds (`make_event`), checked against
GitHub's schemas (`validate_event`)."""

from __future__ import annotations

import pytest

from tests.github_standin import EventValidationError, make_event, validate_event
from tests.unit.test_github_standin import BASE, HEAD, REPO

# --------------------------------------------------------------------------- webhook events


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "reopened"),
        ("pull_request", "closed"),
        ("push", None),
        ("create", None),
        ("workflow_run", "completed"),
    ],
)
def test_make_event_builds_valid_payloads(event: str, action: str | None) -> None:
    payload = make_event(event, action, repo=REPO, number=7, head_sha=HEAD, base_sha=BASE)
    validate_event(event, payload)
    assert payload["repository"]["full_name"] == REPO
    if event == "pull_request":
        assert payload["pull_request"]["number"] == 7
        assert payload["pull_request"]["head"]["sha"] == HEAD


def test_make_event_overrides_are_merged_and_checked() -> None:
    payload = make_event("pull_request", "closed", merged=True, pull_request={"title": "Ship it"})
    assert payload["pull_request"]["merged"] is True
    assert payload["pull_request"]["title"] == "Ship it"
    with pytest.raises(EventValidationError, match=r"pull_request\.number"):
        make_event("pull_request", "opened", pull_request={"number": "seven"})


def test_validate_event_rejects_a_pull_request_without_number() -> None:
    payload = make_event("pull_request", "synchronize")
    del payload["pull_request"]["number"]
    with pytest.raises(EventValidationError, match="'number' is a required property"):
        validate_event("pull_request", payload)


def test_validate_event_rejects_unknown_events() -> None:
    with pytest.raises(EventValidationError, match="no schema"):
        validate_event("pull_request", {"action": "labeled"})
