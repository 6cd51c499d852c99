"""Request bodies are bounded before anything holds them: 413 from `Content-Length`, or as soon
as a streamed body passes the limit, whoever sends it and whatever headers it carries; JSON
nested deeper than a client could mean is a 400 rather than a recursion error further in.

This middleware runs before the Idempotency-Key middleware, which buffers bodies, so nothing
after it ever holds more than the limit.
"""

from __future__ import annotations

import asyncio
import re

from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class PayloadTooLarge(HTTPException):
    status_code = 413


class BodyTooSlow(HTTPException):
    status_code = 408


BODY_SECONDS = 30.0
"""A body trickled slower than this is cut off (408): a slow client must not hold a worker's
connection for minutes. Headers have their own deadline in the server (`omnistock serve`)."""


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays and objects nest deeper than `limit` (brackets in strings don't count)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


class BodyLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(
        self, max_body_bytes: int, max_webhook_body_bytes: int, body_seconds: float = BODY_SECONDS
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_webhook_body_bytes = max_webhook_body_bytes
        self.body_seconds = body_seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") not in BODY_METHODS:
            await next_app(scope, receive, send)
            return
        path = str(scope["path"])
        limit = (
            self.max_webhook_body_bytes if path.startswith("/webhooks/") else self.max_body_bytes
        )
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").strip()
        if declared and not declared.isdigit():
            raise ClientException("Content-Length is not a number")
        if declared and int(declared) > limit:
            raise PayloadTooLarge(f"the request body is over {limit} bytes")
        try:
            async with asyncio.timeout(self.body_seconds):
                body = await _read_at_most(receive, limit)
        except TimeoutError:
            raise BodyTooSlow(f"the body did not arrive within {self.body_seconds:.0f} s") from None
        if b"json" in headers.get(b"content-type", b"json").lower() and json_too_deep(body):
            raise ClientException(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        await next_app(scope, _replay(body, receive), send)


async def _read_at_most(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then whatever the server says next (a disconnect)."""
    sent = False

    async def replayed() -> ReceiveMessage:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        request: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
        return request

    return replayed
