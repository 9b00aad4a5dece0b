#!/usr/bin/env bash
# `mlci run` with the flags the inputs ask for (see action.yml).
set -euo pipefail

args=()
[[ "$MLCI_FORCE" == true ]] && args+=(--force)
[[ "$MLCI_PULL" == false ]] && args+=(--no-pull)
[[ "$MLCI_PUSH" == false ]] && args+=(--no-push)
[[ "$MLCI_TRACKING" == false ]] && args+=(--no-tracking)
[[ "$MLCI_VERBOSE" == true ]] && args+=(--verbose)
if [[ "${MLCI_RESTORE_ONLY:-false}" == true ]]; then
  args+=(--restore-only)
  read -ra allowed <<<"${MLCI_ALLOW_RUN:-}"
  for stage in "${allowed[@]}"; do args+=(--allow-run "$stage"); done
fi
read -ra targets <<<"$MLCI_TARGETS"

echo "run-json=${MLCI_WORKING_DIRECTORY%/}/.mlci/run.json" >>"$GITHUB_OUTPUT"
# nothing answers a prompt in CI: DVC asks on a terminal (act gives steps one)
# exec: a cancelled job signals the step's entry process only; mlci must be that process
exec mlci run "${args[@]}" "${targets[@]}" </dev/null
