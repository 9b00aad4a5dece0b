#!/usr/bin/env bash
# Install mlci as the `version` input asks (see action.yml) and print what is installed.
set -euo pipefail

if [[ ! "$MLCI_EXTRAS" =~ ^[A-Za-z0-9_,-]*$ ]]; then
  echo "::error title=mlci setup::extras must be comma-separated names, got: $MLCI_EXTRAS" >&2
  exit 2
fi
extras="${MLCI_EXTRAS:+[$MLCI_EXTRAS]}"

case "$MLCI_VERSION" in
  installed) spec="" ;;
  "") spec="$(cd "$GITHUB_ACTION_PATH/../.." && pwd)$extras" ;;
  ./* | ../* | /*) spec="$MLCI_VERSION$extras" ;;
  *) spec="mlci$extras==$MLCI_VERSION" ;;
esac

if [[ -n "$spec" ]]; then
  python -m pip install --disable-pip-version-check "$spec"
fi
version="$(mlci --version)"
echo "$version"
echo "version=${version##* }" >>"$GITHUB_OUTPUT"
