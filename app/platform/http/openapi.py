"""The OpenAPI document, completed in one place to say what the API really does.

Litestar documents each operation's success and a `400` in its own error shape. Everything the
middleware and the error mapping add is invisible to it, so `OpenAPIContract` (a plugin) fills it
in from facts about each route, once the document is generated:

- every status an operation can answer, all with the real error body (`Error`), worked out from
  the method, the path, the parameters, whether there is a body, whether the caller must
  authenticate and may be refused (the handler takes `principal`, or has guards), plus the few
  per-route facts in `ROUTE_FACTS` (a handler may say the same in its `opt`);
- the `Idempotency-Key` header on every write the middleware keys (required where the handler's
  `opt` says `idempotency_required`), `X-Request-ID` on every answer, `Retry-After` on a 503;
- `security: []` where no API key is read (health, webhooks: those are signed instead);
- `additionalProperties: false` on every request Struct that forbids unknown fields, an example
  of every request body (a request Struct's `example`), and query parameters as they go on the
  wire (no `null` branch; the items of a list keep their code pattern);
- OpenAPI links from what a response returns to the operations it names (`add_links`),
  so a client (and schemathesis' stateful run) can follow an order from placing to pickup.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields

import msgspec
from litestar.config.app import AppConfig
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPI
from litestar.plugins import InitPlugin, ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from app.platform.http.auth import PUBLIC_PATHS
from app.platform.http.errors import CODE_OF_STATUS, STATUS_OF_CODE
from app.platform.http.idempotency import WRITE_METHODS
from app.platform.http.openapi_inputs import (
    as_json_schema,
    as_on_the_wire,
    complete_request_schemas,
    idempotency_key,
    request_example,
    request_type,
    signature_headers,
)
from app.platform.http.openapi_links import Document, add_links
from app.platform.http.schemas import CODE_PATTERN

SIGNED_PREFIX = "/webhooks/"
"""Routes that read no API key but verify a signature over the body (401 when it is wrong)."""


@dataclass(frozen=True)
class RouteFacts:
    """What cannot be read off a route: statuses its use case may add or can never answer, and
    other success statuses. A handler may give the same in `opt` (`errors_added`,
    `errors_dropped`, `successes`), which wins over this table."""

    added: frozenset[int] = frozenset()
    dropped: frozenset[int] = frozenset()
    successes: tuple[tuple[int, str], ...] = ()


ROUTE_FACTS: dict[tuple[str, str], RouteFacts] = {
    # creations that name no other resource and that no business rule refuses
    ("POST", "/v1/locations"): RouteFacts(dropped=frozenset({404, 422})),
    ("POST", "/v1/skus"): RouteFacts(dropped=frozenset({404, 422})),
    ("PUT", "/v1/skus"): RouteFacts(dropped=frozenset({404})),
    # a lookup by a query value; an action whose order may be the wrong kind
    ("GET", "/v1/customers"): RouteFacts(added=frozenset({404})),
    ("POST", "/v1/orders/{order_id}/ready"): RouteFacts(added=frozenset({422})),
    # no coordinates and a customer without a preferred store; a customer named by id
    ("GET", "/v1/availability"): RouteFacts(added=frozenset({404, 422})),
    # one result per sale in the body: a sale's own refusal does not refuse the batch
    ("POST", "/v1/pos/sales/batch"): RouteFacts(dropped=frozenset({404, 422})),
    # payments: a refused card, an unreachable provider, a locked pickup code
    ("POST", "/v1/orders"): RouteFacts(added=frozenset({402})),
    ("POST", "/v1/orders/{order_id}/pickup"): RouteFacts(added=frozenset({402, 429})),
    ("POST", "/v1/orders/{order_id}/ship"): RouteFacts(added=frozenset({402})),
    ("POST", "/webhooks/stripe"): RouteFacts(added=frozenset({404})),  # Stripe not configured
    ("GET", "/health/live"): RouteFacts(dropped=frozenset({503})),  # the process, no database
    # a till replays a known client_txn_id with 200 and the first answer's body
    ("POST", "/v1/pos/sales"): RouteFacts(successes=((200, "A replay of this client_txn_id"),)),
    ("POST", "/v1/pos/returns"): RouteFacts(successes=((200, "A replay of this client_txn_id"),)),
}

ERROR_NAMES = {
    400: ("BadRequest", "The request is malformed or breaks the schema"),
    401: ("Unauthorized", "No API key, an unknown or revoked one, or a wrong signature"),
    402: ("PaymentRequired", "The payment provider refused the payment"),
    403: ("Forbidden", "The key's role or location may not do this"),
    404: ("NotFound", "A resource the request names does not exist (or is not this key's)"),
    408: ("RequestTimeout", "The body did not arrive in time"),
    409: ("Conflict", "The request conflicts with the current state or its Idempotency-Key"),
    413: ("PayloadTooLarge", "The body is over the limit (MAX_BODY_BYTES)"),
    422: ("UnprocessableEntity", "Well-formed, but a business rule refuses it"),
    429: ("TooManyRequests", "Too many attempts; wait before trying again"),
    503: ("ServiceUnavailable", "The database or a provider is unavailable; retry"),
}

ERROR_SCHEMA: Document = {
    "type": "object",
    "title": "Error",
    "description": "Every 4xx and 5xx answer",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}

REQUEST_ID_HEADER: Document = {
    "description": "The request's id: the caller's X-Request-ID if printable, else a new one",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
}


SUCCESS_HEADERS: Document = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}

REPLAYED_HEADER: Document = {
    "description": "Present on the stored answer to a repeated Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}


def codes_of(status: int) -> list[str]:
    """The error codes answered with `status` (app/platform/http/errors.py)."""
    codes = [code for code, mapped in STATUS_OF_CODE.items() if mapped == status]
    default = CODE_OF_STATUS.get(status)
    return sorted({*codes, default} if default else set(codes))


def _error_response(status: int) -> Document:
    codes = codes_of(status)
    headers: Document = {**SUCCESS_HEADERS}
    if status == 401:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
    if status == 503:
        headers["Retry-After"] = {"schema": {"type": "string", "pattern": "^[0-9]+$"}}
    code = CODE_OF_STATUS.get(status, codes[0])
    example = {"error": {"code": code, "message": ERROR_NAMES[status][1], "details": {}}}
    return {
        "description": f"{ERROR_NAMES[status][1]} (code: {', '.join(codes)})",
        "headers": headers,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": example,
            }
        },
    }


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: HTTPRouteHandler

    @property
    def public(self) -> bool:
        return bool(self.handler.opt.get("exclude_from_auth")) or any(
            re.match(pattern, self.path) for pattern in PUBLIC_PATHS
        )

    @property
    def refuses(self) -> bool:
        """The caller may be refused (403): the use case is told who asks, or a guard is."""
        takes_caller = "principal" in self.handler.parsed_fn_signature.parameters
        return not self.public and (takes_caller or bool(self.handler.resolve_guards()))

    @property
    def keyed(self) -> bool:
        """The Idempotency-Key middleware keys it (writes by an authenticated caller)."""
        return self.method in WRITE_METHODS and not self.public

    @property
    def facts(self) -> RouteFacts:
        opt = self.handler.opt
        table = ROUTE_FACTS.get((self.method, self.path), RouteFacts())
        return RouteFacts(
            added=frozenset(opt.get("errors_added", table.added)),
            dropped=frozenset(opt.get("errors_dropped", table.dropped)),
            successes=tuple(opt.get("successes", table.successes)),
        )

    def error_statuses(self, operation: Document) -> list[int]:
        has_body = "requestBody" in operation
        parameters = operation.get("parameters", [])
        in_path = any(p["in"] == "path" for p in parameters)
        by_code = any(_names_by_code(p) for p in parameters if p["in"] == "query")
        write = self.method in WRITE_METHODS
        statuses = {503}  # the database (or a provider) is out of reach: retry
        if self.path.startswith("/v1/") or write or parameters or has_body:
            statuses.add(400)  # unknown query parameters, bad values, bad JSON
        if not self.public or self.path.startswith(SIGNED_PREFIX):
            statuses.add(401)
        if self.refuses:
            statuses.add(403)
        if in_path or has_body or by_code:
            statuses.add(404)  # a resource named in the path, the body or a query filter
        if write:
            statuses |= {408, 413}  # the body limits hold for every write, body or not
        if self.keyed:
            statuses.add(409)  # an Idempotency-Key's conflicts, a state that refuses it
        if self.keyed and has_body:
            statuses.add(422)  # a business rule refuses what the body asks
        facts = self.facts
        return sorted((statuses | facts.added) - facts.dropped)


def _names_by_code(parameter: Document) -> bool:
    schema = parameter.get("schema", {})
    return CODE_PATTERN in (schema.get("pattern"), schema.get("items", {}).get("pattern"))


class OpenAPIContract(InitPlugin, ReceiveRoutePlugin):
    """Completes the app's OpenAPI document (see the module's docstring)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        config = app_config.openapi_config
        if config is not None and not isinstance(config, _CompletingConfig):
            app_config.openapi_config = _CompletingConfig.of(config, self.complete)
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        if isinstance(route, HTTPRoute):
            for method, (handler, _) in route.route_handler_map.items():
                self.routes[(method, route.path_format)] = Route(method, route.path_format, handler)

    def complete(self, document: Document) -> Document:
        components = document.setdefault("components", {})
        components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        components.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID_HEADER
        responses = components.setdefault("responses", {})
        for status, (name, _) in ERROR_NAMES.items():
            responses[name] = _error_response(status)
        for route, operation in self._operations(document):
            _complete_operation(route, operation)
        complete_request_schemas(components["schemas"], self._request_types())
        add_links(document)
        as_json_schema(document)
        return copy.deepcopy(document)  # nothing of it shared with this module's constants

    def _operations(self, document: Document) -> Iterator[tuple[Route, Document]]:
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                route = self.routes.get((method.upper(), path))
                if route is not None and isinstance(operation, dict):
                    yield route, operation

    def _request_types(self) -> list[type[msgspec.Struct]]:
        return [body for route in self.routes.values() if (body := request_type(route.handler))]


def _complete_operation(route: Route, operation: Document) -> None:
    parameters = [as_on_the_wire(route.handler, p) for p in operation.get("parameters", [])]
    if route.keyed:
        parameters.append(idempotency_key(bool(route.handler.opt.get("idempotency_required"))))
    if route.path.startswith(SIGNED_PREFIX):
        parameters.extend(signature_headers(route.path))
        operation["requestBody"] = {
            "required": True,
            "description": "The provider's event, verified over the raw bytes",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if parameters:
        operation["parameters"] = parameters
    if route.public:
        operation["security"] = []
    example = request_example(route.handler)
    if example is not None and "requestBody" in operation:
        operation["requestBody"]["content"]["application/json"]["example"] = example

    responses = operation.setdefault("responses", {})
    for status in [s for s in responses if s.startswith(("4", "5"))]:
        del responses[status]  # Litestar's own error shape is not what is sent
    first: Document = next(iter(responses.values()), {})
    for status, description in route.facts.successes:
        responses[str(status)] = {**first, "description": description}
    for success in responses.values():
        success["headers"] = {**success.get("headers", {}), **SUCCESS_HEADERS}
        if route.keyed:
            success["headers"]["Idempotent-Replayed"] = REPLAYED_HEADER
    for status in route.error_statuses(operation):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_NAMES[status][0]}"}


# the hook ------------------------------------------------------------------------------------
@dataclass
class _CompletingConfig(OpenAPIConfig):
    """The app's OpenAPIConfig, unchanged, whose document is completed as it is rendered."""

    completer: Callable[[Document], Document] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, config: OpenAPIConfig, completer: Callable[[Document], Document]) -> OpenAPIConfig:
        # not re-initialised from its fields: that would re-run the deprecation checks
        completing = cls.__new__(cls)
        completing.__dict__.update(vars(config))
        completing.completer = completer
        return completing

    def to_openapi_schema(self) -> OpenAPI:
        openapi = super().to_openapi_schema()
        values = {f.name: getattr(openapi, f.name) for f in fields(openapi)}
        return _CompletedOpenAPI(**values, completer=self.completer)


@dataclass
class _CompletedOpenAPI(OpenAPI):
    completer: Callable[[Document], Document] | None = field(default=None, repr=False)

    @property
    def _exclude_fields(self) -> set[str]:
        return {"completer"}

    def to_schema(self) -> Document:
        document = super().to_schema()
        return self.completer(document) if self.completer else document
