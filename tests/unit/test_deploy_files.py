"""The deployment files in deploy/ are valid for the tools that read them.

The compose file against the Compose Specification's schema, the ARC values against the
keys the gha-runner-scale-set chart reads, the runner pod against Kubernetes' PodSpec
schema; plus the checks a schema cannot make. The schemas are vendored in tests/schemas/
(README.md there names their sources), so this runs offline. Each check is also shown to
reject a broken copy of the shipped file.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT

SCHEMAS = ROOT / "tests" / "schemas"
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "compose" / ".env.example"
VALUES = ROOT / "deploy" / "arc" / "gpu-runner-scale-set.values.yaml"
DOCS = ROOT / "docs" / "runners.md"
PR_WORKFLOW = ROOT / ".github" / "workflows" / "mlci-pr.yml"

GPU = "nvidia.com/gpu"
# ${NAME}, ${NAME:-default}, ${NAME:?error} and the like; $$ is a literal dollar.
VARIABLE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.IGNORECASE)

Doc = dict[str, Any]


def load(path: Path) -> Doc:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path}: not a mapping"
    return loaded


def schema_errors(schema_file: str, instance: object) -> list[str]:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def env_example() -> dict[str, str]:
    entries = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            entries[name.strip()] = value.strip()
    return entries


def strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


# compose.yaml


def compose_problems(compose: Doc, env: dict[str, str]) -> list[str]:
    problems = schema_errors("compose-spec.json", compose)
    services: dict[str, Doc] = compose.get("services") or {}
    declared_volumes = set(compose.get("volumes") or {})

    used = {match["name"] for text in strings(compose) for match in VARIABLE.finditer(text)}
    problems += [f"${{{name}}} is not in .env.example" for name in sorted(used - env.keys())]
    problems += [f".env.example sets {name}, unused" for name in sorted(env.keys() - used)]

    for name, service in services.items():
        # a one-shot job (restart "no") may have no health check; a server must
        if service.get("restart") != "no" and "healthcheck" not in service:
            problems.append(f"service {name}: no healthcheck")
        for needed, condition in (service.get("depends_on") or {}).items():
            if needed not in services:
                problems.append(f"service {name}: depends on unknown service {needed}")
            elif condition.get("condition") == "service_healthy" and (
                "healthcheck" not in services[needed]
            ):
                problems.append(f"service {name}: waits for {needed}, which has no healthcheck")
        for mount in service.get("volumes") or []:
            source = mount.split(":")[0] if isinstance(mount, str) else mount.get("source", "")
            if not source.startswith((".", "/")) and source not in declared_volumes:
                problems.append(f"service {name}: volume {source} is not declared")
        if service.get("restart") == "no" and not any(
            ((other.get("depends_on") or {}).get(name) or {}).get("condition")
            == "service_completed_successfully"
            for other in services.values()
        ):
            # `docker compose up --wait` takes an exited one-shot for a failure otherwise
            problems.append(f"service {name}: one-shot that no server waits for")
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if SECRET_NAME.search(key) and value and not VARIABLE.search(str(value)):
                problems.append(f"service {name}: {key} is written in the file, not read from .env")
    return problems


def test_compose_file_is_valid() -> None:
    assert compose_problems(load(COMPOSE), env_example()) == []


def test_compose_runs_mlflow_on_postgres_and_s3() -> None:
    compose = load(COMPOSE)
    mlflow = compose["services"]["mlflow"]
    command = " ".join(mlflow["command"])
    assert "--backend-store-uri=postgresql+psycopg2://" in command
    assert "psycopg2-binary" in mlflow["build"]["dockerfile_inline"]  # the driver the URL names
    assert "--artifacts-destination=s3://mlflow/" in command
    assert mlflow["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    init = " ".join(compose["services"]["minio-init"]["command"])
    assert "local/dvc local/mlflow" in init  # both buckets the docs name are created


def test_env_example_holds_no_credentials() -> None:
    secrets = {k: v for k, v in env_example().items() if re.search("PASSWORD|SECRET", k)}
    assert secrets
    for name, value in secrets.items():
        assert value.startswith("replace"), f"{name} must be a placeholder"


def mutate_compose(change: Callable[[Doc], None]) -> Doc:
    compose = copy.deepcopy(load(COMPOSE))
    change(compose)
    return compose


BROKEN_COMPOSE: dict[str, Callable[[Doc], None]] = {
    "unknown service key": lambda c: c["services"]["minio"].update(imagee="x"),
    "healthcheck interval not a duration string": lambda c: c["services"]["postgres"][
        "healthcheck"
    ].update(interval=5),
    "ports not a list": lambda c: c["services"]["mlflow"].update(ports="5000:5000"),
    "server without healthcheck": lambda c: c["services"]["mlflow"].pop("healthcheck"),
    "waits on a service without healthcheck": lambda c: c["services"]["minio"].pop("healthcheck"),
    "undeclared volume": lambda c: c.pop("volumes"),
    "one-shot nobody waits for": lambda c: c["services"]["mlflow"]["depends_on"].pop("minio-init"),
    "literal password": lambda c: c["services"]["postgres"]["environment"].update(
        POSTGRES_PASSWORD="hunter2"
    ),
    "variable missing from .env.example": lambda c: c["services"]["mlflow"]["environment"].update(
        EXTRA="${NOT_IN_ENV_EXAMPLE}"
    ),
}


@pytest.mark.parametrize("change", BROKEN_COMPOSE.values(), ids=BROKEN_COMPOSE.keys())
def test_broken_compose_is_rejected(change: Callable[[Doc], None]) -> None:
    assert compose_problems(mutate_compose(change), env_example()) != []


# gpu-runner-scale-set.values.yaml


def chart_paths() -> list[tuple[str, ...]]:
    listing = json.loads((SCHEMAS / "gha-runner-scale-set-0.14.2.values-paths.json").read_text())
    return [tuple(path.split(".")) for path in listing["paths"]]


def value_paths(node: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from value_paths(value, (*prefix, str(key)))
    else:
        yield prefix


def values_problems(values: Doc) -> list[str]:
    problems = []
    read = chart_paths()
    for path in value_paths(values):
        # read by the chart itself, or inside a subtree the chart reads whole
        if not any(path[: len(known)] == known for known in read):
            problems.append(f"{'.'.join(path)}: not a value the chart reads")
    if not isinstance(values.get("githubConfigSecret"), str):
        problems.append("githubConfigSecret: name a Secret; never put credentials in values")
    name = values.get("runnerScaleSetName", "")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,43}[a-z0-9])?", str(name)):
        problems.append(f"runnerScaleSetName {name!r}: not a name the chart accepts")
    if values.get("minRunners") != 0:
        problems.append("minRunners: 0, so that no GPU is held while no job waits")
    max_runners = values.get("maxRunners")
    if not isinstance(max_runners, int) or max_runners < 1:
        problems.append("maxRunners: a positive integer")
    if "containerMode" in values:
        problems.append("containerMode: steps must run in the runner container, beside its GPU")
    spec = (values.get("template") or {}).get("spec") or {}
    return problems + pod_problems(spec)


def pod_problems(spec: Doc) -> list[str]:
    problems = schema_errors("podspec-v1.33-strict.json", spec)
    if problems:  # the checks below rely on the shape the schema asks for
        return problems
    containers = spec["containers"]
    runners = [c for c in containers if c.get("name") == "runner"]
    if len(runners) != 1:
        return [*problems, "template.spec.containers: exactly one container named runner"]
    runner = runners[0]
    if not str(runner.get("image", "")).startswith("ghcr.io/actions/actions-runner"):
        problems.append("runner image: ghcr.io/actions/actions-runner or an image built FROM it")
    limits = (runner.get("resources") or {}).get("limits") or {}
    if str(limits.get(GPU)) != "1":
        problems.append(f"runner: resources.limits {GPU}: 1")
    if not spec.get("nodeSelector"):
        problems.append("nodeSelector: GPU nodes only")
    if not any(
        t.get("key") == GPU and t.get("effect") == "NoSchedule" and t.get("operator") == "Exists"
        for t in spec.get("tolerations") or []
    ):
        problems.append(f"tolerations: the {GPU} NoSchedule taint of GPU nodes")
    volumes = {v.get("name") for v in spec.get("volumes") or []}
    for container in containers:
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") not in volumes:
                problems.append(f"{container.get('name')}: mounts undeclared {mount.get('name')}")
    return problems


def test_runner_values_are_valid() -> None:
    assert values_problems(load(VALUES)) == []


def mutate_values(change: Callable[[Doc], None]) -> Doc:
    values = copy.deepcopy(load(VALUES))
    change(values)
    return values


def _runner(values: Doc) -> Doc:
    container: Doc = values["template"]["spec"]["containers"][0]
    return container


BROKEN_VALUES: dict[str, Callable[[Doc], None]] = {
    "misspelt chart key": lambda v: v.update(maxRunner=3),
    "misspelt nested chart key": lambda v: v.update(containerMod={"type": "dind"}),
    "credentials inline": lambda v: v.update(githubConfigSecret={"github_token": "ghp_x"}),
    "idle runners kept": lambda v: v.update(minRunners=1),
    "container mode": lambda v: v.update(containerMode={"type": "kubernetes"}),
    "scale set name too long": lambda v: v.update(runnerScaleSetName="g" * 46),
    "unknown pod key": lambda v: v["template"]["spec"].update(toleration=[]),
    "toleration misspelt": lambda v: v["template"]["spec"]["tolerations"][0].update(
        opertor="Exists"
    ),
    "no GPU taint toleration": lambda v: v["template"]["spec"].pop("tolerations"),
    "no GPU limit": lambda v: _runner(v)["resources"]["limits"].pop(GPU),
    "no node selector": lambda v: v["template"]["spec"].pop("nodeSelector"),
    "container without image name type": lambda v: _runner(v).update(image=7),
    "runner renamed": lambda v: _runner(v).update(name="gpu"),
    "mount of an undeclared volume": lambda v: v["template"]["spec"]["volumes"].pop(),
    "resources not a mapping": lambda v: _runner(v).update(resources=["gpu"]),
}


@pytest.mark.parametrize("change", BROKEN_VALUES.values(), ids=BROKEN_VALUES.keys())
def test_broken_values_are_rejected(change: Callable[[Doc], None]) -> None:
    assert values_problems(mutate_values(change)) != []


# docs/runners.md against the files and the reusable workflows


def test_docs_use_the_scale_set_name_and_real_secrets() -> None:
    docs = DOCS.read_text()
    name = load(VALUES)["runnerScaleSetName"]
    assert f"""runner: '["{name}"]'""" in docs
    on = yaml.safe_load(PR_WORKFLOW.read_text())[True]  # YAML 1.1 reads the key `on` as True
    declared = set(on["workflow_call"]["secrets"])
    shown = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+): \$\{\{ secrets\.", docs, re.MULTILINE))
    assert shown, "docs/runners.md shows no secrets: block"
    assert shown <= declared, f"not secrets of mlci-pr.yml: {sorted(shown - declared)}"
