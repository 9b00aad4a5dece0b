#!/usr/bin/env bash
# `mlci report` in the mode the inputs ask for (see action.yml).
set -euo pipefail

absolute() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$GITHUB_WORKSPACE/$1"; fi; }
args=()
[[ -n "$MLCI_ID" ]] && args+=(--id "$MLCI_ID")
[[ "$MLCI_POST" == true ]] && args+=(--post)
if [[ -n "$MLCI_FROM" ]]; then
  # a saved report (an artifact of a pull request's run): rendered, never recomputed.
  # Without --post this is the pull request run's own verdict: fail when a validation failed.
  [[ "$MLCI_POST" == true ]] || args+=(--check)
  exec mlci report --from "$(absolute "$MLCI_FROM")/report.json" "${args[@]}" </dev/null
fi

[[ -n "$MLCI_BASE" ]] && args+=(--base "$MLCI_BASE")
[[ "$MLCI_PULL" == true ]] && args+=(--pull)
[[ -n "$MLCI_OUTPUT" ]] && args+=(--format json --output "$(absolute "$MLCI_OUTPUT")/report.json")
exec mlci report "${args[@]}" </dev/null
