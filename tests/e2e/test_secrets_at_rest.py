"""Pickup codes are not kept in clear (issue: they sat in clear in the notifications table and
in the log at INFO with the customer's email)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.integrations import mail
from app.orders.tables import Notification
from app.platform.database import Database
from tests.conftest import Keys
from tests.e2e.test_orders_pickup import pickup_code, pickup_order, place, stock

Client = AsyncTestClient[Litestar]


async def test_a_pickup_code_is_sealed_in_the_outbox(
    client: Client, keys: Keys, db: Database
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    order = (await place(client, keys.storefront, pickup_order())).json()
    ready = await client.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)
    assert ready.status_code == 200, ready.text

    code = await pickup_code(client, keys, order["id"])  # the admin reads it whole
    async with db.sessionmaker() as session:
        bodies = (await session.execute(select(Notification.body))).scalars().all()
    assert bodies and not any(code in body for body in bodies)
    assert any(body.startswith("sealed:") for body in bodies)


def test_the_log_sender_masks_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[dict[str, Any]] = []

    class Recorder:
        def info(self, event: str, **fields: Any) -> None:
            logged.append({"event": event, **fields})

    monkeypatch.setattr(mail, "log", Recorder())
    mail.LogSender().send("ada@example.com", "Ready", "Show this pickup code: 123456")
    [line] = logged
    assert "123456" not in line["body"] and re.search(r"\*{6}", line["body"])
