"""The workflow files of `mlci init`: each calls one of mlci's reusable workflows, pinned
to a ref, with its triggers, its job's permissions and the inputs the options give."""

from __future__ import annotations

import json
from dataclasses import dataclass

WORKFLOWS_DIR = ".github/workflows"

_SECRETS_COMMENT = """\
    # A DVC remote or MLflow server that needs credentials gets them from secrets, e.g.:
    # secrets:
    #   AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
    #   AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    #   MLFLOW_TRACKING_URI: ${{ secrets.MLFLOW_TRACKING_URI }}
"""


@dataclass(frozen=True)
class _Caller:
    """A workflow file; @REPO@ and @BRANCH@ in `about` and `on` are filled in."""

    name: str
    about: str  # the header comment, after "Written by `mlci init`."
    on: str  # the `on:` block
    permissions: tuple[str, ...]  # the job's, each with why
    concurrency: str | None = None  # the group
    cancel: bool = False  # a new run cancels the one in progress (pull requests)
    tail: str = _SECRETS_COMMENT  # below the job's inputs


_CALLERS = {
    "mlci-pr.yml": _Caller(
        name="mlci pr",
        about="""\
Every pull request: reproduce what changed in the DVC pipeline,
# validate the data and the model, and report against the base branch. This run gets a
# read-only token: the report leaves it as an artifact, and mlci-pr-comment.yml posts it
# (the fork-safe split: https://github.com/@REPO@/blob/main/docs/actions.md).
""",
        on="on:\n  pull_request:\n",
        permissions=("contents: read # read-only: the pull request's code runs here",),
        concurrency="mlci-pr-${{ github.event.pull_request.number }}",
        cancel=True,
    ),
    "mlci-pr-comment.yml": _Caller(
        name="mlci pr comment",
        about="""\
Posts the report of each finished `mlci pr` run: the comment,
# the mlci/report status and the mlci/data, mlci/model check runs. `workflow_run` runs
# this file as it is on the default branch, with a token that can write; the workflow it
# calls never checks out or runs the pull request's code, and reads the report as data.
""",
        on="""\
on: # zizmor: ignore[dangerous-triggers] nothing from the pull request runs here: the artifact is data, rendered with escaping
  workflow_run:
    workflows: [mlci pr]
    types: [completed]
""",
        permissions=(
            "actions: read # the report artifact of the pr run",
            "checks: write # mlci/data and mlci/model check runs",
            "pull-requests: write # the report comment",
            "statuses: write # the mlci/report commit status",
        ),
        tail="",
    ),
    "mlci-main.yml": _Caller(
        name="mlci main",
        about="""\
Pushes to @BRANCH@: reproduce the pipeline and fill the DVC
# remote's run-cache (pull requests then restore unchanged stages), then register a new
# model version when a model of dvc.yaml's artifacts changed.
""",
        on="on:\n  push:\n    branches: [@BRANCH@]\n",
        permissions=(
            "contents: write # mlci release --auto: the registration tag and the GitHub Release",
        ),
        concurrency="mlci-main-${{ github.ref }}",
    ),
    "mlci-release.yml": _Caller(
        name="mlci release",
        about="""\
Model-registry tags (GTO grammar): NAME@vX.Y.Z registers a
# version, NAME#STAGE#N deploys it to STAGE (in the GitHub environment of that name).
""",
        on="on:\n  push:\n    tags:\n      - '*@v*'\n      - '*#*#*'\n",
        permissions=(
            "contents: write # the GitHub Release and its assets",
            "deployments: write # a stage tag's deployment and its status",
        ),
        concurrency="mlci-release-${{ github.ref }}",
    ),
    "mlci-retrain.yml": _Caller(
        name="mlci retrain",
        about="""\
Weekly (and on demand): retrain on the feedback collected by the
# served model; opens a pull request with the data diff when there is new data.
""",
        on="""\
on:
  schedule:
    - cron: '17 4 * * 1'
  workflow_dispatch:
    inputs:
      source:
        description: New labelled data (a path or URL); empty = the feedback store.
        type: string
        default: ''
""",
        permissions=(
            "contents: write # the data branch",
            "pull-requests: write # the pull request with the data diff",
        ),
        concurrency="mlci-retrain",
        tail="""\
    # A pull request opened with GITHUB_TOKEN starts no workflow: pass a token whose
    # pull requests run CI (a GitHub App or fine-grained token), e.g.:
    # secrets:
    #   PR_TOKEN: ${{ secrets.PR_TOKEN }}
""",
    ),
}


def workflows(
    *,
    repo: str,
    ref: str,
    runner: list[str],
    mlci_version: str | None,
    branch: str,
    working_directory: str,
    validate_data: bool,
) -> dict[str, str]:
    """The text of each workflow file, by its name in .github/workflows."""
    common: dict[str, str] = {}
    if mlci_version is not None:
        common["mlci-version"] = f"'{mlci_version}'"
    project: dict[str, str] = dict(common)
    if working_directory != ".":
        project["working-directory"] = f"'{working_directory}'"
    labels = "'" + json.dumps(runner) + "'"
    inputs = {
        "mlci-pr.yml": {
            "runner": labels,
            **project,
            "validate-data": "true" if validate_data else "false",
        },
        "mlci-pr-comment.yml": common,
        "mlci-main.yml": {"runner": labels, **project},
        "mlci-release.yml": project,
        "mlci-retrain.yml": {**project, "source": "${{ inputs.source || '' }}"},
    }
    return {
        file: _render(caller, repo=repo, ref=ref, branch=branch, file=file, inputs=inputs[file])
        for file, caller in _CALLERS.items()
    }


def _render(
    caller: _Caller, *, repo: str, ref: str, branch: str, file: str, inputs: dict[str, str]
) -> str:
    head = f"# Written by `mlci init`. {caller.about}name: {caller.name}\n\n{caller.on}"
    concurrency = ""
    if caller.concurrency is not None:
        cancel = "true" if caller.cancel else "false"
        concurrency = (
            f"concurrency:\n  group: {caller.concurrency}\n  cancel-in-progress: {cancel}\n\n"
        )
    return (
        head.replace("@REPO@", repo).replace("@BRANCH@", branch)
        + f"\npermissions: {{}}\n\n{concurrency}jobs:\n  mlci:\n    permissions:\n"
        + "".join(f"      {line}\n" for line in caller.permissions)
        + f"    uses: {repo}/{WORKFLOWS_DIR}/{file}@{ref}\n"
        + _with(inputs)
        + caller.tail
    )


def _with(inputs: dict[str, str]) -> str:
    if not inputs:
        return ""
    return "    with:\n" + "".join(f"      {k}: {v}\n" for k, v in inputs.items())
