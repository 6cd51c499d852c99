"""A retry with the same Idempotency-Key after the database connection was lost at the
worst moment: after the work committed. docs/api.md promises "clients retry freely"; these pin
the two places where a retry cannot get the order the client paid for. The cut is injected
in process at exactly that moment (the load test only hits it by chance).

A placement is resumable: its Idempotency-Key claim remembers the order it created, so a
retry whose first answer was lost finishes that order instead of starting over."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.main import create_app
from app.platform.idempotency import store
from tests.fault import audit
from tests.fault.conftest import Retailer


def connection_cut() -> OperationalError:
    return OperationalError("COMMIT", {}, ConnectionResetError("connection cut by the network"))


@pytest.fixture
async def api(
    retailer: Retailer, scratch_database_url: str
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = replace(
        Settings.from_env(),
        database_url=scratch_database_url,
        redis_url=None,
        in_process_workers=False,
        log_level="WARNING",
    )
    async with AsyncTestClient(app=create_app(settings), raise_server_exceptions=False) as client:
        yield client


def order(retailer: Retailer, key: str) -> dict[str, Any]:
    return {
        "headers": {**retailer.storefront, "Idempotency-Key": key},
        "json": {
            "customer": {"email": "ada@example.com"},
            "lines": [{"sku": retailer.skus[0], "quantity": 1}],
            "fulfilment": {"type": "pickup", "location": "STORE-A"},
            "notes": key,
        },
    }


async def orders_for(scratch_database_url: str, key: str) -> list[dict[str, Any]]:
    books = await audit.read_books(scratch_database_url)
    return [o for o in books.orders.values() if o["notes"] == key]


async def test_a_retry_gets_the_order_when_its_response_could_not_be_stored(
    api: AsyncTestClient[Litestar],
    retailer: Retailer,
    scratch_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_response = store.store_response
    failures = [connection_cut() for _ in range(3)]  # every attempt to keep the answer fails

    async def cut_once(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        await store_response(*args, **kwargs)

    monkeypatch.setattr(store, "store_response", cut_once)
    key = f"order-{uuid.uuid4()}"

    first = await api.post("/v1/orders", **order(retailer, key))
    assert first.status_code == 201  # this client got its answer; the record of it is lost
    retry = await api.post("/v1/orders", **order(retailer, key))

    placed = await orders_for(scratch_database_url, key)
    assert len(placed) == 1  # the work was done, once
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"]


@pytest.fixture
async def paid_api(
    retailer: Retailer, scratch_database_url: str, localstripe_url: str
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The API taking payments through Stripe (localstripe): orders wait for authorisation."""
    from tests.support.stripe import API_KEY, WEBHOOK_SECRET

    settings = replace(
        Settings.from_env(),
        database_url=scratch_database_url,
        redis_url=None,
        in_process_workers=False,
        log_level="WARNING",
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe_url,
    )
    async with AsyncTestClient(app=create_app(settings), raise_server_exceptions=False) as client:
        yield client


async def test_a_retry_gets_the_order_when_the_database_went_away_mid_order(
    paid_api: AsyncTestClient[Litestar],
    retailer: Retailer,
    scratch_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payments = paid_api.app.state.ctx.payments
    authorize = payments.authorize
    failures = [connection_cut()]

    async def stripe_answers_then_the_connection_dies(*args: Any, **kwargs: Any) -> Any:
        authorization = await authorize(*args, **kwargs)
        if failures:
            raise failures.pop()
        return authorization

    monkeypatch.setattr(payments, "authorize", stripe_answers_then_the_connection_dies)
    key = f"order-{uuid.uuid4()}"

    first = await paid_api.post("/v1/orders", **order(retailer, key))
    assert first.status_code == 503
    assert first.json()["error"]["code"] == "unavailable"  # "retry shortly", says the API
    retry = await paid_api.post("/v1/orders", **order(retailer, key))

    placed = await orders_for(scratch_database_url, key)
    assert len(placed) == 1  # never two orders for one key
    assert retry.status_code == 201, f"{retry.status_code} {retry.headers} {retry.text}"
    assert retry.json()["payment"]["client_secret"]
