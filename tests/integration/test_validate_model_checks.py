"""`mlci validate model`: the model checks (size, loads, output shape, latency) on the digits
reference model, trained once for the module.

The gates: test_validate_model.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlci import config
from mlci.errors import UsageError
from mlci.validate import model
from mlci.validate.results import Check, Result
from tests.conftest import commit_all, copy_reference_project, git, isolated_env
from tests.integration.test_validate_model import run

# its module-scoped fixtures are built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("validate-model")


# --- model checks on the digits reference model --------------------------------------------------


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """conftest's `digits_repo`, built once per module, with its pipeline run (uncommitted).

    Yields the repository and an empty pyproject.toml, which tests fill.
    """
    with isolated_env(tmp_path_factory.mktemp("home")):
        repo = copy_reference_project(tmp_path_factory.mktemp("digits") / "digits")
        git(repo, "init", "-q", "-b", "main")
        commit_all(repo, "reference project")
        subprocess.run([sys.executable, "-m", "pipelines.digits.data"], cwd=repo, check=True)
        run(repo)
        # the tests declare their own [tool.mlci] tables: start from none of the reference's
        yield repo, ""


MODEL = """
[tool.mlci.model]
loader = "pipelines.digits.model:load"
sample = "work/prepared/test.csv"
max_size_mb = 5
"""


def digits_validate(digits: tuple[Path, str], extra: str) -> Result:
    repo, pyproject = digits
    (repo / "pyproject.toml").write_text(pyproject + textwrap.dedent(extra))
    return model.validate(repo, config.load(repo))


def by_name(result: Result) -> dict[str, Check]:
    return {c.name: c for c in result.checks}


def test_digits_model_checks_pass(digits: tuple[Path, str]) -> None:
    gate = '\n[tool.mlci.gates.accuracy]\nmin = 0.9\nmax_drop = "1%"\n'
    result = digits_validate(digits, MODEL + gate)
    checks = by_name(result)
    assert [c.name for c in result.checks] == [
        "accuracy",
        "size",
        "loads",
        "output_shape",
        "latency",
    ]
    # the gate: accuracy is above 0.9; the base commit has no run yet, so no baseline
    assert checks["accuracy"].verdict == "no-baseline"
    assert checks["accuracy"].target == "metrics/metrics.json:accuracy"
    assert checks["accuracy"].observed > 0.9
    for name in ("size", "loads", "output_shape", "latency"):
        assert checks[name].verdict == "pass", checks[name]
        assert checks[name].group == "model"
    assert result.success

    # the model is the dvc.yaml artifact of type model: models/digits
    assert checks["size"].target == "models/digits"
    size = result.extra["size_bytes"]
    assert 0 < size <= 5 * 1024 * 1024
    assert size == sum(f.stat().st_size for f in (digits[0] / "models/digits").iterdir())
    assert checks["size"].expected == "≤ 5 MB"
    assert checks["loads"].observed == "SklearnPredictor"
    assert checks["output_shape"].observed == "(100,)"
    latency = result.extra["latency_ms"]
    assert latency["rows"] == 100 and latency["repeats"] == 30
    assert 0 < latency["p50"] <= latency["p95"]
    assert checks["latency"].details["p95_ms"] == latency["p95"]
    assert checks["latency"].observed.startswith("p50 ")


def test_digits_latency_budget_fails(digits: tuple[Path, str]) -> None:
    result = digits_validate(digits, MODEL + "max_latency_ms_p95 = 0.0001\nlatency_repeats = 5\n")
    latency = by_name(result)["latency"]
    assert latency.verdict == "fail"
    assert latency.expected == "p95 ≤ 0.0001 ms"
    assert "p95" in latency.message and "exceeds 0.0001 ms" in latency.message
    assert latency.details["repeats"] == 5
    assert not result.success


def test_digits_size_budget_fails(digits: tuple[Path, str]) -> None:
    result = digits_validate(digits, MODEL.replace("max_size_mb = 5", "max_size_mb = 0.001"))
    size = by_name(result)["size"]
    assert size.verdict == "fail" and "exceeds the budget of 0.001 MB" in size.message


def test_a_loader_that_raises_fails_loads(digits: tuple[Path, str]) -> None:
    repo, _ = digits
    (repo / "mlci_test_broken_loader.py").write_text(
        "def load(path):\n    raise RuntimeError(f'corrupt weights in {path.name}\\nsecond line')\n"
    )
    result = digits_validate(
        digits, MODEL.replace("pipelines.digits.model:load", "mlci_test_broken_loader:load")
    )
    checks = by_name(result)
    assert checks["loads"].verdict == "fail"
    assert checks["loads"].message == (
        "mlci_test_broken_loader:load(models/digits) failed: RuntimeError: corrupt weights in digits"
    )
    assert checks["output_shape"].verdict == "skipped"
    assert checks["latency"].verdict == "skipped"
    assert checks["size"].verdict == "pass"
    assert not result.success


def test_a_missing_loader_module_fails_loads(digits: tuple[Path, str]) -> None:
    result = digits_validate(
        digits, MODEL.replace("pipelines.digits.model:load", "mlci_no_such_module:load")
    )
    loads = by_name(result)["loads"]
    assert loads.verdict == "fail"
    assert "ModuleNotFoundError: No module named 'mlci_no_such_module'" in loads.message


def test_wrong_output_shape_fails(digits: tuple[Path, str]) -> None:
    repo, _ = digits
    (repo / "mlci_test_flat_loader.py").write_text(
        "import numpy as np\n\n"
        "class Flat:\n"
        "    def predict(self, rows):\n"
        "        return np.zeros(3)\n\n"
        "def load(path):\n"
        "    return Flat()\n"
    )
    result = digits_validate(
        digits, MODEL.replace("pipelines.digits.model:load", "mlci_test_flat_loader:load")
    )
    checks = by_name(result)
    assert checks["loads"].verdict == "pass"
    assert checks["output_shape"].verdict == "fail"
    assert checks["output_shape"].message == "100 rows in, output of shape (3,) out"
    assert checks["latency"].verdict == "skipped"


def test_a_malformed_loader_is_a_usage_error(digits: tuple[Path, str]) -> None:
    with pytest.raises(UsageError, match="expected 'module:function'"):
        digits_validate(digits, MODEL.replace("pipelines.digits.model:load", "pipelines.digits"))
