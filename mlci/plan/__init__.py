"""`mlci plan`: the DVC pipeline split into jobs for runners, from DVC's graph and run-cache.

`graph` (DVC's stage graph and order), `runcache` (run, restore or unchanged, as
`dvc repro` would decide), `split` (upstream, branches, join), `runners` (labels),
`document` (the plan and its JSON), `build` (putting them together), `render` (terminal).
"""

from mlci.plan.build import make
from mlci.plan.document import Plan

__all__ = ["Plan", "make"]
