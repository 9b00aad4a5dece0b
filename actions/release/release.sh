#!/usr/bin/env bash
# `mlci release TAG`, or `mlci release --auto` (see action.yml).
set -euo pipefail

if [[ "$MLCI_AUTO" == true ]]; then
  exec mlci release --auto </dev/null
fi
exec mlci release "$MLCI_TAG" </dev/null
