"""One middleware, outermost, for what every request needs: its id, its access-log line, its
Prometheus metrics (all with the status the client really got) and the security headers.

An exception that escapes the inner middleware (a refused API key, an oversized body) is turned
into the contract's error response here, by the same handlers as everywhere else, so that it is
logged and counted with its real status and carries `X-Request-ID` like any other answer.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

from app.platform.http.errors import response_for

access_log = structlog.get_logger("omnistock.access")

APP_NAME = "omnistock"
LABELS = ("app_name", "method", "path", "status_code")
UNTIMED_PREFIXES = ("/metrics", "/health")
SERVER_ERROR = 500
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_CONTENT_SECURITY_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; frame-ancestors 'none'",
)
"""JSON answers load nothing; the pages under /schema (the OpenAPI UI) have their own needs."""
SCHEMA_CONTENT_SECURITY_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
)
"""The OpenAPI UI (`openapi_ui/`) loads its scripts, styles, images and fonts from this origin
only, and fetches the schema and sends its tried requests here too. No inline script: the pages
are started by files. Inline styles because Scalar's bundle adds its stylesheets as `<style>`
elements when it starts (it has no file of them to link); `data:` images because Swagger UI's
CSS draws its icons with them (`tests/e2e/test_openapi_ui.py`)."""

CONSOLE_CONTENT_SECURITY_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
)
"""The staff console (`app/console/`) loads its own script (htmx), stylesheet and images from
this origin only, sends its forms and htmx requests here, and has no inline script or style."""

REQUESTS = Counter("omnistock_requests_total", "Total requests", LABELS)
REQUEST_SECONDS = Histogram(
    "omnistock_request_duration_seconds", "Request duration, in seconds", LABELS
)
IN_PROGRESS = Gauge(
    "omnistock_requests_in_progress",
    "Total requests currently in progress",
    LABELS,
    multiprocess_mode="livesum",
)
ERRORS = Counter("omnistock_requests_error_total", "Total errors in requests", LABELS)


class _Series:
    """The labelled children of one (method, path, status), resolved once: resolving four
    per request cost a twentieth of a stock lookup's CPU."""

    def __init__(self) -> None:
        self._in_progress: dict[tuple[str, str], Any] = {}
        self._finished: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def in_progress(self, method: str, path: str) -> Any:
        gauge = self._in_progress.get((method, path))
        if gauge is None:
            gauge = self._in_progress[(method, path)] = IN_PROGRESS.labels(
                APP_NAME, method, path, 200
            )
        return gauge

    def finished(self, method: str, path: str, status: int) -> tuple[Any, Any]:
        key = (method, path, status)
        children = self._finished.get(key)
        if children is None:
            children = self._finished[key] = (
                REQUESTS.labels(APP_NAME, method, path, status),
                REQUEST_SECONDS.labels(APP_NAME, method, path, status),
            )
        return children


class ObservabilityMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self._series = _Series()

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:100] if incoming.isprintable() and incoming else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        method = str(scope.get("method") or "")
        path = str(scope.get("path_template") or scope["path"])
        timed = not path.startswith(UNTIMED_PREFIXES)
        extra_headers = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        if path == "/schema" or path.startswith("/schema/"):
            extra_headers.append(SCHEMA_CONTENT_SECURITY_POLICY)
        elif path == "/console" or path.startswith("/console/"):
            extra_headers.append(CONSOLE_CONTENT_SECURITY_POLICY)
        else:
            extra_headers.append(API_CONTENT_SECURITY_POLICY)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *extra_headers]
            await send(message)

        in_progress = self._series.in_progress(method, path) if timed else None
        if in_progress is not None:
            in_progress.inc()
        try:
            try:
                await next_app(scope, receive, send_with_id)
            except Exception as exc:
                if status:  # the response had begun: nothing sane can be sent any more
                    raise
                request: Request[Any, Any, Any] = Request(scope, receive)
                response = response_for(request, exc)
                await response.to_asgi_response(None, request)(scope, receive, send_with_id)
        finally:
            status = status or SERVER_ERROR
            elapsed = time.perf_counter() - started
            if in_progress is not None:
                in_progress.dec()
                count, duration = self._series.finished(method, path, status)
                count.inc()
                duration.observe(elapsed)
                if status >= SERVER_ERROR:
                    ERRORS.labels(APP_NAME, method, path, status).inc()
            access_log.info(
                "request",
                method=method,
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
