"""GitHub's own API description (vendored under tests/contracts/github) and the checks against
it: where the contract files are, the REST operations' requests and responses checked with
openapi-core, and the webhook payload schemas."""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import (
    OAS30Validator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)

from tests.github_standin.messages import Resp, Route
from tests.github_standin.objects import q

JSON = dict[str, Any]

SPEC_DIR_ENV = "MLCI_GITHUB_SPEC_DIR"
DEFAULT_SPEC_DIR = Path(__file__).resolve().parent.parent / "contracts" / "github"
REST_SPEC = "github-rest-subset.json"
WEBHOOKS_SPEC = "github-webhooks-subset.json"

API_ORIGIN = "https://api.github.com"  # the origins the contract names, used only to validate
UPLOADS_ORIGIN = "https://uploads.github.com"


class ContractNotFoundError(FileNotFoundError):
    """The GitHub OpenAPI files are missing: the stand-in refuses to run unvalidated."""


def contract_dir(directory: Path | None = None) -> Path:
    """The directory holding the two contract files: ``directory``, else ``$MLCI_GITHUB_SPEC_DIR``,
    else tests/contracts/github (vendored). Raises ContractNotFoundError if they are missing."""
    if directory is None:
        configured = os.environ.get(SPEC_DIR_ENV)
        directory = Path(configured) if configured else DEFAULT_SPEC_DIR
    missing = [directory / name for name in (REST_SPEC, WEBHOOKS_SPEC)]
    missing = [path for path in missing if not path.is_file()]
    if missing:
        raise ContractNotFoundError(
            f"GitHub API contract not found: {', '.join(map(str, missing))}. The GitHub stand-in "
            f"validates every request and response against it and will not run without it: "
            f"restore tests/contracts/github or set {SPEC_DIR_ENV}."
        )
    return directory


def _allow_null_in_nullable_enums(node: Any) -> None:
    """``nullable: true`` next to an ``enum`` without null: GitHub sends null there (a queued
    check run's ``conclusion``, an open issue's ``state_reason``), but OpenAPI 3.0.3 reads the enum
    as forbidding it. The 3.1 webhook schemas list null in such enums; do the same here."""
    if isinstance(node, dict):
        if node.get("nullable") is True and "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _allow_null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _allow_null_in_nullable_enums(value)


@lru_cache(maxsize=2)
def _rest_contract(path: str) -> tuple[OpenAPI, JSON]:
    doc = json.loads(Path(path).read_text())
    _allow_null_in_nullable_enums(doc)
    return OpenAPI.from_dict(doc), doc


@lru_cache(maxsize=2)
def webhook_validators(path: str) -> dict[str, tuple[str, OAS31Validator]]:
    doc = json.loads(Path(path).read_text())
    validators: dict[str, tuple[str, OAS31Validator]] = {}
    for key, item in doc["webhooks"].items():
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = {"$ref": ref, "components": doc["components"]}
        validators[key] = (
            ref.rsplit("/", 1)[-1],
            OAS31Validator(schema, format_checker=oas31_format_checker),
        )
    return validators


# --------------------------------------------------------------------------- helpers


def _explain(exc: BaseException) -> str:
    """openapi-core's error, short: the schema errors under it by path, else its message."""
    cause = exc.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if schema_errors:
        lines = []
        for error in schema_errors:
            where = ".".join(map(str, error.absolute_path)) or "<body>"
            lines.append(f"{where}: {error.message[:200]}")
        return f"{type(exc).__name__}: " + "; ".join(lines)
    text = str(exc) if cause is None or str(cause) in str(exc) else f"{exc}: {cause}"
    return text[:500]


class RestContract:
    """The REST description in ``directory``: checks requests and the stand-in's responses."""

    def __init__(self, directory: Path) -> None:
        self._api, self._doc = _rest_contract(str(directory / REST_SPEC))
        self._lock = threading.Lock()  # openapi-core's validators are not thread-safe

    @staticmethod
    def request(
        route: Route,
        params: dict[str, str],
        query: dict[str, str],
        raw: bytes,
        headers: dict[str, str],
    ) -> MockRequest:
        """The request as the contract sees it (at api.github.com or uploads.github.com)."""
        # slashes inside a parameter (refs, tags) must be percent-encoded for the path template
        path = route.template.format(**{k: q(v) for k, v in params.items()})
        if route.uploads:
            # GitHub stores whatever Content-Type the upload names (PyGithub guesses one from the
            # file name); the contract describes the body as application/octet-stream.
            content_type = "application/octet-stream"
        else:
            content_type = headers.get("content-type", "application/json").split(";")[0].strip()
        origin = UPLOADS_ORIGIN if route.uploads else API_ORIGIN
        # GitHub treats an empty query value as absent (PyGithub sends ``label=`` on every upload);
        # OpenAPI 3.0 forbids empty values unless allowEmptyValue, so they are dropped here.
        args = {k: v for k, v in query.items() if v != ""}
        return MockRequest(
            origin, route.method, path, args=args, data=raw, content_type=content_type
        )

    def request_problem(self, request: MockRequest) -> str | None:
        """What is wrong with ``request`` by the contract, or None."""
        try:
            with self._lock:
                self._api.validate_request(request)
        except OpenAPIError as exc:
            return _explain(exc)
        return None

    def response_problem(self, request: MockRequest | None, resp: Resp) -> str | None:
        """What is wrong with the answer ``resp`` to ``request`` (None: an unrouted request)."""
        payload = b"" if resp.body is None else json.dumps(resp.body).encode()
        if request is None:
            return self._error_shape_problem(resp)
        try:
            with self._lock:
                self._api.validate_response(
                    request, MockResponse(payload, resp.status, resp.headers, "application/json")
                )
        except ResponseNotFound:
            return self._error_shape_problem(resp)
        except OpenAPIError as exc:
            return _explain(exc)
        return None

    def _error_shape_problem(self, resp: Resp) -> str | None:
        """Statuses an operation does not list (401, 5xx, secondary rate limits) still carry
        GitHub's error shapes: basic-error, or validation-error for 422."""
        name = "validation-error" if resp.status == 422 else "basic-error"
        schema = self._doc["components"]["schemas"][name]
        validator = OAS30Validator(schema, format_checker=oas30_format_checker)
        errors = [e.message for e in validator.iter_errors(resp.body)]
        if resp.status < 400:
            errors.append(f"status {resp.status} is not an answer this operation has")
        return "; ".join(errors) or None
