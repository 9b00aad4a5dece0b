"""A side whose file the local DVC cache lacks is unknown: not a change, and not a removal."""

from __future__ import annotations

from mlci import diff
from mlci.snapshot import Snapshot

DVCLIVE = "results/train/params.yaml"  # DVCLive's params file, inside a cached output


def snapshots() -> tuple[Snapshot, Snapshot]:
    base = Snapshot(
        rev="main",
        sha="a" * 40,
        param_files={"params.yaml": {"lr": 0.1}, DVCLIVE: {"epochs": 8}, "gone.yaml": {"x": 1}},
        metrics={"eval.json": {"dice": 0.8}, "old.json": {"loss": 0.5}},
    )
    head = Snapshot(
        rev="feature",
        sha="b" * 40,
        param_files={"params.yaml": {"lr": 0.2}},
        metrics={},
        unread={DVCLIVE, "eval.json"},  # recorded in dvc.lock, not in the local cache
    )
    return base, head


def test_params_of_an_unread_file_are_not_listed_as_changed() -> None:
    base, head = snapshots()
    rows = {(r.file, r.name): r for r in diff.params(base, head)}
    # gone.yaml is absent at head (not found): its removal is a change
    assert set(rows) == {("params.yaml", "lr"), ("gone.yaml", "x")}
    everything = {(r.file, r.name): r for r in diff.params(base, head, include_unchanged=True)}
    epochs = everything[(DVCLIVE, "epochs")]
    assert (epochs.base, epochs.head, epochs.unread, epochs.changed) == (8, None, "head", False)
    assert everything[("gone.yaml", "x")].unread is None


def test_metrics_of_an_unread_file_are_rows_without_a_change() -> None:
    base, head = snapshots()
    rows = {(r.file, r.name): r for r in diff.metrics(base, head)}
    dice = rows[("eval.json", "dice")]
    assert (dice.base, dice.head, dice.change, dice.unread, dice.changed) == (
        0.8,
        None,
        None,
        "head",
        False,
    )
    loss = rows[("old.json", "loss")]  # not declared at head any more: removed, a change
    assert (loss.unread, loss.changed) == (None, True)


def test_the_base_side_is_named_when_the_base_is_unread() -> None:
    base, head = snapshots()
    swapped = diff.metrics(head, base)
    assert {r.unread for r in swapped if r.file == "eval.json"} == {"base"}
