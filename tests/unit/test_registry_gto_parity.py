"""The git-tag model registry: `show` against `gto show --json` on the same tags (needs gto)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlci import registry
from tests.conftest import git
from tests.unit.registry_helpers import CFG, new_commit, raw_tag
from tests.unit.registry_helpers import repo as repo_fixture  # noqa: F401

GTO = Path(sys.executable).parent / "gto"
needs_gto = pytest.mark.skipif(not GTO.exists(), reason="gto is not installed (extra: registry)")


def gto_show(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [str(GTO), "show", *args, "--json"], cwd=repo, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


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
