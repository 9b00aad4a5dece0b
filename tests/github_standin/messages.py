"""What a route handler receives and returns: the request context, the response, GitHub's error
bodies (raised as ``Fail``), and the answers the handlers share: a page of a list with its Link
header, a created object with its Location, a lookup that is 404 when the id is unknown."""

from __future__ import annotations

import copy
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.github_standin.state import Account, Repo, State, Token

JSON = dict[str, Any]
T = TypeVar("T")

DOCS_URL = "https://docs.github.com/rest"
NOT_ACCESSIBLE = "Resource not accessible by integration"


@dataclass
class Resp:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (downloads, injected HTML)
    content_type: str = "application/json; charset=utf-8"


class Fail(Exception):
    """Answer the request with GitHub's error body for ``status``."""

    def __init__(
        self, status: int, message: str, errors: list[JSON] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.extra = extra


def error_body(status: int, message: str, errors: list[JSON] | None = None, **extra: Any) -> JSON:
    body: JSON = {"message": message}
    if errors is not None:
        body["errors"] = errors
    body |= extra
    body.setdefault("documentation_url", DOCS_URL)
    body["status"] = str(status)
    return body


def invalid(resource: str, field_name: str, code: str = "invalid", **more: Any) -> Fail:
    error = {"resource": resource, "code": code, "field": field_name, **more}
    return Fail(422, "Validation Failed", [error])


Handler = Callable[[State, "Ctx"], Resp]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str  # the contract's path, to validate against
    handler: Handler
    uploads: bool = False  # served from uploads.github.com on github.com

    @property
    def name(self) -> str:
        return self.handler.__name__


@dataclass
class Ctx:
    route: Route
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    raw: bytes
    headers: dict[str, str]
    account: Account
    token: Token
    token_text: str
    repo: Repo | None

    @property
    def r(self) -> Repo:
        assert self.repo is not None
        return self.repo

    @property
    def path(self) -> str:
        """The request's path (for pagination links)."""
        params = {k: urllib.parse.quote(v) for k, v in self.params.items()}
        return self.route.template.format(**params)

    def find(self, items: Mapping[int, T], param: str) -> T:
        """The item whose id the path parameter ``param`` names; 404 if there is none."""
        item = items.get(int(self.params[param]))
        if item is None:
            raise Fail(404, "Not Found")
        return item


def listing(st: State, ctx: Ctx, items: list[Any]) -> Resp:
    """200 with the page of ``items`` the query asks for, and GitHub's Link header."""
    per_page = max(1, min(int(ctx.query.get("per_page") or 30), 100))
    page = max(1, int(ctx.query.get("page") or 1))
    last = max(1, math.ceil(len(items) / per_page))

    def link(number: int, rel: str) -> str:
        query = urllib.parse.urlencode(ctx.query | {"page": str(number)})
        return f'<{st.url}{ctx.path}?{query}>; rel="{rel}"'

    links = []
    if page > 1:
        links += [link(page - 1, "prev")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first")]
    headers = {"Link": ", ".join(links)} if links else {}
    return Resp(200, items[(page - 1) * per_page : page * per_page], headers)


def found(item: JSON) -> Resp:
    """200 with a copy of ``item`` (the stored one stays the stand-in's)."""
    return Resp(200, copy.deepcopy(item))


def created(item: JSON) -> Resp:
    """201 with a copy of ``item`` and its ``Location``."""
    return Resp(201, copy.deepcopy(item), {"Location": item["url"]})


def commit_or_422(st: State, repo: Repo, ref: str) -> str:
    """The commit ``ref`` names, else GitHub's 422 for an unknown commit."""
    sha = st.resolve(repo, ref)
    if sha is None:
        raise Fail(422, f"No commit found for SHA: {ref}")
    return sha


def known_commit(repo: Repo, sha: str) -> str:
    """``sha`` if the repository has that commit (exactly), else GitHub's 422."""
    if sha not in repo.commits:
        raise Fail(422, f"No commit found for SHA: {sha}")
    return sha
