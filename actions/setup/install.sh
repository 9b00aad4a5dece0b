#!/usr/bin/env bash
# Install mlci as the `version` input asks (see action.yml), with the extras the job needs,
# then the project's own requirements file, and print what is installed.
set -euo pipefail

if [[ ! "$MLCI_EXTRAS" =~ ^[A-Za-z0-9_,-]*$ ]]; then
  echo "::error title=mlci setup::extras must be comma-separated names, got: $MLCI_EXTRAS" >&2
  exit 2
fi

# an S3 (or MinIO) DVC remote needs dvc's s3 plugin: add the extra when the remote is one
remote="${MLCI_DVC_REMOTE_URL:-}"
if [[ -z "$remote" && -f .dvc/config ]]; then
  remote="$(grep -hE '^\s*url\s*=' .dvc/config .dvc/config.local 2>/dev/null | head -n 1 || true)"
fi
extras="$MLCI_EXTRAS"
if [[ "$remote" =~ s3:// ]]; then
  extras="$extras,s3"
fi
# one name once, no empty names: "dvc,,gx,dvc" -> "dvc,gx"
extras="$(tr ',' '\n' <<<"$extras" | awk 'NF && !seen[$0]++' | paste -sd, -)"
extras="${extras:+[$extras]}"

case "$MLCI_VERSION" in
  installed) spec="" ;;
  "") spec="$(cd "$GITHUB_ACTION_PATH/../.." && pwd)$extras" ;;
  ./* | ../* | /*) spec="$MLCI_VERSION$extras" ;;
  *) spec="mlci$extras==$MLCI_VERSION" ;;
esac

if [[ -n "$spec" ]]; then
  echo "installing $spec"
  python -m pip install --disable-pip-version-check "$spec"
  requirements="${MLCI_REQUIREMENTS:-}"
  if [[ -n "$requirements" && -f "$requirements" ]]; then
    echo "installing the project's requirements: $requirements"
    python -m pip install --disable-pip-version-check -r "$requirements"
  elif [[ -n "$requirements" ]]; then
    echo "no $requirements in $(pwd): installing no project requirements"
  fi
fi
version="$(mlci --version)"
echo "$version"
echo "version=${version##* }" >>"$GITHUB_OUTPUT"
