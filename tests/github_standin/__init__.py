"""A stand-in for GitHub's REST API that mlci's tests talk to over real HTTP.

GitHub cannot be reached from the test machines, so tests start `GitHubStandin`
(a threaded HTTP server on 127.0.0.1) and point PyGithub or ``GITHUB_API_URL`` at
``standin.url``. The stand-in keeps repositories, pull requests, comments, check
runs, statuses, releases with assets, deployments and git refs in memory and
answers with GitHub's semantics and complete response bodies.

Every request and every response is checked against GitHub's own OpenAPI
description (``tests/contracts/github/github-rest-subset.json``) with openapi-core: a
request that breaks the contract is answered 422 (400 for unparsable JSON) and,
like any unknown route or any response of ours that does not fit the schema,
recorded in ``standin.violations``. Tests end with ``assert standin.violations == []``.

``validate_event`` and ``make_event`` do the same for webhook payloads (the event
files handed to mlci or to ``act``), against ``github-webhooks-subset.json``.

The package: ``standin`` (the class a test holds, and the ``github`` fixture), ``server`` (HTTP:
route, check, authenticate, answer), ``routes/`` (the operations by API area; ``routes/table``
lists them all), ``state`` and ``views`` (what the stand-in knows, and how GitHub renders it),
``objects`` (GitHub's JSON objects), ``messages`` (what handlers receive and return), ``faults``,
``contract`` (the OpenAPI checks) and ``events`` (webhook payloads).
"""

from tests.github_standin.contract import SPEC_DIR_ENV, ContractNotFoundError, contract_dir
from tests.github_standin.events import EventValidationError, make_event, validate_event
from tests.github_standin.routes.issues import COMMENT_BODY_LIMIT
from tests.github_standin.standin import GitHubStandin, github
from tests.github_standin.state import ACTIONS_BOT

__all__ = [
    "ACTIONS_BOT",
    "COMMENT_BODY_LIMIT",
    "SPEC_DIR_ENV",
    "ContractNotFoundError",
    "EventValidationError",
    "GitHubStandin",
    "contract_dir",
    "github",
    "make_event",
    "validate_event",
]
