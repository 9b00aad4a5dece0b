"""`mlci init` in fresh git + DVC repositories: what it writes, what it refuses, what it merges."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlci import config
from mlci.cli import cli
from mlci.init import DEFAULT_REF, starter_suite
from tests.conftest import BIN, commit_all, git, loaded_after, serve_mlci_repo, sh

WORKFLOWS = [
    "mlci-main.yml",
    "mlci-pr-comment.yml",
    "mlci-pr.yml",
    "mlci-release.yml",
    "mlci-retrain.yml",
]
SHA = "3d3c42e5aac5ba805825da76410c181273ba90b1"
DATA = """\
id,size,weight,colour,ok
1,3,0.25,red,true
2,5,0.5,blue,false
3,3,,red,true
4,7,1.75,green,true
5,5,0.5,blue,true
6,3,0.75,red,false
"""
PYPROJECT = """\
# a user's own pyproject, with comments and odd spacing that must survive
[build-system]
requires = ["hatchling"]

[project]
name   = "demo"   # spaced on purpose
dependencies = [
    "numpy",
]

[tool.mlci]
require_gpu = false

[tool.mlci.gates.total]
min = 1.0  # keep

# the next tool's comment
[tool.ruff]
line-length = 99
"""


@pytest.fixture(autouse=True)
def _offline_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """init asks $GITHUB_SERVER_URL for the commit of its ref: here, a folder with no repos."""
    server = tmp_path / "git-server"
    server.mkdir()
    monkeypatch.setenv("GITHUB_SERVER_URL", server.as_uri())
    return server


def mlci(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(repo), "init", *args])


def tree(repo: Path) -> dict[str, bytes]:
    """Every file outside .git and .dvc, with its bytes."""
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and p.relative_to(repo).parts[0] not in {".git", ".dvc"}
    }


@pytest.fixture
def dataset(tiny: Path) -> Path:
    (tiny / "data").mkdir()
    (tiny / "data" / "parts.csv").write_text(DATA)
    commit_all(tiny, "data")
    return tiny


def test_fresh_repository_gets_workflows_config_and_gx(tiny: Path) -> None:
    result = mlci(tiny)
    assert result.exit_code == 0, result.output
    workflows = tiny / ".github" / "workflows"
    assert sorted(p.name for p in workflows.iterdir()) == WORKFLOWS
    for name in WORKFLOWS:
        text = (workflows / name).read_text()
        # offline (no server): the tag as it is
        assert f"uses: mlci-dev/mlci/.github/workflows/{name}@{DEFAULT_REF}\n" in text
        assert "\npermissions: {}\n" in text
        assert f"created       .github/workflows/{name}" in result.output
    pr = (workflows / "mlci-pr.yml").read_text()
    assert "runner: '[\"ubuntu-latest\"]'" in pr and "validate-data: false" in pr
    assert "branches: [main]" in (workflows / "mlci-main.yml").read_text()
    assert "workflows: [mlci pr]" in (workflows / "mlci-pr-comment.yml").read_text()

    cfg = config.load(tiny)  # what `mlci config` reads
    assert cfg.file == tiny / "pyproject.toml"
    assert cfg.tracking.experiment == "tiny"
    assert "# [tool.mlci.gates.accuracy]" in (tiny / "pyproject.toml").read_text()
    assert (tiny / "gx" / "great_expectations.yml").is_file()
    assert (tiny / "gx" / ".gitignore").read_text() == "uncommitted/\n"
    assert "/.mlci/" in (tiny / ".gitignore").read_text().splitlines()  # was there already
    assert "Next steps:" in result.output
    assert "dvc remote add" in result.output
    assert CliRunner().invoke(cli, ["-C", str(tiny), "config"]).exit_code == 0


def test_rerun_with_the_same_options_changes_nothing(dataset: Path) -> None:
    assert mlci(dataset, "--data", "data/parts.csv").exit_code == 0
    before = tree(dataset)
    again = mlci(dataset, "--data", "data/parts.csv")
    assert again.exit_code == 0, again.output
    assert "nothing to change" in again.output
    assert tree(dataset) == before
    # without --data the dataset stays declared, and its validation on
    assert mlci(dataset).exit_code == 0
    assert tree(dataset) == before


def test_a_changed_file_is_refused_and_nothing_is_written(tiny: Path) -> None:
    assert mlci(tiny).exit_code == 0
    pr = tiny / ".github" / "workflows" / "mlci-pr.yml"
    pr.write_text(pr.read_text().replace("ubuntu-latest", "my-runner"))
    (tiny / "gx" / ".gitignore").unlink()
    before = tree(tiny)

    refused = mlci(tiny)
    assert refused.exit_code == 2
    assert "not overwriting" in refused.output and ".github/workflows/mlci-pr.yml" in refused.output
    assert "--force" in refused.output
    assert tree(tiny) == before  # not even the missing gx/.gitignore

    forced = mlci(tiny, "--force")
    assert forced.exit_code == 0, forced.output
    assert "overwrote     .github/workflows/mlci-pr.yml" in forced.output
    assert "my-runner" not in pr.read_text()
    assert (tiny / "gx" / ".gitignore").is_file()
    assert "nothing to change" in mlci(tiny).output


def test_dry_run_shows_the_diff_and_writes_nothing(tiny: Path) -> None:
    before = tree(tiny)
    result = mlci(tiny, "--dry-run", "--ref", SHA)
    assert result.exit_code == 0, result.output
    assert tree(tiny) == before
    assert git(tiny, "status", "--porcelain") == ""
    assert "--- /dev/null\n+++ b/.github/workflows/mlci-pr.yml\n" in result.stdout
    assert f"+    uses: mlci-dev/mlci/.github/workflows/mlci-pr.yml@{SHA}\n" in result.stdout
    assert "+[tool.mlci.tracking]\n" in result.stdout
    assert "dry run: nothing written" in result.output

    # after a real run, a dry run with other options shows only the change, and refuses
    assert mlci(tiny).exit_code == 0
    written = tree(tiny)
    other = mlci(tiny, "--dry-run", "--runner", "self-hosted,gpu")
    assert other.exit_code == 2
    assert "-      runner: '[\"ubuntu-latest\"]'\n" in other.stdout
    assert '+      runner: \'["self-hosted", "gpu"]\'\n' in other.stdout
    assert "mlci-pr-comment.yml" not in other.stdout
    assert tree(tiny) == written
    assert mlci(tiny, "--dry-run", "--runner", "self-hosted,gpu", "--force").exit_code == 0
    assert tree(tiny) == written


def _only_insertions(old: str, new: str) -> list[str]:
    inserted = []
    matcher = difflib.SequenceMatcher(
        a=old.splitlines(True), b=new.splitlines(True), autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in {"equal", "insert"}, (tag, old.splitlines()[i1:i2], new.splitlines()[j1:j2])
        if tag == "insert":
            inserted += new.splitlines()[j1:j2]
    return inserted


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_merge_keeps_every_other_byte_of_pyproject(dataset: Path, newline: str) -> None:
    original = PYPROJECT.replace("\n", newline)
    (dataset / "pyproject.toml").write_bytes(original.encode())
    result = mlci(dataset, "--data", "data/parts.csv")
    assert result.exit_code == 0, result.output
    assert "updated       pyproject.toml" in result.output
    merged = (dataset / "pyproject.toml").read_bytes().decode()
    inserted = _only_insertions(original, merged)
    assert [line for line in inserted if line.strip()] == [
        "[tool.mlci.tracking]",
        'experiment = "tiny"',
        "[tool.mlci.data.parts]",
        'path = "data/parts.csv"',
        'suite = "parts"',
    ]
    assert merged.count("\r\n") == (merged.count("\n") if newline == "\r\n" else 0)
    # the new tables sit with the other [tool.mlci] ones, before [tool.ruff] and its comment
    assert merged.index("[tool.mlci.data.parts]") < merged.index("# the next tool's comment")
    document = tomllib.loads(merged)
    assert document["project"] == tomllib.loads(original)["project"]
    cfg = config.load(dataset)
    assert cfg.gates["total"].min == 1.0
    assert cfg.data["parts"].path == "data/parts.csv"
    assert "# [tool.mlci.gates" not in merged  # the settings comment is for a new [tool.mlci]
    assert "nothing to change" in mlci(dataset, "--data", "data/parts.csv").output


def test_merge_adds_keys_to_a_table_and_refuses_a_different_value(dataset: Path) -> None:
    pyproject = dataset / "pyproject.toml"
    pyproject.write_text(
        '[tool.mlci.data.parts]\npath = "elsewhere.csv"  # mine\nengine = "pandas"\n\n[tool.x]\ny = 1\n'
    )
    refused = mlci(dataset, "--data", "data/parts.csv")
    assert refused.exit_code == 2
    assert "pyproject.toml ([tool.mlci.data.parts] path is 'elsewhere.csv'" in refused.output
    forced = mlci(dataset, "--data", "data/parts.csv", "--force")
    assert forced.exit_code == 0, forced.output
    assert pyproject.read_text() == (
        "[tool.mlci.data.parts]\n"
        'path = "data/parts.csv"\n'
        'engine = "pandas"\n'
        'suite = "parts"\n'
        "\n"
        "[tool.mlci.tracking]\n"
        'experiment = "tiny"\n'
        "\n"
        "[tool.x]\n"
        "y = 1\n"
    )
    # a suggestion never conflicts: an experiment of the user's own stays
    pyproject.write_text(pyproject.read_text().replace('"tiny"', '"mine"'))
    assert "nothing to change" in mlci(dataset, "--data", "data/parts.csv").output


def test_starter_suite_passes_on_its_data_and_catches_a_broken_row(dataset: Path) -> None:
    result = mlci(dataset, "--data", "data/parts.csv")
    assert result.exit_code == 0, result.output
    pr = (dataset / ".github" / "workflows" / "mlci-pr.yml").read_text()
    assert "validate-data: true" in pr
    suite = json.loads((dataset / "gx" / "expectations" / "parts.json").read_text())
    kinds = {(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]}
    assert ("expect_table_columns_to_match_set", None) in kinds
    assert ("expect_column_values_to_not_be_null", "size") in kinds
    assert ("expect_column_values_to_not_be_null", "weight") not in kinds  # it has a gap
    assert ("expect_column_values_to_be_in_set", "colour") in kinds
    assert ("expect_column_values_to_be_in_set", "id") not in kinds  # ids do not repeat
    between = {
        e["kwargs"]["column"]: (e["kwargs"]["min_value"], e["kwargs"]["max_value"])
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_between"
    }
    assert between == {"id": (1, 6), "size": (3, 7), "weight": (0.25, 1.75)}
    commit_all(dataset, "mlci init")

    ok = sh(str(BIN / "mlci"), "validate", "data", "parts", cwd=dataset, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "validate data: ok:" in ok.stdout
    assert git(dataset, "status", "--porcelain") == ""  # GX added nothing under gx/

    with (dataset / "data" / "parts.csv").open("a") as f:
        f.write("7,9,0.5,purple,true\n")
    broken = sh(str(BIN / "mlci"), "validate", "data", "parts", cwd=dataset, check=False)
    assert broken.returncode == 1, broken.stdout + broken.stderr


def test_starter_suite_is_stable() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2, 2, 1], "b": ["x", "y", "x", "y"]})
    first, second = starter_suite(frame, "s", "s.csv"), starter_suite(frame, "s", "s.csv")
    assert first == second
    assert len({e["id"] for e in first["expectations"]}) == len(first["expectations"])


def test_options_reach_the_workflows(make_tiny: object) -> None:
    repo = make_tiny("opts")  # type: ignore[operator]
    git(repo, "branch", "-m", "main", "master")
    result = mlci(
        repo,
        "--repo",
        "my-org/mlci-fork",
        "--ref",
        SHA,
        "--runner",
        "self-hosted, linux,gpu",
        "--mlci-version",
        "installed",
    )
    assert result.exit_code == 0, result.output
    workflows = repo / ".github" / "workflows"
    pr = (workflows / "mlci-pr.yml").read_text()
    assert f"uses: my-org/mlci-fork/.github/workflows/mlci-pr.yml@{SHA}\n" in pr
    assert 'runner: \'["self-hosted", "linux", "gpu"]\'' in pr
    assert "mlci-version: 'installed'" in pr
    assert "branches: [master]" in (workflows / "mlci-main.yml").read_text()
    assert "pin the reusable workflows" not in result.output  # pinned by SHA already


def test_project_in_a_subfolder_of_the_git_repository(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    project = root / "ml"
    project.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    sh(str(BIN / "dvc"), "init", "-q", "--subdir", cwd=project)
    (project / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo hi\n")
    commit_all(root, "monorepo")
    result = mlci(project)
    assert result.exit_code == 0, result.output
    pr = (root / ".github" / "workflows" / "mlci-pr.yml").read_text()
    assert "working-directory: 'ml'" in pr
    assert (project / "pyproject.toml").is_file() and (project / "gx").is_dir()
    assert "created       ml/pyproject.toml" in result.output


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("plain", [], "not a git repository"),
        ("git", [], "not a DVC repository"),
        ("dvc", [], "no dvc.yaml"),
        ("tiny", ["--data", "missing.csv"], "--data missing.csv: no such file"),
        ("tiny", ["--data", "params.yaml"], "expected a .csv or .parquet file"),
        ("tiny", ["--ref", "bad ref"], "--ref: not a valid value"),
        ("tiny", ["--ref", "a..b"], "--ref: not a valid git ref"),
        ("tiny", ["--repo", "no-slash"], "--repo: not a valid value"),
        ("tiny", ["--runner", "a,'b'"], "--runner: not a valid value"),
        ("broken-toml", [], "pyproject.toml: not valid TOML"),
        ("bad-config", [], "[tool.mlci] require_gpu"),
    ],
)
def test_bad_input_exits_2_naming_it(
    tmp_path: Path, setup: str, args: list[str], message: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    if setup != "plain":
        git(repo, "init", "-q", "-b", "main")
    if setup not in {"plain", "git"}:
        sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
    if setup not in {"plain", "git", "dvc"}:
        (repo / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo hi\n")
        (repo / "params.yaml").write_text("a: 1\n")
    if setup == "broken-toml":
        (repo / "pyproject.toml").write_text("[tool.mlci\n")
    if setup == "bad-config":
        (repo / "pyproject.toml").write_text('[tool.mlci]\nrequire_gpu = "yes"\n')
    before = tree(repo)
    result = mlci(repo, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert tree(repo) == before


def test_unresolvable_ref_is_written_as_it_is_with_a_next_step(tiny: Path) -> None:
    result = mlci(tiny)
    assert result.exit_code == 0, result.output
    text = (tiny / ".github" / "workflows" / "mlci-pr.yml").read_text()
    assert f"mlci-pr.yml@{DEFAULT_REF}\n" in text
    assert "pin the reusable workflows by commit" in result.output
    assert f"{DEFAULT_REF} could not be resolved" in result.output


@pytest.mark.parametrize("how", ["tag resolved on the server", "--ref SHA"])
def test_written_workflows_are_pinned_by_sha_and_pass_zizmor(
    tiny: Path, _offline_server: Path, how: str
) -> None:
    zizmor = BIN / "zizmor"
    if not zizmor.exists():
        pytest.skip("zizmor is not installed")
    if how == "--ref SHA":
        result, uses = mlci(tiny, "--ref", SHA), f"@{SHA}\n"
    else:
        sha = serve_mlci_repo(_offline_server, DEFAULT_REF)
        result, uses = mlci(tiny), f"@{sha} # {DEFAULT_REF}\n"
    assert result.exit_code == 0, result.output
    assert "pin the reusable workflows" not in result.output
    for path in (tiny / ".github" / "workflows").iterdir():
        assert uses in path.read_text(), path.name
    if how != "--ref SHA":  # the same commit on a rerun: nothing to change
        rerun = mlci(tiny)
        assert rerun.exit_code == 0 and "nothing to change" in rerun.output, rerun.output
    done = subprocess.run(
        [str(zizmor), "--offline", "--persona", "pedantic", "--no-progress", str(tiny / ".github")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tiny,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout


def test_init_imports_no_heavy_library() -> None:
    heavy = {"pandas", "dvc", "mlflow", "great_expectations", "bentoml", "torch", "sklearn"}
    assert loaded_after("mlci.cli, mlci.init", heavy) == []


def test_gx_project_of_the_user_is_kept(tiny: Path) -> None:
    (tiny / "gx").mkdir()
    (tiny / "gx" / "great_expectations.yml").write_text("config_version: 4\n# mine\n")
    assert mlci(tiny).exit_code == 0
    assert (tiny / "gx" / "great_expectations.yml").read_text() == "config_version: 4\n# mine\n"
    shutil.rmtree(tiny / "gx")
