#!/usr/bin/env bash
# Point DVC at the remote and MLflow at the tracking server given as inputs (both optional).
set -euo pipefail

if [[ -n "$MLCI_DVC_REMOTE_URL" ]]; then
  # .dvc/config.local: the committed .dvc/config stays as it is
  dvc remote add --local --default --force mlci-ci "$MLCI_DVC_REMOTE_URL"
  echo "DVC remote: default remote 'mlci-ci' set in .dvc/config.local"
  if [[ -n "${MLCI_DVC_REMOTE_ENDPOINT:-}" ]]; then
    dvc remote modify --local mlci-ci endpointurl "$MLCI_DVC_REMOTE_ENDPOINT"
    echo "DVC remote: endpointurl of 'mlci-ci' set"
  fi
elif [[ -n "${MLCI_DVC_REMOTE_ENDPOINT:-}" ]]; then
  echo "::error::dvc-remote-endpoint is set but dvc-remote-url is not: give both" >&2
  exit 2
fi

if [[ -n "$MLCI_TRACKING_URI" ]]; then
  echo "::add-mask::$MLCI_TRACKING_URI"
  delimiter="mlci_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf 'MLFLOW_TRACKING_URI<<%s\n%s\n%s\n' "$delimiter" "$MLCI_TRACKING_URI" "$delimiter" >>"$GITHUB_ENV"
  echo "MLflow: MLFLOW_TRACKING_URI set for the rest of the job"
fi
