"""The test-control API under `/_emulator/...`: JSON twins of the `EmulatorState` methods,
for tests (or people) that drive the emulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery

from shopify_emulator.clock import ManualClock
from shopify_emulator.faults import ENDPOINTS, Endpoint
from shopify_emulator.state import (
    EmulatorInputError,
    EmulatorState,
    ShopState,
)

PREFIX = "/_emulator"
MAX_WAIT_SECONDS = 30.0

AnyRequest = Request[Any, Any, Any]


async def read_json(request: AnyRequest) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise EmulatorInputError("the body must be JSON") from exc
    if not isinstance(body, dict):
        raise EmulatorInputError("the body must be a JSON object")
    return body


def _ok(content: Any, status: int = 200) -> Response[Any]:
    return Response(content=content, status_code=status, media_type="application/json")


def _shop(state: EmulatorState, request: AnyRequest, body: Mapping[str, Any]) -> ShopState:
    domain = body.get("shop") or request.query_params.get("shop")
    if domain is not None and not isinstance(domain, str):
        raise EmulatorInputError("shop must be a domain string")
    return state.shop(domain)


def _int(body: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise EmulatorInputError(f"{key} must be an integer")
    return value


def _number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EmulatorInputError(f"{key} must be a number")
    return float(value)


def _str(body: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise EmulatorInputError(f"{key} must be a string")
    return value


def _ref(body: Mapping[str, Any], *keys: str) -> str | int:
    for key in keys:
        value = body.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    raise EmulatorInputError(f"one of {', '.join(keys)} is required")


def _endpoint(body: Mapping[str, Any]) -> Endpoint:
    endpoint = body.get("endpoint", "graphql")
    for known in ENDPOINTS:
        if endpoint == known:
            return known
    raise EmulatorInputError(f"endpoint must be one of {ENDPOINTS}")


def control_routes(state: EmulatorState) -> list[HTTPRouteHandler]:  # noqa: PLR0915
    """Route handlers bound to one `EmulatorState`."""

    @get(f"{PREFIX}/state")
    async def overview() -> Response[Any]:
        with state.lock:
            return _ok(
                {
                    "shops": [shop.to_json() for shop in state.shops.values()],
                    "settings": state.settings.to_json(),
                    "faults": state.faults.describe(),
                    "webhooks": state.webhooks.knobs(),
                }
            )

    @post(f"{PREFIX}/reset")
    async def reset() -> Response[Any]:
        state.reset()
        return _ok({"reset": True, "shop": state.default_shop.to_json()})

    @get(f"{PREFIX}/shops")
    async def list_shops() -> Response[Any]:
        with state.lock:
            return _ok([shop.to_json() for shop in state.shops.values()])

    @post(f"{PREFIX}/shops")
    async def add_shop(request: AnyRequest) -> Response[Any]:
        body = await read_json(request)
        shop = state.add_shop(
            _str(body, "domain") or "",
            name=_str(body, "name"),
            access_token=_str(body, "access_token"),
            client_id=_str(body, "client_id"),
            client_secret=_str(body, "client_secret"),
            webhook_secret=_str(body, "webhook_secret"),
            currency=_str(body, "currency", "USD") or "USD",
        )
        with state.lock:
            described = shop.to_json() | {
                "access_token": sorted(shop.static_tokens)[0],
                "client_secret": shop.client_secret,
            }
        return _ok(described, 201)

    @post(f"{PREFIX}/seed")
    async def seed(request: AnyRequest) -> Response[Any]:
        body = await read_json(request)
        return _ok(_shop(state, request, body).seed(body), 201)

    @get(f"{PREFIX}/levels")
    async def levels(request: AnyRequest) -> Response[Any]:
        query = request.query_params
        shop = _shop(state, request, {})
        return _ok(shop.read_levels(sku=query.get("sku"), location=query.get("location")))

    @post(f"{PREFIX}/manual-edit")
    async def manual_edit(request: AnyRequest) -> Response[Any]:
        body = await read_json(request)
        shop = _shop(state, request, body)
        return _ok(
            shop.manual_edit(
                _ref(body, "inventory_item_id", "sku"),
                _ref(body, "location_id", "location"),
                _int(body, "quantity"),
                delta=_int(body, "delta"),
                name=_str(body, "name", "available") or "available",
                reason=_str(body, "reason", "correction") or "correction",
            )
        )

    @get(f"{PREFIX}/audit-log")
    async def audit_log(request: AnyRequest) -> Response[Any]:
        shop = _shop(state, request, {})
        return _ok(shop.audit_log(source=request.query_params.get("source")))

    @get(f"{PREFIX}/counters")
    async def counters() -> Response[Any]:
        return _ok(state.counters_json())

    @get(f"{PREFIX}/faults")
    async def show_faults() -> Response[Any]:
        with state.lock:
            return _ok(state.faults.describe())

    @post(f"{PREFIX}/faults")
    async def add_faults(request: AnyRequest) -> Response[Any]:
        """`{"status": 503, "count": 2}` and/or `{"delay_ms": 300, "delay_count": 1}`."""
        body = await read_json(request)
        endpoint = _endpoint(body)
        status = _int(body, "status")
        if status is not None:
            state.fail_next(
                _int(body, "count", 1) or 1,
                status,
                endpoint=endpoint,
                retry_after=_number(body, "retry_after"),
            )
        delay_ms = _int(body, "delay_ms")
        if delay_ms is not None:
            state.delay_responses(delay_ms, count=_int(body, "delay_count"), endpoint=endpoint)
        if status is None and delay_ms is None:
            raise EmulatorInputError("give status (with count) and/or delay_ms")
        with state.lock:
            return _ok(state.faults.describe())

    @delete(f"{PREFIX}/faults", status_code=200)
    async def clear_faults() -> Response[Any]:
        state.clear_faults()
        with state.lock:
            return _ok(state.faults.describe())

    @get(f"{PREFIX}/settings")
    async def show_settings() -> Response[Any]:
        with state.lock:
            return _ok(state.settings.to_json())

    @post(f"{PREFIX}/settings")
    async def change_settings(request: AnyRequest) -> Response[Any]:
        return _ok(state.configure(**(await read_json(request))))

    @post(f"{PREFIX}/bucket")
    async def bucket(request: AnyRequest) -> Response[Any]:
        body = await read_json(request)
        return _ok(
            _shop(state, request, body).configure_bucket(
                maximum_available=_number(body, "maximum_available"),
                restore_rate=_number(body, "restore_rate"),
                currently_available=_number(body, "currently_available"),
            )
        )

    @post(f"{PREFIX}/tokens/expire")
    async def expire_tokens(request: AnyRequest) -> Response[Any]:
        body = await read_json(request)
        return _ok({"expired": _shop(state, request, body).expire_tokens()})

    @post(f"{PREFIX}/clock/advance")
    async def advance_clock(request: AnyRequest) -> Response[Any]:
        body = await read_json(request)
        if not isinstance(state.clock, ManualClock):
            raise EmulatorInputError("the emulator runs on the system clock")
        return _ok({"now": state.clock.advance(_number(body, "seconds") or 0.0)})

    @get(f"{PREFIX}/webhooks/subscriptions")
    async def subscriptions(request: AnyRequest) -> Response[Any]:
        shop = _shop(state, request, {})
        with state.lock:
            return _ok([s.to_json() for s in shop.subscriptions.values()])

    @post(f"{PREFIX}/webhooks/subscriptions")
    async def subscribe(request: AnyRequest) -> Response[Any]:
        body = await read_json(request)
        subscription = _shop(state, request, body).subscribe_webhook(
            _str(body, "topic") or "",
            _str(body, "address") or "",
            secret=_str(body, "secret"),
            api_version=_str(body, "api_version"),
        )
        return _ok(subscription.to_json(), 201)

    @delete(f"{PREFIX}/webhooks/subscriptions/{{subscription_id:int}}", status_code=200)
    async def unsubscribe(request: AnyRequest, subscription_id: FromPath[int]) -> Response[Any]:
        _shop(state, request, {}).unsubscribe_webhook(subscription_id)
        return _ok({"deleted": subscription_id})

    @post(f"{PREFIX}/webhooks/behaviour")
    async def webhook_behaviour(request: AnyRequest) -> Response[Any]:
        """`{"duplicate_next": 1, "drop_next": 0, "reverse_next": 0}`; `{"flush": true}`."""
        body = await read_json(request)
        for key, apply in (
            ("duplicate_next", state.webhooks.duplicate_next),
            ("drop_next", state.webhooks.drop_next),
            ("reverse_next", state.webhooks.reverse_next),
        ):
            count = _int(body, key)
            if count is not None:
                try:
                    apply(count)
                except ValueError as exc:
                    raise EmulatorInputError(str(exc)) from exc
        ratio = _number(body, "drop_order_ratio")
        if ratio is not None:
            try:
                state.webhooks.drop_order_webhooks(ratio, _int(body, "seed", 0) or 0)
            except ValueError as exc:
                raise EmulatorInputError(str(exc)) from exc
        if body.get("flush"):
            state.webhooks.flush_held()
        return _ok(state.webhooks.knobs())

    @get(f"{PREFIX}/webhooks/deliveries")
    async def deliveries() -> Response[Any]:
        return _ok(state.webhooks.deliveries())

    @post(f"{PREFIX}/webhooks/wait-idle", sync_to_thread=True)
    def wait_idle(timeout: FromQuery[float] = 5.0) -> Response[Any]:
        """Blocks a worker thread (not the event loop) until deliveries settle."""
        idle = state.webhooks.wait_idle(min(max(timeout, 0.0), MAX_WAIT_SECONDS))
        return _ok({"idle": idle, "deliveries": state.webhooks.deliveries()})

    @get(f"{PREFIX}/orders")
    async def orders(request: AnyRequest) -> Response[Any]:
        return _ok(_shop(state, request, {}).orders_json())

    @post(f"{PREFIX}/orders")
    async def create_order(request: AnyRequest) -> Response[Any]:
        """`{"location": "Warehouse", "line_items": [{"sku": "A", "quantity": 2}]}`."""
        body = await read_json(request)
        lines = body.get("line_items")
        customer = body.get("customer")
        if not isinstance(lines, list):
            raise EmulatorInputError("line_items must be a list")
        if customer is not None and not isinstance(customer, dict):
            raise EmulatorInputError("customer must be an object")
        return _ok(
            _shop(state, request, body).create_order(
                _ref(body, "location_id", "location"),
                lines,
                email=_str(body, "email", "customer@example.com") or "customer@example.com",
                customer=customer,
                currency=_str(body, "currency"),
                financial_status=_str(body, "financial_status", "paid") or "paid",
            ),
            201,
        )

    @post(f"{PREFIX}/orders/{{order_id:str}}/cancel")
    async def cancel_order(request: AnyRequest, order_id: FromPath[str]) -> Response[Any]:
        body = await read_json(request)
        return _ok(
            _shop(state, request, body).cancel_order(
                order_id,
                reason=_str(body, "reason", "customer") or "customer",
                restock=bool(body.get("restock", True)),
            )
        )

    @post(f"{PREFIX}/orders/{{order_id:str}}/fulfill")
    async def fulfill_order(request: AnyRequest, order_id: FromPath[str]) -> Response[Any]:
        body = await read_json(request)
        return _ok(_shop(state, request, body).fulfill_order(order_id))

    @post(f"{PREFIX}/orders/{{order_id:str}}/refund")
    async def refund_order(request: AnyRequest, order_id: FromPath[str]) -> Response[Any]:
        """`{"line_items": [{"sku": "A", "quantity": 1}], "restock": true, "location": ...}`."""
        body = await read_json(request)
        lines = body.get("line_items")
        if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
            raise EmulatorInputError("line_items must be a list of objects")
        location = body.get("location_id", body.get("location"))
        if location is not None and not isinstance(location, str | int):
            raise EmulatorInputError("location must be a name or an id")
        return _ok(
            _shop(state, request, body).refund_order(
                order_id,
                lines,
                restock=bool(body.get("restock", True)),
                location=location,
                note=_str(body, "note"),
            ),
            201,
        )

    return [
        refund_order,
        overview,
        reset,
        list_shops,
        add_shop,
        seed,
        levels,
        manual_edit,
        audit_log,
        counters,
        show_faults,
        add_faults,
        clear_faults,
        show_settings,
        change_settings,
        bucket,
        expire_tokens,
        advance_clock,
        subscriptions,
        subscribe,
        unsubscribe,
        webhook_behaviour,
        deliveries,
        wait_idle,
        orders,
        create_order,
        cancel_order,
        fulfill_order,
    ]
