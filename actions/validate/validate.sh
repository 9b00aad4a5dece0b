#!/usr/bin/env bash
# `mlci validate data|model` with the flags the inputs ask for (see action.yml).
set -euo pipefail

args=()
[[ -n "$MLCI_BASE" ]] && args+=(--base "$MLCI_BASE")
case "$MLCI_KIND" in
  data)
    [[ "$MLCI_DOCS" == true ]] && args+=(--docs)
    read -ra names <<<"$MLCI_NAMES"
    [[ ${#names[@]} -gt 0 ]] && args+=(-- "${names[@]}")
    ;;
  model) [[ "$MLCI_MODEL_CHECKS" == false ]] && args+=(--no-checks) ;;
  *)
    echo "::error title=mlci validate::kind must be 'data' or 'model', got: $MLCI_KIND" >&2
    exit 2
    ;;
esac

echo "result=${MLCI_WORKING_DIRECTORY%/}/.mlci/validation/$MLCI_KIND.json" >>"$GITHUB_OUTPUT"
exec mlci validate "$MLCI_KIND" "${args[@]}" </dev/null
