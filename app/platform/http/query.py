"""Query parameters a route does not declare are a 400 naming them, not silently ignored: a
client that filters with `?at_risk=true` or `?q=` where no such filter exists must not get
unfiltered data it takes for an answer. Declared ones are read strictly: Litestar would take
`?order_id=null` for "no filter" and `?since=0` for 1970."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.constants import RESERVED_KWARGS
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import (
    BodyKwarg,
    CookieParameter,
    HeaderParameter,
    ParameterKwarg,
    PathParameter,
)

CACHE_KEY = "omnistock_declared_query"
CHECKS_KEY = "omnistock_query_checks"

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


STRICT_FORMS: dict[type, tuple[str, Callable[[str], bool]]] = {
    uuid.UUID: ("a UUID", _is_uuid),
    datetime: ("an RFC 3339 date-time", _is_datetime),
    int: ("an integer", lambda value: _INTEGER.fullmatch(value) is not None),
    bool: ("true or false", lambda value: value.lower() in ("true", "false", "1", "0")),
}
"""What a query value of each type must look like (str and enums are left to Litestar)."""


def query_checks(handler: HTTPRouteHandler) -> dict[str, tuple[str, Callable[[str], bool]]]:
    """The declared query parameters whose values have a strict form, by name (alias)."""
    found: dict[str, tuple[str, Callable[[str], bool]]] | None = handler.opt.get(CHECKS_KEY)
    if found is None:
        found = {}
        names = declared_query(handler)
        for name, parameter in handler.parsed_fn_signature.parameters.items():
            kind = parameter.kwarg_definition
            alias = (kind.query if isinstance(kind, ParameterKwarg) else None) or name
            if alias not in names:
                continue
            types = [t.annotation for t in parameter.inner_types] or [parameter.annotation]
            concrete = [t for t in types if t is not type(None)]
            if len(concrete) == 1 and concrete[0] in STRICT_FORMS:
                found[alias] = STRICT_FORMS[concrete[0]]
        handler.opt[CHECKS_KEY] = found
    return found


def declared_query(handler: HTTPRouteHandler) -> frozenset[str]:
    """The query parameter names (aliases included) a handler's signature declares, worked out
    once and kept in the handler's own `opt` (not by `id()`: handlers of apps that are gone
    would hand their ids on to others)."""
    found: frozenset[str] | None = handler.opt.get(CACHE_KEY)
    if found is None:
        dependencies = set(handler.resolve_dependencies())
        names = set()
        for name, parameter in handler.parsed_fn_signature.parameters.items():
            kind = parameter.kwarg_definition
            if name in dependencies or name in RESERVED_KWARGS:
                continue
            if isinstance(kind, BodyKwarg | PathParameter | HeaderParameter | CookieParameter):
                continue
            if isinstance(kind, ParameterKwarg):
                if kind.header or kind.cookie:
                    continue
                names.add(kind.query or name)
            elif kind is None and not any(f"{{{name}:" in path for path in handler.paths):
                names.add(name)
        found = handler.opt[CACHE_KEY] = frozenset(names)
    return found


async def refuse_unknown_query(request: Request[Any, Any, Any]) -> None:
    """Litestar's `before_request` hook for the API's routes."""
    handler = request.route_handler
    # the scope's path: `request.url` would build a URL object for every request just for this
    if not isinstance(handler, HTTPRouteHandler) or not request.scope["path"].startswith("/v1/"):
        return
    unknown = sorted(set(request.query_params) - declared_query(handler))
    if unknown:
        raise ValidationException(
            f"unknown query parameter(s): {', '.join(unknown)}",
            extra={"unknown": unknown, "allowed": sorted(declared_query(handler))},
        )
    for name, (form, fits) in query_checks(handler).items():
        for value in request.query_params.getall(name, ()):
            if not fits(value):
                raise ValidationException(
                    f"query parameter {name} must be {form}",
                    extra=[{"message": f"must be {form}", "key": name, "source": "query"}],
                )
