"""A retry with the same Idempotency-Key after the database connection was lost at the
worst moment: at or after the commit of the work. docs/api.md promises "clients retry
freely"; these pin the places where a retry could miss the answer the work earned. Each cut is
injected in process at exactly that moment (the load test only hits it by chance).

Writes store their answer in their own transaction where they can (orders, stock movements),
so a cut after the commit leaves the answer with the work. A placement is also resumable: its
Idempotency-Key claim remembers the order it created, so a retry whose first answer was lost
finishes that order instead of starting over."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

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


async def test_a_retry_of_a_count_whose_answer_was_lost_is_told_to_look_it_up(
    api: AsyncTestClient[Litestar],
    retailer: Retailer,
    scratch_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write whose answer is stored just after its work (a stock count): the work committed
    and every attempt to keep the answer failed. The retry counts nothing again and is told
    the request was applied (docs/api.md), not left to guess."""
    store_response = store.store_response
    failures = [connection_cut() for _ in range(3)]  # every attempt to keep the answer fails

    async def cut(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        await store_response(*args, **kwargs)

    monkeypatch.setattr(store, "store_response", cut)
    key = f"count-{uuid.uuid4()}"
    count = {
        "headers": {**retailer.admin, "Idempotency-Key": key},
        "json": {
            "location": "STORE-B",
            "counts": [{"sku": retailer.skus[0], "counted": 7}],
            "reference": key,
        },
    }

    first = await api.post("/v1/stock/counts", **count)
    assert first.status_code == 201, first.text  # this client got its answer; its record is lost
    assert not failures  # the fault did fire
    retry = await api.post("/v1/stock/counts", **count)

    books = await audit.read_books(scratch_database_url)
    assert [m["reference"] for m in books.movements].count(key) == 1  # counted once
    assert retry.status_code == 409, retry.text
    assert retry.json()["error"]["code"] == "conflict"
    assert retry.json()["error"]["details"]["idempotency_key"] == key


def cut_after_the_first_commit(monkeypatch: pytest.MonkeyPatch) -> list[OperationalError]:
    """The next COMMIT reaches the server and its reply never comes back: the transaction is
    committed, and the process sees the commit fail, as it would when the network dies then."""
    commit = AsyncSession.commit
    failures = [connection_cut()]

    async def committed_then_cut(self: AsyncSession) -> None:
        await commit(self)
        if failures:
            raise failures.pop()

    monkeypatch.setattr(AsyncSession, "commit", committed_then_cut)
    return failures


async def test_a_retry_gets_the_movement_when_the_connection_died_at_its_commit(
    api: AsyncTestClient[Litestar],
    retailer: Retailer,
    scratch_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A receipt committed while its client heard 503: the answer was stored with it, so the
    retry gets that exact answer and the stock is received once."""
    key = f"receipt-{uuid.uuid4()}"
    receipt = {
        "headers": {**retailer.admin, "Idempotency-Key": key},
        "json": {
            "location": "STORE-A",
            "sku": retailer.skus[0],
            "kind": "receipt",
            "quantity": 3,
            "reference": key,
        },
    }
    failures = cut_after_the_first_commit(monkeypatch)

    first = await api.post("/v1/stock/movements", **receipt)
    assert first.status_code == 503, first.text
    assert not failures
    received = [
        m for m in (await audit.read_books(scratch_database_url)).movements if m["reference"] == key
    ]
    assert len(received) == 1  # committed, though its client was told to retry
    retry = await api.post("/v1/stock/movements", **receipt)

    assert retry.status_code == 201, retry.text
    assert retry.json()["movement"]["id"] == received[0]["id"]
    assert retry.json()["movement"]["on_hand_delta"] == 3
    books = await audit.read_books(scratch_database_url)
    assert [m["reference"] for m in books.movements].count(key) == 1  # received once


async def test_a_retry_gets_the_order_when_the_connection_died_at_its_commit(
    api: AsyncTestClient[Litestar],
    retailer: Retailer,
    scratch_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order's COMMIT reached the server and its reply never came back: the client hears
    503 for an order that exists. Its answer was stored in the order's own transaction, so the
    retry gets that exact answer, and nothing is placed or reserved twice."""
    key = f"order-{uuid.uuid4()}"
    before = await audit.read_books(scratch_database_url)
    failures = cut_after_the_first_commit(monkeypatch)

    first = await api.post("/v1/orders", **order(retailer, key))
    assert first.status_code == 503, first.text
    assert first.json()["error"]["code"] == "unavailable"
    assert not failures
    placed = [
        i
        for i, o in (await audit.read_books(scratch_database_url)).orders.items()
        if o["notes"] == key
    ]
    assert len(placed) == 1  # committed, though its client was told to retry
    retry = await api.post("/v1/orders", **order(retailer, key))

    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == str(placed[0])
    after = await audit.read_books(scratch_database_url)
    assert [i for i, o in after.orders.items() if o["notes"] == key] == placed  # never two
    level = ("STORE-A", retailer.skus[0])
    assert after.levels[level]["reserved"] == before.levels[level]["reserved"] + 1
    assert len(after.movements) == len(before.movements) + 1  # reserved once


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
