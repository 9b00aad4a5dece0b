"""`mlci init`: CI workflows, `[tool.mlci]` and a gx/ skeleton for a git + DVC repository.

- `planner`: `init` (and `write`): the project found, the options checked, the reusable
  workflows pinned, every file planned and, unless a dry run, written; the next steps;
- `changes`: the plan as data (each file's change and diff, the refusal of conflicts);
- `workflows`: the workflow files; `pyproject`: `[tool.mlci]` merged into pyproject.toml,
  edited as text by `toml_text`; `gx`: the gx/ project and the starter suite inferred
  from a dataset that `datasets` reads.
"""

from mlci.init.changes import FileChange, InitPlan
from mlci.init.gx import starter_suite
from mlci.init.planner import DEFAULT_REF, DEFAULT_REPO, init, write

__all__ = [
    "DEFAULT_REF",
    "DEFAULT_REPO",
    "FileChange",
    "InitPlan",
    "init",
    "starter_suite",
    "write",
]
