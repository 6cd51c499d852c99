"""Query parameters a route does not declare are a 400 naming them, not silently ignored: a
client that filters with `?at_risk=true` or `?q=` where no such filter exists must not get
unfiltered data it takes for an answer."""

from __future__ import annotations

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
    if not isinstance(handler, HTTPRouteHandler) or not request.url.path.startswith("/v1/"):
        return
    unknown = sorted(set(request.query_params) - declared_query(handler))
    if unknown:
        raise ValidationException(
            f"unknown query parameter(s): {', '.join(unknown)}",
            extra={"unknown": unknown, "allowed": sorted(declared_query(handler))},
        )
