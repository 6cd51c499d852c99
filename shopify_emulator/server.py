"""The emulator's HTTP face (Admin GraphQL, client-credentials OAuth, control API), a runner
for tests (`RunningEmulator`) and `main()` for a person to watch it work."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import socket
import threading
import time
import uuid
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

import uvicorn
from litestar import Litestar, Request, Response, post
from litestar.enums import ScopeType
from litestar.params import FromPath
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from shopify_emulator.clock import Clock
from shopify_emulator.control import control_routes
from shopify_emulator.engine import execute_request
from shopify_emulator.faults import Endpoint, FaultDecision
from shopify_emulator.state import (
    EmulatorInputError,
    EmulatorNotFoundError,
    EmulatorSettings,
    EmulatorState,
    ShopState,
)
from shopify_emulator.versions import is_valid_version

logger = logging.getLogger("omnistock.shopify_emulator")

LOOPBACK = "127.0.0.1"
DEFAULT_API_VERSION = "2026-10"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_request_notes: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "shopify_emulator_request_notes", default=None
)

AnyRequest = Request[Any, Any, Any]


def _note(text: str) -> None:
    """Add detail (shop, operation, cost) to this request's one-line log."""
    notes = _request_notes.get()
    if notes is not None:
        notes.append(text)


def _json(
    content: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return Response(
        content=content, status_code=status, headers=headers or {}, media_type="application/json"
    )


async def _apply_faults(state: EmulatorState, endpoint: Endpoint) -> Response[Any] | None:
    with state.lock:
        decision: FaultDecision = state.faults.take(endpoint)
    if decision.delay_ms:
        await asyncio.sleep(decision.delay_ms / 1000)
    if decision.failure is None:
        return None
    _note(f"injected {decision.failure.status}")
    return _json(decision.failure.body(), decision.failure.status, decision.failure.headers())


def create_app(state: EmulatorState) -> Litestar:
    """A Litestar app bound to `state`; wrap it with `RequestLogMiddleware` to log requests."""

    async def graphql(request: AnyRequest, version: str, shop_domain: str | None) -> Response[Any]:
        injected = await _apply_faults(state, "graphql")
        if injected is not None:
            return injected
        if not is_valid_version(version):
            return _json({"errors": "Not Found"}, 404)
        shop = state.authenticate(request.headers.get("x-shopify-access-token"), shop_domain)
        if shop is None:
            with state.lock:
                state.unauthorized_requests += 1
            _note("unknown or expired token")
            return _json({"errors": INVALID_TOKEN}, 401)
        raw = await request.body()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            return _json({"errors": "Invalid JSON in request body"}, 400)
        outcome = execute_request(state, shop, version, payload)
        _note(f"shop={shop.domain} v={version} {outcome.summary}")
        headers = {
            "X-Shopify-API-Version": version,
            "X-Request-Id": str(uuid.uuid4()),
            **outcome.headers,
        }
        return _json(outcome.body, outcome.status, headers)

    async def access_token(request: AnyRequest, shop_domain: str | None) -> Response[Any]:
        injected = await _apply_faults(state, "oauth")
        if injected is not None:
            return injected
        form = await _read_form_or_json(request)
        if form.get("grant_type") != "client_credentials":
            return _json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Only grant_type=client_credentials is "
                    "supported by the emulator.",
                },
                400,
            )
        shop = state.shop_for_client(
            form.get("client_id", ""), form.get("client_secret", ""), shop_domain
        )
        if shop is None:
            _note("invalid_client")
            return _json(
                {"error": "invalid_client", "error_description": "Client authentication failed."},
                400,
            )
        _note(f"shop={shop.domain} token issued")
        return _json(shop.issue_token())

    @post("/admin/api/{version:str}/graphql.json")
    async def graphql_default(request: AnyRequest, version: FromPath[str]) -> Response[Any]:
        return await graphql(request, version, None)

    @post("/shops/{shop_domain:str}/admin/api/{version:str}/graphql.json")
    async def graphql_for_shop(
        request: AnyRequest, shop_domain: FromPath[str], version: FromPath[str]
    ) -> Response[Any]:
        return await graphql(request, version, shop_domain)

    @post("/admin/oauth/access_token")
    async def token_default(request: AnyRequest) -> Response[Any]:
        return await access_token(request, None)

    @post("/shops/{shop_domain:str}/admin/oauth/access_token")
    async def token_for_shop(request: AnyRequest, shop_domain: FromPath[str]) -> Response[Any]:
        return await access_token(request, shop_domain)

    def input_error(_request: AnyRequest, exc: Exception) -> Response[Any]:
        status = 404 if isinstance(exc, EmulatorNotFoundError) else 400
        return _json({"error": str(exc)}, status)

    return Litestar(
        route_handlers=[
            graphql_default,
            graphql_for_shop,
            token_default,
            token_for_shop,
            *control_routes(state),
        ],
        exception_handlers={EmulatorInputError: input_error},
        openapi_config=None,
        logging_config=None,  # leave the host application's logging alone
        debug=False,
    )


async def _read_form_or_json(request: AnyRequest) -> dict[str, str]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return (
            {k: v for k, v in body.items() if isinstance(v, str)} if isinstance(body, dict) else {}
        )
    parsed = parse_qs(raw.decode(errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items() if values}


class RequestLogMiddleware:
    """Logs each HTTP request in one line: method, path, status, time and handler notes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        notes: list[str] = []
        token = _request_notes.set(notes)
        status = 500
        started = time.perf_counter()

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            _request_notes.reset(token)
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %d %.1fms %s",
                scope["method"],
                scope["path"],
                status,
                elapsed_ms,
                " ".join(notes),
            )


def _check_loopback(host: str) -> str:
    """The emulator has no real security, so it only ever listens on 127.0.0.1."""
    if host in (LOOPBACK, "localhost"):
        return LOOPBACK
    raise ValueError(f"the Shopify emulator binds to {LOOPBACK} only, not {host!r}")


class RunningEmulator:
    """The emulator served by uvicorn on a background thread; use it as a context manager.

    >>> with RunningEmulator() as emulator:
    ...     emulator.state.default_shop.add_location("Warehouse")
    ...     url = emulator.graphql_url("2026-10")
    """

    def __init__(
        self,
        state: EmulatorState | None = None,
        *,
        port: int = 0,
        host: str = LOOPBACK,
        clock: Clock | None = None,
        settings: EmulatorSettings | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.host = _check_loopback(host)
        self.state = state or EmulatorState(clock=clock, settings=settings)
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the emulator is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def shop(self) -> ShopState:
        return self.state.default_shop

    @property
    def access_token(self) -> str:
        """The default shop's static Admin API token."""
        with self.state.lock:
            return sorted(self.shop.static_tokens)[0]

    def graphql_url(self, version: str = DEFAULT_API_VERSION) -> str:
        return f"{self.base_url}/admin/api/{version}/graphql.json"

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            RequestLogMiddleware(create_app(self.state)),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="shopify-emulator-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the Shopify emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self.state.close()
        self._server = self._thread = self._socket = None
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def seed_demo_shop(shop: ShopState) -> dict[str, Any]:
    """A small catalogue to click around with."""
    return shop.seed(
        {
            "locations": ["Warehouse", "Downtown Store"],
            "items": [
                {"sku": "TEE-BLK-S", "levels": {"Warehouse": 40, "Downtown Store": 6}},
                {"sku": "TEE-BLK-M", "levels": {"Warehouse": 55, "Downtown Store": 8}},
                {"sku": "TEE-BLK-L", "levels": {"Warehouse": 30, "Downtown Store": 4}},
                {
                    "sku": "MUG-LOGO",
                    "levels": {"Warehouse": {"available": 120, "damaged": 3}, "Downtown Store": 12},
                },
                {"sku": "CAP-GRN", "levels": {"Warehouse": 0, "Downtown Store": 2}},
            ],
        }
    )


def main(host: str = LOOPBACK, port: int = 8899, seed_demo: bool = True) -> None:
    """Run in the foreground until Ctrl-C, logging one line per request."""
    bind_host = _check_loopback(host)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    state = EmulatorState()
    shop = state.default_shop
    if seed_demo:
        seed_demo_shop(shop)
    base = f"http://{bind_host}:{port}"
    logger.info("Shopify emulator on %s (binds %s only)", base, LOOPBACK)
    logger.info(
        "shop %s  token %s  client_id %s  client_secret %s",
        shop.domain,
        sorted(shop.static_tokens)[0],
        shop.client_id,
        shop.client_secret,
    )
    logger.info(
        "GraphQL: POST %s/admin/api/%s/graphql.json  control: %s/_emulator/state",
        base,
        DEFAULT_API_VERSION,
        base,
    )
    config = uvicorn.Config(
        RequestLogMiddleware(create_app(state)),
        host=bind_host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    try:
        uvicorn.Server(config).run()
    finally:
        state.close()
