"""The HTTP side: a threaded server on 127.0.0.1 whose every request is routed, checked against
the contract, authenticated (token, rate limit, read-only tokens), answered by its route's
handler or an injected fault, checked again, recorded, and sent."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import traceback
import urllib.parse
from typing import Any, NamedTuple

from openapi_core.testing import MockRequest

from tests.github_standin.contract import REST_SPEC, RestContract
from tests.github_standin.faults import Fault, take
from tests.github_standin.messages import NOT_ACCESSIBLE, Ctx, Fail, Resp, Route, error_body
from tests.github_standin.routes import table
from tests.github_standin.state import State

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON, or None
    status: int


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PyGithub's requests session expects
    server: _HTTPServer

    def _dispatch(self) -> None:
        self.server.app.serve(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: ``standin.requests`` is the log."""


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: Server) -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._open_lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is not an error of the stand-in."""


class Server:
    """Serves a new ``state`` at ``url`` from a background thread until ``stop()``."""

    def __init__(self, contract: RestContract) -> None:
        self._contract = contract
        self._httpd = _HTTPServer(self)
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.state = State(self.url)
        self.faults: list[Fault] = []
        self.delays: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down and close its socket (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.drop_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def serve(self, h: _Handler) -> None:
        """Answer one request (on the handler's thread) and record it in ``requests``."""
        method = h.command
        split = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        raw = _read_body(h)
        headers = {k.lower(): v for k, v in h.headers.items()}
        self._wait_if_delayed(method, split.path)
        self.state.sync_git()
        body: Any = None
        try:
            body, resp = self._respond(method, split.path, query, raw, headers)
        except Exception:  # a bug in the stand-in must fail the test, not hang it
            self._violation(f"{method} {split.path}: stand-in error\n{traceback.format_exc()}")
            resp = Resp(500, error_body(500, "Server Error"))
        with self.state.lock:
            self.requests.append(RecordedRequest(method, split.path, query, body, resp.status))
        _send(h, resp)

    def _wait_if_delayed(self, method: str, path: str) -> None:
        with self.state.lock:
            delay = take(self.delays, method, path)
        if delay:
            self._stopping.wait(delay.seconds)

    def _violation(self, text: str) -> None:
        with self.state.lock:
            self.violations.append(text)

    def _respond(
        self, method: str, path: str, query: dict[str, str], raw: bytes, headers: dict[str, str]
    ) -> tuple[Any, Resp]:
        """(parsed request body, response): route, validate, authenticate, fault, handle, validate."""
        if method == "GET" and (match := table.DOWNLOAD.fullmatch(path)):
            return None, table.download(self.state, match)
        found, params = table.route(method, path)
        if found is None:
            self._violation(f"{method} {path}: no such operation in {REST_SPEC}")
            return None, self._checked(None, None, Resp(404, error_body(404, "Not Found")))
        body: Any = None
        if not found.uploads and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                self._violation(f"{method} {path}: request body is not JSON")
                resp = Resp(400, error_body(400, "Problems parsing JSON"))
                return None, self._checked(None, None, resp)
        request = self._contract.request(found, params, query, raw, headers)
        problem = self._contract.request_problem(request)
        if problem:
            self._violation(f"{method} {path}: request violates the contract: {problem}")
            resp = Resp(422, error_body(422, f"Invalid request.\n\n{problem}"))
            return body, self._checked(found, request, resp)
        with self.state.lock:
            fault = take(self.faults, method, path)
        resp = fault.response() if fault else self._handle(found, params, query, body, raw, headers)
        return body, self._checked(found, request, resp)

    def _checked(self, route: Route | None, request: MockRequest | None, resp: Resp) -> Resp:
        """Validate our own response; a mismatch is recorded, never sent silently."""
        if resp.raw is not None:
            return resp  # an injected non-JSON error page
        problem = self._contract.response_problem(request, resp)
        if problem:
            where = f"{route.method} {route.template}" if route else "unrouted request"
            self._violation(f"{where} -> {resp.status}: response violates the contract: {problem}")
            resp.headers["X-Standin-Violation"] = "response"
        return resp

    def _handle(
        self,
        route: Route,
        params: dict[str, str],
        query: dict[str, str],
        body: Any,
        raw: bytes,
        headers: dict[str, str],
    ) -> Resp:
        st = self.state
        auth = headers.get("authorization", "")
        scheme, _, token_text = auth.partition(" ")
        token_text = token_text.strip()
        with st.lock:
            token = st.tokens.get(token_text) if scheme.lower() in {"token", "bearer"} else None
            if token is None:
                message = "Bad credentials" if auth else "Requires authentication"
                return Resp(401, error_body(401, message))
            if route.name != "rate_limit":
                st.used[token_text] = st.used.get(token_text, 0) + 1
            rate = st.rate(token_text)
            rate_headers = {
                "X-RateLimit-Limit": str(rate["limit"]),
                "X-RateLimit-Remaining": str(rate["remaining"]),
                "X-RateLimit-Reset": str(rate["reset"]),
                "X-RateLimit-Used": str(rate["used"]),
                "X-RateLimit-Resource": "core",
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Api-Version-Selected": "2022-11-28",
            }
            if token.read_only and route.method in WRITE_METHODS:
                return Resp(403, error_body(403, NOT_ACCESSIBLE), rate_headers)
            repo = None
            if "owner" in params:
                repo = st.repos.get(f"{params['owner']}/{params['repo']}")
                if repo is None:
                    return Resp(404, error_body(404, "Not Found"), rate_headers)
            account = st.accounts[token.login]
            ctx = Ctx(route, params, query, body, raw, headers, account, token, token_text, repo)
            try:
                resp = route.handler(st, ctx)
            except Fail as fail:
                resp = Resp(
                    fail.status, error_body(fail.status, fail.message, fail.errors, **fail.extra)
                )
            resp.headers = rate_headers | resp.headers
            return resp


def _read_body(h: _Handler) -> bytes:
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(h.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(h.rfile.read(size))
            h.rfile.readline()
        h.rfile.readline()
        return b"".join(chunks)
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length else b""


def _send(h: _Handler, resp: Resp) -> None:
    if resp.raw is not None:
        payload = resp.raw
    elif resp.body is None:
        payload = b""
    else:
        payload = json.dumps(resp.body).encode()
    try:
        h.send_response(resp.status)
        if payload:
            h.send_header("Content-Type", resp.content_type)
        for name, value in resp.headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
    except OSError:  # the client gave up (timeouts) or the stand-in is stopping
        h.close_connection = True
