"""`mlci validate model`: gates on real git + DVC histories.

The model checks on the digits model: test_validate_model_checks.py.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlci import api as mlci_api
from mlci import config
from mlci.errors import UsageError
from mlci.validate import model
from mlci.validate.results import Check, Result
from tests.conftest import (
    commit_all,
    git,
    isolated_env,
    make_tiny_project,
    set_param,
)

# its module-scoped fixtures are built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("validate-model")


def run(path: Path) -> None:
    mlci_api.run(path, tracking_enabled=False, pull=False, push=False)


def predictions(correct: int, total: int = 200) -> str:
    """index,label,predicted rows: the first `correct` right, the rest wrong."""
    rows = [f"{i},{i % 2},{i % 2 if i < correct else 1 - i % 2}\n" for i in range(total)]
    return "index,label,predicted\n" + "".join(rows)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tiny pipeline with a history (metrics.json: total, nested.count):

    main    total 18, predictions.csv 50% right
    worse   from main, score.scale 1.0: total 12
    feature from main, double.factor 3: total 27, same predictions (a gain within noise)
    gain    from feature: predictions.csv all right (a significant gain)

    feature is checked out, its run in the workspace.
    """
    with isolated_env(tmp_path_factory.mktemp("home")):
        path = make_tiny_project(tmp_path_factory.mktemp("gates") / "repo")
        run(path)
        (path / "predictions.csv").write_text(predictions(100))
        commit_all(path, "baseline run")
        git(path, "checkout", "-q", "-b", "worse")
        set_param(path, "score", "scale", 1.0)
        run(path)
        commit_all(path, "scale 1.0")
        git(path, "checkout", "-q", "-b", "feature", "main")
        set_param(path, "double", "factor", 3)
        run(path)
        commit_all(path, "factor 3")
        git(path, "checkout", "-q", "-b", "gain")
        (path / "predictions.csv").write_text(predictions(200))
        commit_all(path, "better predictions")
        git(path, "checkout", "-q", "feature")
        yield path


def write_pyproject(path: Path, text: str) -> config.Config:
    (path / "pyproject.toml").write_text(textwrap.dedent(text))
    return config.load(path)


def gates(path: Path, toml: str, *, base: str | None = "main", head: str = "feature") -> Result:
    cfg = write_pyproject(path, toml)
    return model.validate(path, cfg, base=base, head=head, checks=False)


def only(result: Result) -> Check:
    assert len(result.checks) == 1, result.checks
    return result.checks[0]


def pyproject_line(path: Path, text: str) -> int:
    lines = (path / "pyproject.toml").read_text().splitlines()
    return lines.index(text) + 1


# --- gates ---------------------------------------------------------------------------------------


def test_gate_passes_with_its_figures(repo: Path) -> None:
    result = gates(
        repo,
        """
        [tool.mlci.gates.total]
        min = 20
        max_drop = "1%"
        """,
    )
    check = only(result)
    assert check.verdict == "pass" and result.success
    assert check.group == "gates" and check.name == "total"
    assert check.target == "metrics.json:total"
    assert check.observed == 27.0
    assert check.expected == "≥ 20, drop ≤ 1% of base 18"
    assert check.severity == "error"
    assert check.details == {
        "base": 18.0,
        "head": 27.0,
        "change": 9.0,
        "significant": None,
        "interval": None,
    }
    assert check.file == "pyproject.toml"
    assert check.line == pyproject_line(repo, "[tool.mlci.gates.total]")
    assert result.extra["base"].startswith("main (")
    assert result.extra["head"].startswith("feature (")


def test_absolute_min_fails(repo: Path) -> None:
    result = gates(repo, "[tool.mlci.gates.total]\nmin = 30\n")
    check = only(result)
    assert check.verdict == "fail" and check.failed
    assert check.message == "27 is below the minimum 30"
    assert not result.success and result.errors == [check]


def test_absolute_max_fails_and_file_qualified_key(repo: Path) -> None:
    result = gates(
        repo,
        """
        [tool.mlci.gates."metrics.json:nested.count"]
        max = 2
        """,
    )
    check = only(result)
    assert check.name == "metrics.json:nested.count"
    assert check.target == "metrics.json:nested.count"
    assert check.verdict == "fail"
    assert check.message == "3 is above the maximum 2"
    assert check.line == pyproject_line(repo, '[tool.mlci.gates."metrics.json:nested.count"]')


def test_regression_fails_a_relative_max_drop(repo: Path) -> None:
    result = gates(repo, '[tool.mlci.gates.total]\nmax_drop = "1%"\n', head="worse")
    check = only(result)
    assert check.verdict == "fail"
    assert check.observed == 12.0
    assert check.details["change"] == -6.0
    assert check.expected == "drop ≤ 1% of base 18"
    assert check.message == "drop of 6 (33.33%) from base 18 exceeds 1% of base 18 = 0.18"
    assert not result.success


@pytest.mark.parametrize(("allowed", "verdict"), [(5, "fail"), (6, "pass"), (10.5, "pass")])
def test_absolute_max_drop(repo: Path, allowed: float, verdict: str) -> None:
    check = only(gates(repo, f"[tool.mlci.gates.total]\nmax_drop = {allowed}\n", head="worse"))
    assert check.verdict == verdict
    assert check.expected == f"drop ≤ {allowed:g}"


@pytest.mark.parametrize(
    ("allowed", "verdict"), [("5", "fail"), ("9", "pass"), ('"40%"', "fail"), ('"50%"', "pass")]
)
def test_max_rise(repo: Path, allowed: str, verdict: str) -> None:
    # main 18 -> feature 27: a rise of 9, 50% of the base
    check = only(gates(repo, f"[tool.mlci.gates.total]\nmax_rise = {allowed}\n"))
    assert check.verdict == verdict
    if verdict == "fail":
        assert check.message.startswith("rise of 9 (50.00%) from base 18 exceeds")


def test_a_failing_warning_gate_does_not_fail_the_result(repo: Path) -> None:
    result = gates(
        repo,
        """
        [tool.mlci.gates.total]
        min = 30
        severity = "warning"

        [tool.mlci.gates."nested.count"]
        min = 1
        """,
    )
    total, count = result.checks
    assert total.verdict == "fail" and total.severity == "warning"
    assert count.verdict == "pass"
    assert result.success
    assert result.errors == [] and result.warnings == [total]
    assert result.to_dict()["success"] is True


def test_workspace_head_and_default_base(repo: Path) -> None:
    result = gates(repo, '[tool.mlci.gates.total]\nmax_drop = "1%"\n', base=None, head="workspace")
    check = only(result)
    assert check.verdict == "pass" and check.observed == 27.0
    assert result.extra["base"] == git(repo, "rev-parse", "main")[:8]
    assert result.extra["head"] == "workspace"


def test_require_significant_without_predictions_warns(repo: Path) -> None:
    result = gates(repo, "[tool.mlci.gates.total]\nrequire_significant = true\n")
    check = only(result)
    assert check.verdict == "warn"
    assert check.details["significant"] is None
    assert "significance cannot be computed" in check.message
    assert "[tool.mlci.report] predictions" in check.message
    assert result.success and result.warnings == [check]


SIGNIFICANCE = """
[tool.mlci.report]
predictions = "predictions.csv"
significance = {total = "accuracy"}

[tool.mlci.gates.total]
require_significant = true
"""


def test_gain_within_noise_fails_require_significant(repo: Path) -> None:
    # feature's total rose by 9, but its per-sample predictions are main's: no real gain
    check = only(gates(repo, SIGNIFICANCE))
    assert check.verdict == "fail"
    assert check.details["significant"] is False
    assert check.details["interval"] == [0.0, 0.0]
    assert check.message.startswith("gain within noise: +9")


def test_significant_gain_passes_require_significant(repo: Path) -> None:
    check = only(gates(repo, SIGNIFICANCE, head="gain"))
    assert check.verdict == "pass", check.message
    assert check.details["significant"] is True
    low, high = check.details["interval"]
    assert 0 < low <= high


def test_a_drop_needs_no_significance(repo: Path) -> None:
    check = only(gates(repo, SIGNIFICANCE, head="worse"))
    assert check.verdict == "pass"


def test_unknown_metric_is_a_usage_error(repo: Path) -> None:
    write_pyproject(repo, "[tool.mlci.gates.accuracy]\nmin = 0.9\n")
    with pytest.raises(UsageError) as caught:
        model.validate(repo, config.load(repo), base="main", head="feature")
    assert caught.value.exit_code == 2
    line = pyproject_line(repo, "[tool.mlci.gates.accuracy]")
    assert caught.value.message.startswith(
        f"pyproject.toml:{line}: gate 'accuracy': no such metric"
    )
    assert "metrics there: nested.count, total" in caught.value.message


def test_ambiguous_metric_is_a_usage_error(tiny: Path) -> None:
    # two metrics files declared at the top level of dvc.yaml, both with a `total`
    (tiny / "eval").mkdir()
    for name, value in (("a", 0.5), ("b", 0.7)):
        (tiny / "eval" / f"{name}.json").write_text(f'{{"total": {value}}}')
    with (tiny / "dvc.yaml").open("a") as handle:
        handle.write("metrics:\n  - eval/a.json\n  - eval/b.json\n")
    cfg = write_pyproject(tiny, "[tool.mlci.gates.total]\nmin = 0.1\n")
    with pytest.raises(UsageError, match=r"gate 'total' is ambiguous: .* eval/a.json, eval/b.json"):
        model.validate(tiny, cfg, checks=False)

    cfg = write_pyproject(tiny, '[tool.mlci.gates."eval/b.json:total"]\nmin = 0.6\n')
    check = only(model.validate(tiny, cfg, checks=False))
    assert check.verdict == "pass" and check.observed == 0.7


def test_no_baseline_then_strict(tiny: Path) -> None:
    # main's only commit has no dvc.lock: the first run has nothing to compare with
    run(tiny)
    toml = """
        [tool.mlci.gates.total]
        min = 10
        max_drop = "1%"
        """
    result = gates(tiny, toml, base=None, head="workspace")
    check = only(result)
    assert check.verdict == "no-baseline"
    assert check.expected == "≥ 10, drop ≤ 1%"
    assert "no baseline: metrics.json:total has no numeric value at" in check.message
    assert check.details["base"] is None and check.details["head"] == 18.0
    assert result.success and "1 without baseline" in result.summary

    # absolute limits still apply without a baseline
    check = only(gates(tiny, toml.replace("min = 10", "min = 100"), base=None, head="workspace"))
    assert check.verdict == "fail" and check.message == "18 is below the minimum 100"

    result = gates(
        tiny, "[tool.mlci]\nstrict = true\n" + textwrap.dedent(toml), base=None, head="workspace"
    )
    check = only(result)
    assert check.verdict == "fail" and check.message.endswith("(strict = true)")
    assert not result.success


def test_no_base_revision_at_all(tmp_path: Path) -> None:
    # a repository with no commit yet: the report has no base
    repo = tmp_path / "new"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "dvc.yaml").write_text("metrics:\n  - scores.json\n")
    (repo / "scores.json").write_text('{"auc": 0.8}')
    result = gates(
        repo, '[tool.mlci.gates.auc]\nmin = 0.5\nmax_rise = "10%"\n', base=None, head="workspace"
    )
    check = only(result)
    assert check.verdict == "no-baseline"
    assert (
        check.message
        == "no baseline: no base revision to compare with: relative limits not applied"
    )
    assert result.extra["base"] is None


def test_model_checks_skip_without_a_model_and_a_missing_path_is_a_usage_error(
    tiny: Path,
) -> None:
    cfg = write_pyproject(tiny, "")
    result = model.validate(tiny, cfg, base="main")
    assert [(c.group, c.name, c.verdict) for c in result.checks] == [("model", "model", "skipped")]
    assert "no artifact of type model" in result.checks[0].message

    cfg = write_pyproject(tiny, '[tool.mlci.model]\npath = "models/nope.pkl"\n')
    with pytest.raises(UsageError, match=r"models/nope.pkl does not exist"):
        model.validate(tiny, cfg, base="main")
