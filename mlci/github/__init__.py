"""GitHub: every API call goes through here. Nothing else imports PyGithub.

The client is built once with bounded retries (5xx, timeouts, secondary rate
limits with Retry-After), and every failure becomes a ServiceError (exit 3)
that says what was being done. The token is never printed.

`client` holds the PyGithub client; `comments`, `checks`, `pulls` and `releases` what
mlci writes through it.
"""

from mlci.github.checks import create_check_run
from mlci.github.client import Client, Identity
from mlci.github.comments import Posted, upsert_comment, with_history
from mlci.github.pulls import Pull, create_pull, pulls_from
from mlci.github.releases import Deployment, create_deployment, upsert_release

__all__ = [
    "Client",
    "Deployment",
    "Identity",
    "Posted",
    "Pull",
    "create_check_run",
    "create_deployment",
    "create_pull",
    "pulls_from",
    "upsert_comment",
    "upsert_release",
    "with_history",
]
