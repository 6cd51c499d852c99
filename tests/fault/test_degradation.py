"""The service degrades clearly and recovers by itself: with the database gone, writes get a
503 in the error shape and `/health/ready` fails; when it is back, the same API process
serves again without a restart. With Redis gone, orders are still taken."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fault.conftest import Retailer, through
from tests.support.processes import ApiProcess, Fleet, RedisServer, service_env
from tests.support.tcp_proxy import TcpProxy

RECOVERY_SECONDS = 15.0


@pytest.fixture
def redis_server(fleet: Fleet) -> RedisServer:
    return fleet.redis()


@pytest.fixture
def api(
    fleet: Fleet,
    retailer: Retailer,
    postgres_proxy: TcpProxy,
    redis_server: RedisServer,
    scratch_database_url: str,
) -> ApiProcess:
    """One API process whose database connection goes through the proxy."""
    env = service_env(
        through(postgres_proxy, scratch_database_url), redis_server.url, DATABASE_POOL_SIZE="3"
    )
    return fleet.api(env)


@pytest.fixture
def http(api: ApiProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, timeout=10) as client:
        yield client


def receipt(retailer: Retailer, key: str | None = None) -> dict[str, Any]:
    return {
        "headers": {**retailer.admin, "Idempotency-Key": key or str(uuid.uuid4())},
        "json": {"location": "STORE-A", "sku": retailer.skus[0], "kind": "receipt", "quantity": 2},
    }


def pickup_order(retailer: Retailer, key: str | None = None) -> dict[str, Any]:
    return {
        "headers": {**retailer.storefront, "Idempotency-Key": key or str(uuid.uuid4())},
        "json": {
            "customer": {"email": "ada@example.com"},
            "lines": [{"sku": retailer.skus[1], "quantity": 1}],
            "fulfilment": {"type": "pickup", "location": "STORE-B"},
        },
    }


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert error["message"]
    assert isinstance(error["details"], dict)


def eventually(
    http: httpx.Client, method: str, path: str, status: int, **request: Any
) -> httpx.Response:
    """Repeat the request until it answers `status` (a client retrying), within a deadline."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        response = http.request(method, path, **request)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


def test_database_down_is_a_clear_503_and_the_same_process_recovers(
    http: httpx.Client, api: ApiProcess, retailer: Retailer, postgres_proxy: TcpProxy
) -> None:
    assert http.post("/v1/stock/movements", **receipt(retailer)).status_code == 201
    assert http.get("/health/ready").status_code == 200

    postgres_proxy.stop()  # the database goes away, pooled connections and all

    assert_unavailable(http.post("/v1/stock/movements", **receipt(retailer)))
    order_key = str(uuid.uuid4())
    assert_unavailable(http.post("/v1/orders", **pickup_order(retailer, order_key)))
    assert_unavailable(http.get(f"/v1/stock/{retailer.skus[0]}", headers=retailer.admin))
    ready = http.get("/health/ready")
    assert_unavailable(ready)
    assert ready.json()["error"]["details"]["database"].startswith("error")
    assert ready.json()["error"]["details"]["redis"] == "ok"
    assert http.get("/health/live").status_code == 200  # up, just not ready

    postgres_proxy.start()

    assert eventually(http, "GET", "/health/ready", 200).status_code == 200
    assert http.post("/v1/stock/movements", **receipt(retailer)).status_code == 201
    # The order refused with a 503 was not remembered under its key: the retry places it.
    retried = http.post("/v1/orders", **pickup_order(retailer, order_key))
    assert retried.status_code == 201, retried.text
    assert retried.json()["status"] == "confirmed"
    level = http.get(f"/v1/stock/{retailer.skus[1]}/STORE-B", headers=retailer.admin).json()
    assert level["reserved"] == 1
    assert api.process.alive  # the process that lost the database served again by itself


def test_a_cut_connection_costs_at_most_a_retry(
    http: httpx.Client, retailer: Retailer, postgres_proxy: TcpProxy
) -> None:
    for _ in range(3):  # fill the pool with connections the cut will kill
        assert http.post("/v1/stock/movements", **receipt(retailer)).status_code == 201
    assert postgres_proxy.cut() > 0

    key = str(uuid.uuid4())
    response = eventually(http, "POST", "/v1/orders", 201, **pickup_order(retailer, key))
    assert response.status_code == 201, response.text
    again = http.post("/v1/orders", **pickup_order(retailer, key))
    assert again.json()["id"] == response.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"


def test_orders_are_taken_while_redis_is_down(
    http: httpx.Client, retailer: Retailer, redis_server: RedisServer
) -> None:
    redis_server.kill()

    placed = http.post("/v1/orders", **pickup_order(retailer))
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "confirmed"
    sale = http.post(
        "/v1/pos/sales",
        headers=retailer.pos["STORE-A"],
        json={
            "client_txn_id": str(uuid.uuid4()),
            "location": "STORE-A",
            "occurred_at": "2026-01-05T10:00:00Z",
            "lines": [{"sku": retailer.skus[2], "quantity": 1, "unit_price_minor": 1000}],
        },
    )
    assert sale.status_code == 201, sale.text
    ready = http.get("/health/ready")
    assert_unavailable(ready)
    assert ready.json()["error"]["details"]["database"] == "ok"
    assert ready.json()["error"]["details"]["redis"].startswith("error")

    redis_server.start()

    assert eventually(http, "GET", "/health/ready", 200).status_code == 200


def test_a_deadlock_victim_is_told_to_retry_not_given_a_500() -> None:
    """PostgreSQL rolls a deadlock victim (or a serialization failure) back entirely, so
    the request is safe to send again: 503 `unavailable` with Retry-After, not a 500."""
    from sqlalchemy.exc import DBAPIError

    from app.platform.http.errors import EXCEPTION_HANDLERS

    class DeadlockDetected(Exception):
        sqlstate = "40P01"

    handler = EXCEPTION_HANDLERS[DBAPIError]
    error = DBAPIError("INSERT INTO storefront_pending ...", {}, DeadlockDetected("deadlock"))
    response = handler(None, error)  # type: ignore[arg-type]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.content["error"]["code"] == "unavailable"
