#!/usr/bin/env bash
# `mlci release TAG`, or `mlci release --auto --push` (see action.yml): the new registration
# tag goes to origin, so the registry on GitHub has it (a tag pushed with GITHUB_TOKEN starts
# no workflow run, so the same job releases it).
set -euo pipefail

if [[ "$MLCI_AUTO" == true ]]; then
  exec mlci release --auto --push </dev/null
fi
exec mlci release "$MLCI_TAG" </dev/null
