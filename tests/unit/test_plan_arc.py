"""deploy/arc's CPU scale set, for the stages `mlci plan` sends to CPU runners (docs/runners.md)."""

from __future__ import annotations

import re

from tests.unit.test_deploy_files import DOCS, GPU, VALUES, load, schema_errors, values_problems

CPU_VALUES = VALUES.with_name("cpu-runner-scale-set.values.yaml")


def cpu_problems(values: dict[str, object]) -> list[str]:
    # the chart's keys, the name, scale to zero; the GPU checks of the GPU file are the opposite here
    gpu_only = ("nodeSelector", "tolerations", GPU)
    problems = [p for p in values_problems(values) if not any(g in p for g in gpu_only)]
    spec = values["template"]["spec"]  # type: ignore[index]
    problems += schema_errors("podspec-v1.33-strict.json", spec)
    for container in spec["containers"]:
        if GPU in ((container.get("resources") or {}).get("limits") or {}):
            problems.append("a CPU runner asks for no GPU")
    if any(t.get("key") == GPU for t in spec.get("tolerations") or []):
        problems.append("a CPU runner does not tolerate the GPU nodes' taint")
    return problems


def test_cpu_values_are_valid_and_hold_no_gpu() -> None:
    assert cpu_problems(load(CPU_VALUES)) == []
    broken = load(CPU_VALUES)
    broken["template"]["spec"]["containers"][0]["resources"]["limits"][GPU] = 1
    broken["template"]["spec"]["tolerations"] = [{"key": GPU, "operator": "Exists"}]
    assert len(cpu_problems(broken)) == 2
    assert cpu_problems({**load(CPU_VALUES), "minRunner": 1}) != []


def test_docs_map_plan_labels_onto_both_scale_sets() -> None:
    docs = DOCS.read_text()
    gpu, cpu = load(VALUES)["runnerScaleSetName"], load(CPU_VALUES)["runnerScaleSetName"]
    assert gpu != cpu
    section = docs[docs.index("### One pipeline on a GPU pool and a CPU pool") :]
    assert re.search(rf'^"train@\*" = \["{gpu}"\]$', section, re.MULTILINE)
    assert re.search(rf'^default = \["{cpu}"\]$', section, re.MULTILINE)
    assert "cpu-runner-scale-set.values.yaml" in section
