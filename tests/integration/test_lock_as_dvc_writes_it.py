"""`mlci run` leaves dvc.lock (and dvc.yaml) byte for byte as `dvc repro` leaves them.

DVC is the oracle: two copies of one project, one reproduced by DVC's CLI, the other
by mlci (which drives DVC in process, parsing each YAML text once: mlci/dvc/yamlcache.py),
then a param changed in both and each reproduced again.
"""

from __future__ import annotations

from pathlib import Path

from mlci import api
from tests.conftest import BIN, make_tiny_project, set_param, sh


def test_dvc_lock_is_what_dvc_repro_writes(tmp_path: Path) -> None:
    by_dvc = make_tiny_project(tmp_path / "by-dvc")
    by_mlci = make_tiny_project(tmp_path / "by-mlci")
    dvc_yaml = (by_dvc / "dvc.yaml").read_bytes()
    for factor in (None, 3):
        if factor is not None:
            set_param(by_dvc, "double", "factor", factor)
            set_param(by_mlci, "double", "factor", factor)
        sh(str(BIN / "dvc"), "repro", "-q", cwd=by_dvc)
        result = api.run(by_mlci, pull=False, push=False, tracking_enabled=False)
        assert {s.status for s in result.record.stages} == {"ran"}
        assert (by_mlci / "dvc.lock").read_bytes() == (by_dvc / "dvc.lock").read_bytes()
        assert (by_mlci / "dvc.yaml").read_bytes() == (by_dvc / "dvc.yaml").read_bytes() == dvc_yaml
