#!/usr/bin/env bash
# Read a GTO tag (refs/tags/NAME@vX.Y.Z, NAME#STAGE#N, ...) into event/name/version/stage
# outputs, as `gto check-ref` does. Exit 2 for a ref that is not a registry tag.
set -euo pipefail

tag="${1#refs/tags/}"
name_re='([a-zA-Z0-9]([a-zA-Z0-9_/=-]*[a-zA-Z0-9])?)'
version_re='(v[0-9]+\.[0-9]+\.[0-9]+)'
event="" version="" stage=""
if [[ "$tag" =~ ^${name_re}@${version_re}$ ]]; then
  event=registration version="${BASH_REMATCH[3]}"
elif [[ "$tag" =~ ^${name_re}@${version_re}!$ ]]; then
  event=deregistration version="${BASH_REMATCH[3]}"
elif [[ "$tag" =~ ^${name_re}#([a-zA-Z0-9_-]+)#[0-9]+$ ]]; then
  event=assignment stage="${BASH_REMATCH[3]}"
elif [[ "$tag" =~ ^${name_re}#([a-zA-Z0-9_-]+)!#[0-9]+$ ]]; then
  event=unassignment stage="${BASH_REMATCH[3]}"
elif [[ "$tag" =~ ^${name_re}@deprecated$ ]]; then
  event=deprecation
else
  echo "::error title=mlci release::not a model registry tag (GTO grammar): $tag" >&2
  exit 2
fi
name="${BASH_REMATCH[1]//=/:}"

echo "$event: $name${version:+ $version}${stage:+ stage $stage}"
{
  echo "tag=$tag"
  echo "event=$event"
  echo "name=$name"
  echo "version=$version"
  echo "stage=$stage"
} >>"$GITHUB_OUTPUT"
