"""DVC plots as Mermaid xychart blocks, confusion tables and sparklines."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pytest

from mlci.report.confusion import confusion_markdown, confusion_table
from mlci.report.plot_rows import load_rows
from mlci.report.plots import sparkline, xychart

# the reference project's plots/learning_curve.csv (epoch,train_loss,train_accuracy,val_accuracy)
LOSS = [1.723485, 0.785404, 0.418269, 0.286050, 0.221609, 0.182519, 0.155419, 0.134481]
LOSS += [0.117472, 0.103873, 0.092222, 0.082393, 0.073803, 0.066530, 0.060358, 0.054810]
LOSS += [0.050087, 0.045772, 0.041898, 0.038433]


def learning_curve(epochs: int = 20, shift: float = 0.0) -> list[dict[str, str | float]]:
    return [
        {
            "epoch": str(e),
            "train_loss": f"{LOSS[(e - 1) % 20] + shift:.6f}",
            "train_accuracy": f"{0.84 + 0.15 * e / epochs - shift:.6f}",
            "val_accuracy": f"{0.84 + 0.12 * e / epochs - shift:.6f}",
        }
        for e in range(1, epochs + 1)
    ]


def statements(block: str) -> list[str]:
    lines = block.split("\n")
    assert lines[0] == "```mermaid"
    assert lines[-1] == "```"
    return lines[1:-1]


def line_values(block: str) -> list[list[float]]:
    found = []
    for line in statements(block):
        if line.strip().startswith("line "):
            inner = re.fullmatch(r"\s*line \[(.*)\]", line)
            assert inner, line
            found.append([float(v) for v in inner.group(1).split(", ")])
    return found


def palette(block: str) -> list[str]:
    init = statements(block)[0]
    assert init.startswith("%%{init: ") and init.endswith("}%%")
    config = json.loads(init.removeprefix("%%{init: ").removesuffix("}%%"))
    return [c.strip() for c in config["themeVariables"]["xyChart"]["plotColorPalette"].split(",")]


def check_mermaid_is_clean(block: str) -> None:
    """Every statement is ours; user text only inside well-formed double-quoted strings."""
    body = statements(block)
    assert block.count("```") == 2
    assert body[1] == "xychart-beta"
    for line in body[1:]:
        assert "%%" not in line
        assert "`" not in line
        assert "<" not in line
        assert ";" not in line
    assert re.fullmatch(r'    title "[^"]*"', body[2])
    assert re.fullmatch(r'    x-axis "[^"]*" (\d+ --> \d+|\[("[^"]+"(, )?)+\])', body[3])
    assert re.fullmatch(r'    y-axis "[^"]*"( \S+ --> \S+)?', body[4])
    for line in body[5:]:
        assert re.fullmatch(r"    line \[-?[\d.]+(, -?[\d.]+)*\]", line), line


# --- xychart ---------------------------------------------------------------------------------


def test_learning_curve_overlays_head_and_base() -> None:
    block = xychart(
        "Accuracy per epoch",
        "epoch",
        ["train_accuracy", "val_accuracy"],
        learning_curve(shift=0.01),
        learning_curve(),
    )
    assert block is not None
    check_mermaid_is_clean(block)
    values = line_values(block)
    assert len(values) == 4  # head train, head val, base train, base val
    assert all(len(v) == 20 for v in values)
    assert values[0][-1] == pytest.approx(0.99)  # head's train_accuracy first
    assert values[2][-1] == pytest.approx(0.98)  # then base's
    assert 'x-axis "epoch" 1 --> 20' in block
    assert 'title "Accuracy per epoch (dark = head, light = base)"' in block
    assert 'y-axis "train_accuracy: blue, val_accuracy: orange"' in block
    assert palette(block) == ["#1f77b4", "#ff7f0e", "#aec7e8", "#ffbb78"]


def test_single_field_and_single_revision() -> None:
    block = xychart("Training loss per epoch", "epoch", ["train_loss"], None, learning_curve())
    assert block is not None
    check_mermaid_is_clean(block)
    values = line_values(block)
    assert len(values) == 1
    assert values[0][0] == pytest.approx(1.72348)
    assert 'title "Training loss per epoch (head)"' in block
    assert 'y-axis "train_loss"' in block
    only_base = xychart("loss", "epoch", ["train_loss"], learning_curve(), None)
    assert only_base is not None
    assert 'title "loss (base)"' in only_base


def test_rows_as_dvc_json_numbers() -> None:
    rows = [{"step": i, "loss": 1 / (i + 1)} for i in range(5)]
    block = xychart("loss", "step", ["loss"], rows, rows)
    assert block is not None
    assert 'x-axis "step" 0 --> 4' in block
    assert line_values(block)[0] == [1, 0.5, pytest.approx(0.333333), 0.25, 0.2]


def test_downsampling_to_max_points() -> None:
    rows = learning_curve(epochs=451)
    block = xychart("long", "epoch", ["train_loss", "val_accuracy"], rows, rows, max_points=50)
    assert block is not None
    check_mermaid_is_clean(block)
    values = line_values(block)
    assert len(values) == 4
    assert all(len(v) == 50 for v in values)
    x_axis = statements(block)[3]
    labels = re.findall(r'"([^"]*)"', x_axis)[1:]
    assert len(labels) == 50
    assert labels[0] == "1"
    assert labels[-1] == "451"  # first and last kept; uneven steps: a label axis

    even = xychart("even", "epoch", ["train_loss"], None, learning_curve(epochs=99), max_points=50)
    assert even is not None
    assert 'x-axis "epoch" 1 --> 99' in even  # every other epoch: still an even numeric axis
    assert len(line_values(even)[0]) == 50

    with pytest.raises(ValueError):
        xychart("t", "epoch", ["train_loss"], None, rows, max_points=1)


def test_different_lengths_share_one_axis() -> None:
    block = xychart("acc", "epoch", ["val_accuracy"], learning_curve(epochs=10), learning_curve())
    assert block is not None
    check_mermaid_is_clean(block)
    head, base = line_values(block)
    assert len(head) == len(base) == 20
    assert base[10:] == [base[9]] * 10  # held flat after its last epoch
    assert "gaps held flat" in block


def test_categorical_x() -> None:
    rows = [{"split": "train", "acc": "0.9"}, {"split": "val", "acc": "0.8"}]
    block = xychart("by split", "split", ["acc"], None, rows)
    assert block is not None
    check_mermaid_is_clean(block)
    assert 'x-axis "split" ["train", "val"]' in block


def test_hostile_strings_are_sanitised() -> None:
    evil = 'x"]\n```\n%%{init: {"theme": "dark"}}%%\n<script>alert(1)</script>; #quot; `md`'
    rows = [{evil: label, "y": str(i)} for i, label in enumerate([evil, "ok", '"'])]
    block = xychart(evil, evil, ["y"], rows, rows)
    assert block is not None
    check_mermaid_is_clean(block)
    assert "<script" not in block
    assert "%%{init: {'theme'" not in block
    assert block.count('"') % 2 == 0

    numeric = xychart(evil, "epoch", [evil], None, [{"epoch": "1", evil: "2"}])
    assert numeric is not None
    check_mermaid_is_clean(numeric)


def test_long_title_is_capped() -> None:
    block = xychart("t" * 500, "epoch", ["train_loss"], None, learning_curve())
    assert block is not None
    title = re.search(r'title "([^"]*)"', block)
    assert title is not None
    assert len(title.group(1)) < 120


def test_nothing_numeric_gives_none() -> None:
    words = [{"epoch": str(i), "label": w} for i, w in enumerate(["cat", "dog", "cat"])]
    assert xychart("t", "epoch", ["label"], words, words) is None
    assert xychart("t", "epoch", ["missing"], learning_curve(), learning_curve()) is None
    assert xychart("t", "epoch", ["train_loss"], None, None) is None
    assert xychart("t", "epoch", ["train_loss"], [], []) is None
    blanks = [{"epoch": "1", "v": ""}, {"epoch": "2", "v": "nan"}]
    assert xychart("t", "epoch", ["v"], None, blanks) is None


def test_non_numeric_series_is_skipped_per_revision() -> None:
    head = [
        {"epoch": "1", "acc": "n/a", "loss": "0.5"},
        {"epoch": "2", "acc": "0.9", "loss": "0.4"},
    ]
    base = [
        {"epoch": "1", "acc": "0.7", "loss": "0.6"},
        {"epoch": "2", "acc": "0.8", "loss": "0.5"},
    ]
    block = xychart("t", "epoch", ["acc", "loss"], base, head)
    assert block is not None
    assert len(line_values(block)) == 3  # head loss, base acc, base loss
    # colours stay tied to the field: head loss dark orange, base acc light blue, base loss light orange
    assert palette(block) == ["#ff7f0e", "#aec7e8", "#ffbb78"]


def test_gaps_inside_a_series_are_held() -> None:
    values = [("1", "5"), ("", "6"), ("nan", "7"), ("4", "")]
    rows = [{"epoch": str(e), "v": v, "w": w} for e, (v, w) in enumerate(values, start=1)]
    block = xychart("t", "epoch", ["v", "w"], None, rows)
    assert block is not None
    assert line_values(block) == [[1, 1, 1, 4], [5, 6, 7, 7]]
    assert "gaps held flat" in block
    # an x where no series has a value is left out rather than drawn
    alone = xychart("t", "epoch", ["v"], None, rows)
    assert alone is not None
    assert line_values(alone) == [[1, 4]]
    assert 'x-axis "epoch" 1 --> 4' in alone  # two points: evenly spaced


def test_flat_series_gets_a_y_range() -> None:
    rows = [{"epoch": str(e), "v": "0.5"} for e in range(1, 4)]
    block = xychart("flat", "epoch", ["v"], None, rows)
    assert block is not None
    check_mermaid_is_clean(block)
    assert 'y-axis "v" 0.45 --> 0.55' in block


def test_without_x_the_row_index_is_used() -> None:
    rows = [{"loss": str(v)} for v in (3, 2, 1)]
    block = xychart("t", "", ["loss"], None, rows)
    assert block is not None
    assert 'x-axis "step" 0 --> 2' in block


# --- load_rows -------------------------------------------------------------------------------


def test_load_rows_formats() -> None:
    csv_rows = load_rows("\ufeffepoch,loss\n1,0.5\n2,0.25\n", "plots/curve.csv")
    assert csv_rows == [{"epoch": "1", "loss": "0.5"}, {"epoch": "2", "loss": "0.25"}]
    assert load_rows("a\tb\n1\t2\n", "x.TSV") == [{"a": "1", "b": "2"}]
    assert load_rows('[{"a": 1}]', "x.json") == [{"a": 1}]
    assert load_rows('{"train": [{"a": 1}, {"a": 2}]}', "x.json") == [{"a": 1}, {"a": 2}]
    assert load_rows("", "x.json") == []
    assert load_rows("", "x.csv") == []
    assert load_rows("a,b\n1\n1,2,3\n", "ragged.csv") == [
        {"a": "1", "b": None},
        {"a": "1", "b": "2"},
    ]
    assert load_rows('[{"a": 1}]', "x.yaml", yaml_loader=json.loads) == [{"a": 1}]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("{not json", "x.json"),
        ("[1, 2]", "x.json"),
        ('{"a": 1}', "x.json"),
        ('"text"', "x.json"),
        ("a: 1", "x.yaml"),
        ("a,b", "x.parquet"),
        ("[" * 100_000, "deep.json"),
    ],
)
def test_load_rows_rejects(text: str, name: str) -> None:
    with pytest.raises(ValueError):
        load_rows(text, name)


def test_reference_learning_curve_end_to_end() -> None:
    text = "epoch,train_loss,train_accuracy,val_accuracy\n" + "\n".join(
        f"{r['epoch']},{r['train_loss']},{r['train_accuracy']},{r['val_accuracy']}"
        for r in learning_curve()
    )
    rows = load_rows(text, "plots/learning_curve.csv")
    block = xychart("Training loss per epoch", "epoch", ["train_loss"], rows, rows)
    assert block is not None
    assert [len(v) for v in line_values(block)] == [20, 20]


# --- confusion -------------------------------------------------------------------------------


def confusion_rows(pairs: Sequence[tuple[object, object]]) -> list[dict[str, object]]:
    return [{"actual": a, "predicted": p} for a, p in pairs]


def test_confusion_counts() -> None:
    rows = confusion_rows([(1, 1), (0, 0), ("1", "0"), (10, 2), (2, 2), (2.0, 2), (None, 1)])
    matrix, labels = confusion_table(rows, "actual", "predicted")
    assert labels == ["0", "1", "2", "10"]  # numeric order; 1 and "1", 2 and 2.0 are one class
    assert matrix == [
        [1, 0, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 2, 0],
        [0, 0, 1, 0],
    ]
    assert sum(map(sum, matrix)) == 6  # the row without `actual` is skipped
    assert confusion_table([], "actual", "predicted") == ([], [])


def test_confusion_markdown_table() -> None:
    rows = confusion_rows([("cat", "cat")] * 3 + [("cat", "dog"), ("dog", "dog")])
    base = confusion_rows([("cat", "cat")] * 2 + [("cat", "dog")] * 2 + [("dog", "dog")])
    text = confusion_markdown(rows, "actual", "predicted", base=base)
    lines = text.split("\n")
    assert lines[0] == "| actual ↓ · predicted → | cat | dog |"
    assert lines[1] == "| :-- | --: | --: |"
    assert lines[2] == "| cat | **3** (+1) | 1 (-1) |"
    assert lines[3] == "| dog | 0 | **1** |"


def test_confusion_markdown_escapes_labels() -> None:
    rows = confusion_rows([("a|b", "a|b"), ("<script>", "@octocat"), ("x", "x")])
    text = confusion_markdown(rows, "actual", "predicted")
    assert "<script" not in text
    assert not re.search(r"@\w", text)
    for line in text.split("\n"):
        pipes = [m for m in re.finditer(r"\\*\|", line) if (len(m.group()) - 1) % 2 == 0]
        assert len(pipes) == 6  # five columns (corner and four classes), every row


def test_confusion_markdown_folds_many_classes() -> None:
    pairs: list[tuple[object, object]] = [(i, i) for i in range(30) for _ in range(i + 1)]
    text = confusion_markdown(confusion_rows(pairs), "actual", "predicted", max_labels=5)
    lines = text.split("\n")
    assert len(lines) == 2 + 5
    assert lines[0] == "| actual ↓ · predicted → | 26 | 27 | 28 | 29 | (other) |"
    other = lines[-1].split(" | ")
    assert other[0] == "| (other)"
    assert other[-1] == f"{sum(range(1, 27))} |"  # classes 0-25 folded


def test_confusion_markdown_without_rows() -> None:
    assert confusion_markdown([], "actual", "predicted").startswith("No rows")


# --- sparkline -------------------------------------------------------------------------------


def test_sparkline() -> None:
    line = sparkline(LOSS)
    assert len(line) == 20
    assert line[0] == "█"  # the highest loss
    assert line[-1] == "▁"  # the lowest
    assert set(line) <= set("▁▂▃▄▅▆▇█")
    assert sparkline([0, 7]) == "▁█"
    assert sparkline(list(range(8))) == "▁▂▃▄▅▆▇█"
    assert sparkline([]) == ""
    assert sparkline([3, 3, 3]) == "▄▄▄"
    assert sparkline([1, float("nan"), 2]) == "▁ █"
    assert sparkline([float("nan")]) == " "
    assert len(sparkline(LOSS, width=5)) == 5
    assert sparkline(LOSS, width=5)[0] == "█"
    with pytest.raises(ValueError):
        sparkline(LOSS, width=0)
