#!/usr/bin/env bash
# The steps of actions/fanout (see action.yml): `plan`, `branch` or `join`.
set -euo pipefail

plan="$RUNNER_TEMP/mlci-plan.json"
case "$1" in
  plan)
    # the split and the remote's run-cache, read once; the outputs go to $GITHUB_OUTPUT
    mlci plan --format json </dev/null >"$plan"
    exec mlci fanout outputs "$plan"
    ;;
  branch)
    read -ra targets <<<"$MLCI_TARGETS"
    if [[ ${#targets[@]} -eq 0 ]]; then
      echo "::error title=mlci fanout::a branch needs its stages (targets is empty)" >&2
      exit 2
    fi
    log="$RUNNER_TEMP/mlci-branch.log"
    # the join records the one MLflow run; a branch pushes its outputs and run-cache.
    # nothing answers a prompt in CI: DVC asks on a terminal (act gives steps one)
    set +e
    mlci run --no-tracking "${targets[@]}" </dev/null 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    outcome=success
    [[ $status -eq 0 ]] || outcome=failure
    mlci fanout record --name "$MLCI_NAME" --targets "$MLCI_TARGETS" --runs-on "$MLCI_RUNS_ON" \
      --outcome "$outcome" --log "$log" --output "$RUNNER_TEMP/mlci-branch" </dev/null
    exit "$status"
    ;;
  join)
    # every job finished and left its record; the join's `mlci run --restore-only` then
    # refuses any stage but the join's own that the run-cache cannot restore
    mkdir -p "$RUNNER_TEMP/mlci-branches"
    exec mlci fanout check --records "$RUNNER_TEMP/mlci-branches" --expect "$MLCI_EXPECT" </dev/null
    ;;
  *)
    echo "::error title=mlci fanout::unknown step: $1 (plan, branch or join)" >&2
    exit 2
    ;;
esac
