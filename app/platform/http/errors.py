"""The one mapping from exceptions to the contract's error body."""

from __future__ import annotations

import re
import uuid
from http import HTTPStatus
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.platform.errors import BusinessRuleViolation, DomainError, InsufficientStock
from app.platform.idempotency.store import KeyAlreadyUsed
from app.platform.metrics import INSUFFICIENT_STOCK

log = structlog.get_logger("omnistock.errors")

STATUS_OF_CODE = {
    "not_found": 404,
    "conflict": 409,
    "insufficient_stock": 409,
    "invalid_state": 409,
    "idempotency_conflict": 409,
    "unprocessable": 422,
    "invalid_pickup_code": 422,
    "forbidden": 403,
    "rate_limited": 429,
    "payment_failed": 402,
    "payment_unavailable": 503,
}

CODE_OF_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    return Response(
        error_body(code, message, details),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _code_for_status(status: int) -> str:
    if status in CODE_OF_STATUS:
        return CODE_OF_STATUS[status]
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    if isinstance(exc, InsufficientStock):
        INSUFFICIENT_STOCK.inc()
    # a rule's own code (e.g. too_many_unpaid_orders) keeps the status of the kind it is
    default = 422 if isinstance(exc, BusinessRuleViolation) else 409
    status = STATUS_OF_CODE.get(exc.code, default)
    return error_response(status, exc.code, exc.message, exc.details)


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    details: dict[str, Any] = {}
    if exc.extra:
        details["errors"] = exc.extra
    message = exc.detail or "the request is not valid"
    return error_response(400, "validation_error", message, details)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    details = exc.extra if isinstance(exc.extra, dict) else {}
    headers = {**(exc.headers or {}), **_unrouted_headers(request)}
    return error_response(status, _code_for_status(status), exc.detail, details, headers or None)


def _unrouted_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A path no route matches (404) or a method it does not take (405) is refused before any
    route's middleware runs, so the X-Request-ID every answer carries is added here."""
    if "route_handler" in request.scope:
        return {}  # the observability middleware adds it
    incoming = request.headers.get("x-request-id", "")
    printable = incoming.isascii() and incoming.isprintable()
    return {"X-Request-ID": incoming[:100] if incoming and printable else uuid.uuid4().hex}


def _key_already_used(_: Request[Any, Any, Any], __: KeyAlreadyUsed) -> Response[dict[str, Any]]:
    return error_response(409, "idempotency_conflict", "this Idempotency-Key was already used")


def _database_error(_: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    """Bad data that slipped past validation is the client's error; a lost database is a
    503 the client may retry; anything else is ours."""
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", "") or "")
    if sqlstate.startswith("22"):  # data exception: NUL bytes, out-of-range numbers, ...
        return error_response(
            400,
            "validation_error",
            "a value in the request cannot be stored",
            {"sqlstate": sqlstate},
        )
    if sqlstate.startswith("40"):  # deadlock or serialization failure: all rolled back
        log.warning("transaction rolled back by the database", sqlstate=sqlstate)
        return error_response(
            503,
            "unavailable",
            "the database rolled this request back (contention); retry it",
            {"sqlstate": sqlstate},
            headers={"Retry-After": "1"},
        )
    if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
        log.warning("database unavailable", error=str(exc.orig))
        return error_response(
            503,
            "unavailable",
            "the database is unavailable; retry shortly",
            headers={"Retry-After": "1"},
        )
    return _unexpected(_, exc)


def _unavailable_connection(_: Request[Any, Any, Any], exc: OSError) -> Response[dict[str, Any]]:
    log.warning("dependency unreachable", error=str(exc))
    return error_response(
        503,
        "unavailable",
        "a backing service is unreachable; retry shortly",
        headers={"Retry-After": "1"},
    )


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    KeyAlreadyUsed: _key_already_used,
    DBAPIError: _database_error,
    OSError: _unavailable_connection,
    Exception: _unexpected,
}


def response_for(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """What the handlers above answer for `exc` (the most specific one), for an exception that
    escaped a middleware, outside Litestar's own handling."""
    for kind in type(exc).__mro__:
        handler = EXCEPTION_HANDLERS.get(kind)
        if handler is not None:
            return handler(request, exc)
    return _unexpected(request, exc)
