"""Every DVC call goes through this package; nothing else in mlci imports dvc.

Parsing DVC's files (dvc.yaml, dvc.lock, params files) needs only YAML
(`project`), so `mlci report` and `mlci config` never import DVC. Everything
else imports DVC inside its functions: templating (`templates`), the repository
and the remote (`repo`, `remotes`), `mlci run`'s pull, repro and push in process
(`pipeline`, with `stages` and `capture` for the stage commands and their
output), and tracked outputs fetched, exported or added (`outputs`). DVC's
failures become one line (`messages`) and DESIGN.md's exit codes.
"""

from mlci.dvc.outputs import TrackedOut, add_and_push, export_output, fetch_outputs, tracked_out
from mlci.dvc.pipeline import Pipeline, PullResult, StageRun
from mlci.dvc.project import flatten, load_yaml, parse
from mlci.dvc.remotes import check_remote, resolve_remote
from mlci.dvc.repo import Remote, check_pipeline, opened
from mlci.dvc.templates import TemplateError, parse_python_params, resolve_templates

__all__ = [
    "Pipeline",
    "PullResult",
    "Remote",
    "StageRun",
    "TemplateError",
    "TrackedOut",
    "add_and_push",
    "check_pipeline",
    "check_remote",
    "export_output",
    "fetch_outputs",
    "flatten",
    "load_yaml",
    "opened",
    "parse",
    "parse_python_params",
    "resolve_remote",
    "resolve_templates",
    "tracked_out",
]
