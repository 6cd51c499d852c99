"""JSON bodies are typed strictly: a number field takes a JSON number of its kind, never a
string, and an integer field (quantities, money in minor units) never a fraction. Litestar
converts request data leniently (`"9"` and `9.0` both become 9), which would record a price
sent as `"9.00"` as 9; the contract says such a body is 400 and never rounded."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler

CACHE_KEY = "omnistock_body_type"
_NO_BODY = object()


def body_type(handler: HTTPRouteHandler) -> Any:
    """The type a handler's `data` is converted to, or `_NO_BODY`; kept in the handler's opt."""
    found = handler.opt.get(CACHE_KEY)
    if found is None:
        parameter = handler.parsed_fn_signature.parameters.get("data")
        found = handler.opt[CACHE_KEY] = _NO_BODY if parameter is None else parameter.annotation
    return found


async def refuse_loose_json(request: Request[Any, Any, Any]) -> None:
    """Litestar's `before_request` step: check the decoded body against the handler's type in
    msgspec's strict mode; the handler's own (lenient) conversion then finds nothing to coerce.
    A body that is not JSON, or absent, is left to Litestar's own refusal or default."""
    handler = request.route_handler
    if not isinstance(handler, HTTPRouteHandler):
        return
    target = body_type(handler)
    if target is _NO_BODY or target is bytes:
        return
    try:
        body = await request.json()
    except SerializationException:
        return
    if body is None:
        return
    try:
        msgspec.convert(body, target, strict=True)
    except msgspec.ValidationError as problem:
        message, _, where = str(problem).partition(" - at `$")
        key = where.rstrip("`").lstrip(".")
        raise ValidationException(
            f"{message}{f' at {key}' if key else ''}",
            extra=[{"message": message, "key": key, "source": "body"}],
        ) from None
