"""`mlci retrain`: new labelled data into the dataset, on a branch, as a pull request.

The served model stores labelled feedback (`feedback-*.csv` in the feedback store);
`retrain` merges it into a DVC-tracked CSV dataset of `[tool.mlci.data]`, validates
the result with the dataset's expectation suite, `dvc add` + `dvc push`, commits the
new `.dvc` file on `mlci/retrain-<dataset>-<md5>`, pushes that branch and opens a
pull request whose body is the data diff. The pull request's own CI then re-runs
the pipeline and reports the metric change.

Feedback files are only read, never moved or deleted (the store may be a bucket the
service writes to): the de-duplication makes a second run over the same files a
no-op once the pull request is merged.

- `run`: the run, in a temporary worktree of HEAD (`retrain`);
- `sources`: the feedback store, or the file, folder or URL given;
- `merge`: the merge rule; `proposal`: the commit, the branch's pull request and its
  body; `result`: what the run did.
"""

from mlci.retrain.proposal import pull_body
from mlci.retrain.result import RetrainResult, SourceFile
from mlci.retrain.run import retrain
from mlci.retrain.sources import FEEDBACK_ENV, FEEDBACK_PATTERN

__all__ = [
    "FEEDBACK_ENV",
    "FEEDBACK_PATTERN",
    "RetrainResult",
    "SourceFile",
    "pull_body",
    "retrain",
]
