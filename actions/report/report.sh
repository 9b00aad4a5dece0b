#!/usr/bin/env bash
# `mlci report` in the mode the inputs ask for (see action.yml).
set -euo pipefail

absolute() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$GITHUB_WORKSPACE/$1"; fi; }
args=()
[[ -n "$MLCI_ID" ]] && args+=(--id "$MLCI_ID")
[[ "$MLCI_POST" == true ]] && args+=(--post)
if [[ -n "$MLCI_FROM" ]]; then
  exec python "$GITHUB_ACTION_PATH/from_artifact.py" "$(absolute "$MLCI_FROM")" "${args[@]}"
fi

[[ -n "$MLCI_BASE" ]] && args+=(--base "$MLCI_BASE")
[[ "$MLCI_PULL" == true ]] && args+=(--pull)
[[ -n "$MLCI_OUTPUT" ]] && args+=(--format json --output "$(absolute "$MLCI_OUTPUT")/report.json")
exec mlci report "${args[@]}" </dev/null
