"""The Idempotency-Key middleware: replays a stored response byte for byte; 409 on another body."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar, cast

import structlog
from litestar import Response
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.serialization import encode_json
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)
from sqlalchemy.exc import DBAPIError

from app.platform.access import Principal
from app.platform.context import Context
from app.platform.http.errors import error_body
from app.platform.idempotency import store
from app.platform.idempotency.store import (
    APPLIED,
    COMPLETED,
    Answer,
    IdempotencyRecord,
    IdempotencyRecords,
    IdempotentRequest,
)
from app.platform.tables import utcnow

log = structlog.get_logger("omnistock.idempotency")

HEADER = b"idempotency-key"

MAX_KEY_LENGTH = 255

KEY_PATTERN = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")
"""A key is visible ASCII without spaces (a UUID, a ULID, `order-42-retry`): what every HTTP
client sends unchanged, and what the OpenAPI document declares."""

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

WAIT_FOR_IN_FLIGHT_SECONDS = 5.0

LOST_RESPONSE_AFTER_SECONDS = 60.0

STORE_ATTEMPTS = 3


def request_fingerprint(
    method: str, path: str, query: bytes, body: bytes, secret_fields: Sequence[str] = ()
) -> str:
    """Hash of what the request asks for; JSON bodies are canonicalised so key order and
    whitespace do not make a faithful retry look like a different request. `secret_fields`
    (a new person's password) are left out: a fast hash of them kept for a day would let
    whoever reads the records guess them offline."""
    try:
        document = json.loads(body)
        if isinstance(document, dict):
            document = {k: v for k, v in document.items() if k not in secret_fields}
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(part)
        digest.update(b"\x00")
    return digest.hexdigest()


T = TypeVar("T")


def created(body: Any) -> Answer:
    """A 201 with `body` as JSON, as `answered_with_the_work` stores and sends it."""
    return 201, "application/json", encode_json(body)


async def answered_with_the_work(
    work: Coroutine[Any, Any, T], render: Callable[[T], Answer]
) -> Response[Any]:
    """Runs a use case that stores its own answer (`store.answer_in`, before its commit) and
    sends that answer: the response a retry with the same Idempotency-Key replays is committed
    with the work, so a connection lost after the commit cannot leave the key without it.
    Rendered anew when the use case stored nothing (no key, or a resumed placement)."""
    store.answer_with(render)
    result = await work
    status_code, content_type, body = store.answered() or render(result)
    return Response(cast(Any, body), status_code=status_code, media_type=content_type)


class IdempotencyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        method = str(scope.get("method", ""))
        if method not in WRITE_METHODS:
            await next_app(scope, receive, send)
            return
        raw_key = dict(scope["headers"]).get(HEADER)
        handler = scope.get("route_handler")
        required = bool(handler is not None and handler.opt.get("idempotency_required"))
        if raw_key is None:
            if required:
                await _send_json(
                    send,
                    400,
                    error_body(
                        "validation_error", "this endpoint requires an Idempotency-Key header"
                    ),
                )
                return
            await next_app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not KEY_PATTERN.fullmatch(key):
            await _send_json(
                send,
                400,
                error_body(
                    "validation_error",
                    f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters",
                ),
            )
            return

        body = await _read_body(receive)
        principal = scope.get("user")
        if not isinstance(principal, Principal):  # webhooks: they deduplicate by event id
            await next_app(scope, _replaying(body), send)
            return
        request = IdempotentRequest(
            scope=principal.key_id,
            key=key,
            request_hash=request_fingerprint(
                method,
                scope["path"],
                scope.get("query_string", b""),
                body,
                handler.opt.get("idempotency_secret_request_fields", ()) if handler else (),
            ),
        )
        ctx: Context = scope["litestar_app"].state.ctx
        resumable = bool(handler is not None and handler.opt.get("idempotency_resumable"))
        # No lookup up front: the handler's first write claims the key in its own transaction,
        # and a key seen before makes that claim fail, which lands in `found_existing`.
        captured = await _run(next_app, scope, body, request)
        if request.found_existing and resumable:
            record = await _load(ctx, request)
            if (
                record is not None
                and record.state == APPLIED
                and record.resource
                and record.request_hash == request.request_hash
            ):
                # The work was committed but its answer never stored: finish it instead.
                request.found_existing, request.claimed = False, True
                request.resuming = record.resource
                captured = await _run(next_app, scope, body, request)
        if request.found_existing:
            if await _replay_if_known(ctx, request, send, wait=True):
                return
        elif request.answered is not None:
            pass  # stored in the work's own transaction, with its claim
        elif captured.status < 500 or (request.claimed and not resumable):
            secret_fields = handler.opt.get("idempotency_secret_fields", ()) if handler else ()
            await _store_response(ctx, request, captured.without(secret_fields))
        await captured.forward(send)


async def _run(
    next_app: ASGIApp, scope: Scope, body: bytes, request: IdempotentRequest
) -> _CapturedResponse:
    captured = _CapturedResponse()
    token = store.begin_request(request)
    try:
        await next_app(scope, _replaying(body), captured.send)
    finally:
        store.end_request(token)
    return captured


async def _load(ctx: Context, request: IdempotentRequest) -> IdempotencyRecord | None:
    async with ctx.uow(readonly=True) as uow:
        return await IdempotencyRecords.of(uow).load(request.scope, request.key)


async def _store_response(
    ctx: Context, request: IdempotentRequest, captured: _CapturedResponse
) -> None:
    """Keep the answer for retries. A lost connection here must not leave the key without
    one, so try a few times on fresh connections."""
    for attempt in range(STORE_ATTEMPTS):
        try:
            async with ctx.db.single_statements() as statements:
                await store.store_response(
                    statements, request, captured.status, captured.content_type, captured.body
                )
            return
        except (DBAPIError, OSError) as exc:
            log.warning(
                "could not store the idempotent response",
                attempt=attempt + 1,
                key=request.key,
                error=str(exc),
            )
            await asyncio.sleep(0.05 * 2**attempt)


async def _replay_if_known(
    ctx: Context, request: IdempotentRequest, send: Send, wait: bool = False
) -> bool:
    """Answer from the stored record when the key was seen before; False when it was not."""
    deadline = asyncio.get_running_loop().time() + (WAIT_FOR_IN_FLIGHT_SECONDS if wait else 0)
    while True:
        record = await _load(ctx, request)
        if record is None:
            if not wait:
                return False
        elif record.request_hash != request.request_hash:
            await _send_json(
                send,
                409,
                error_body(
                    "idempotency_conflict",
                    "this Idempotency-Key was used with a different request",
                    {"idempotency_key": request.key},
                ),
            )
            return True
        elif record.state == COMPLETED and record.status_code is not None:
            await _send_raw(
                send,
                record.status_code,
                record.content_type,
                record.response_body or b"",
                replayed=True,
            )
            return True
        if asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(0.05)
    if record is None:
        return False
    age = (utcnow() - record.created_at).total_seconds()
    if age > LOST_RESPONSE_AFTER_SECONDS:
        message = (
            "this request was applied but its response was lost; look the result up "
            "instead of retrying"
        )
    else:
        message = "a request with this Idempotency-Key is still being processed; retry shortly"
    await _send_json(
        send,
        409,
        error_body(
            "conflict",
            message,
            {"idempotency_key": request.key, "applied_at": record.created_at.isoformat()},
        ),
    )
    return True


class _CapturedResponse:
    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.chunks.append(bytes(message.get("body", b"")))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def without(self, secret_fields: Sequence[str]) -> _CapturedResponse:
        """This response as it may be kept: the named top-level JSON fields (a new API key)
        are nulled, so a replay under the same key never reveals them from a stored copy."""
        if not secret_fields:
            return self
        kept = _CapturedResponse()
        kept.status, kept.headers = self.status, self.headers
        try:
            document = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            document = None
        if isinstance(document, dict):
            document.update({name: None for name in secret_fields if name in document})
            kept.chunks = [json.dumps(document, separators=(",", ":")).encode()]
        else:  # not the JSON object expected (e.g. compressed): keep nothing of it
            kept.chunks = [b"{}"]
        return kept

    @property
    def content_type(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == b"content-type":
                return value.decode("latin-1")
        return None

    async def forward(self, send: Send) -> None:
        await _send_raw_headers(send, self.status, self.headers, self.body)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    """A `receive` that hands the already-read body to the app, then behaves like a client
    that keeps the connection open."""
    sent = False

    async def receive() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            request: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
            return request
        await asyncio.Event().wait()
        raise RuntimeError("unreachable")

    return receive


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _send_raw(send, status, "application/json", json.dumps(payload).encode())


async def _send_raw(
    send: Send, status: int, content_type: str | None, body: bytes, replayed: bool = False
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await _send_raw_headers(send, status, headers, body)


async def _send_raw_headers(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    chunk: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(chunk)
