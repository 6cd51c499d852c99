"""Books anyone can audit: after real orders, transfers, counts, carts and returns the audit
is clean; each kind of inconsistency planted by hand is reported with the rows involved; and a
run after a checkpoint examines only the levels that changed since."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, insert, select, update

from app.audit import rules
from app.events.tables import LoggedEvent
from app.inventory.tables import Location, Sku, StockLevel, StockMovement
from app.platform.database import Database
from app.platform.tables import utcnow
from app.storefronts.tables import (
    Storefront,
    StorefrontItem,
    StorefrontLocation,
    StorefrontPending,
)
from tests.conftest import Keys
from tests.e2e.test_carts import cart_body, start
from tests.e2e.test_orders_pickup import idem, pickup_code, pickup_order, place, stock
from tests.e2e.test_pos_and_returns import sale
from tests.e2e.test_transfers_and_counts import act, enter, open_count, send

Client = AsyncTestClient[Litestar]


async def run(client: Client, keys: Keys, full: bool = False) -> dict[str, Any]:
    response = await client.post(
        "/v1/ops/audit/run" + ("?full=true" if full else ""), headers={**keys.admin, **idem()}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def findings(body: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in body["open_findings"] if f["check"] == check]


async def ids_of(db: Database, location: str, sku: str) -> tuple[int, int]:
    async with db.sessionmaker() as session:
        location_id = await session.scalar(select(Location.id).where(Location.code == location))
        sku_id = await session.scalar(select(Sku.id).where(Sku.sku == sku))
    assert location_id is not None and sku_id is not None
    return location_id, sku_id


async def a_day_of_trading(client: Client, keys: Keys) -> None:
    """Receipts, a pickup order placed, readied, handed over and partly returned, an order
    cancelled, a counter sale, a transfer shipped and received, a count approved, and a
    cart holding units at a store."""
    await stock(client, keys, "STORE-A", "TEE-1", 10)
    await stock(client, keys, "WH-1", "TEE-2", 6)
    await stock(client, keys, "STORE-A", "MUG-1", 4)

    placed = await place(client, keys.storefront, pickup_order(quantity=2))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    ready = await client.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)
    assert ready.status_code == 200, ready.text
    code = await pickup_code(client, keys, order["id"])
    handed = await client.post(
        f"/v1/orders/{order['id']}/pickup", headers=keys.pos, json={"pickup_code": code}
    )
    assert handed.status_code == 200, handed.text
    returned = await client.post(
        f"/v1/orders/{order['id']}/returns",
        headers={**keys.pos, **idem()},
        json={"location": "STORE-A", "lines": [{"sku": "TEE-1", "quantity": 1}]},
    )
    assert returned.status_code == 200, returned.text

    cancelled = (await place(client, keys.storefront, pickup_order(quantity=1))).json()
    response = await client.post(
        f"/v1/orders/{cancelled['id']}/cancel", headers={**keys.storefront, **idem()}
    )
    assert response.status_code == 200, response.text
    still_open = await place(
        client, keys.storefront, pickup_order(quantity=1, email="bo@example.com")
    )
    assert still_open.status_code == 201, still_open.text

    sold = await client.post("/v1/pos/sales", headers=keys.pos, json=sale("audit-1", 1))
    assert sold.status_code == 201, sold.text

    transfer = await send(client, keys, 4, sku="TEE-2")
    received = await act(
        client, keys.admin, transfer["id"], "receive", {"lines": [{"sku": "TEE-2", "quantity": 4}]}
    )
    assert received.status_code == 200, received.text

    count = await open_count(client, keys.admin, location="STORE-A", skus=["MUG-1"])
    assert (await enter(client, keys.admin, count["id"], {"MUG-1": 3})).status_code == 200
    approved = await client.post(
        f"/v1/counts/{count['id']}/approve", headers={**keys.admin, **idem()}
    )
    assert approved.status_code == 200, approved.text

    held = await start(client, keys.mobile, cart_body([("TEE-1", 2)]))
    assert held.status_code == 201, held.text


async def test_a_real_day_audits_clean_and_the_next_run_looks_only_at_what_changed(
    client: Client, keys: Keys, db: Database
) -> None:
    await a_day_of_trading(client, keys)

    first = await run(client, keys)
    assert first["open_findings"] == [], first["open_findings"]
    assert first["checked"]["full"] is True and first["checked"]["advanced"] is True
    levels = first["checked"]["levels_examined"]
    assert levels >= 4

    second = await run(client, keys)
    assert second["checked"]["full"] is False
    assert second["checked"]["levels_examined"] == 0  # nothing changed since
    assert second["checkpoint"]["id"] == second["checked"]["checkpoint_id"]

    await stock(client, keys, "STORE-B", "TEE-2", 1)  # one level changes
    third = await run(client, keys)
    assert third["checked"]["levels_examined"] == 1
    assert third["checked"]["movements_read"] == 1
    assert third["open_findings"] == []

    shown = await client.get("/v1/ops/audit", headers=keys.admin)
    assert shown.status_code == 200, shown.text
    assert shown.json()["checkpoint"]["id"] == third["checked"]["checkpoint_id"]
    assert shown.json()["checked"]["advanced"] is False

    full = await run(client, keys, full=True)
    assert full["checked"]["full"] is True and full["open_findings"] == []
    assert full["checked"]["levels_examined"] == levels + 1


async def checkpoint_then_receive(client: Client, keys: Keys, *quantities: int) -> None:
    """5 of TEE-1 received at STORE-A and audited (the checkpoint), then `quantities` more
    received after it: what the next incremental run has to examine."""
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await run(client, keys)
    for quantity in quantities:
        await stock(client, keys, "STORE-A", "TEE-1", quantity)


def hand_written_movement(location_id: int, sku_id: int, **values: Any) -> dict[str, Any]:
    """A ledger row written behind the service's back (`values`: its kind and deltas)."""
    return {
        "sku_id": sku_id,
        "location_id": location_id,
        "on_hand_delta": 0,
        "reserved_delta": 0,
        "safety_stock_delta": 0,
        "incoming_delta": 0,
        "channel": "admin",
        "actor": "someone",
        "created_at": utcnow(),
        **values,
    }


async def edit_level(db: Database, location: str, sku: str, **values: Any) -> None:
    """A write behind the ledger's back: the level changes, no movement is written."""
    location_id, sku_id = await ids_of(db, location, sku)
    async with db.sessionmaker() as session:
        await session.execute(
            update(StockLevel)
            .where(StockLevel.location_id == location_id, StockLevel.sku_id == sku_id)
            .values(**values)
        )
        await session.commit()


async def test_a_level_edited_by_hand_is_reported_until_put_right(
    client: Client, keys: Keys, db: Database
) -> None:
    await checkpoint_then_receive(client, keys, 2)
    await edit_level(db, "STORE-A", "TEE-1", on_hand=StockLevel.on_hand + 3, updated_at=utcnow())

    dry = (await client.get("/v1/ops/audit", headers=keys.admin)).json()
    [seen] = findings(dry, "fold")
    assert seen["first_seen_at"] is None  # found by the GET, not stored

    body = await run(client, keys)
    assert body["checked"]["levels_examined"] == 1
    [finding] = findings(body, "fold")
    assert (finding["location"], finding["sku"]) == ("STORE-A", "TEE-1")
    assert finding["expected"]["on_hand"] == 7 and finding["found"]["on_hand"] == 10
    assert "on_hand +3" in finding["summary"]
    assert finding["rows"]["audited_through_movement_id"] > 0
    assert len(finding["rows"]["movement_ids"]) == 1  # the receipt of 2, folded

    again = await run(client, keys)  # nothing changed: the finding stays open
    assert [f["summary"] for f in findings(again, "fold")] == [finding["summary"]]
    assert again["open_findings"][0]["first_seen_at"] == finding["first_seen_at"]

    await edit_level(db, "STORE-A", "TEE-1", on_hand=7)
    fixed = await run(client, keys)
    assert findings(fixed, "fold") == []


async def test_a_level_edited_without_any_movement_is_found_by_a_full_run(
    client: Client, keys: Keys, db: Database, monkeypatch: Any
) -> None:
    """The incremental run looks where the ledger moved (and, within the clock margin, a
    little before); a write that moved nothing else is the full run's to find."""
    monkeypatch.setattr(rules, "MARGIN", timedelta(0))
    await stock(client, keys, "STORE-B", "TEE-2", 4)
    await run(client, keys)
    await edit_level(db, "STORE-B", "TEE-2", on_hand=StockLevel.on_hand + 1)
    assert (await run(client, keys))["open_findings"] == []
    full = await run(client, keys, full=True)
    [finding] = findings(full, "fold")
    assert (finding["location"], finding["sku"]) == ("STORE-B", "TEE-2")
    assert (finding["expected"]["on_hand"], finding["found"]["on_hand"]) == (4, 5)
    assert findings(await run(client, keys), "fold") != []  # open until put right


async def test_a_missing_movement_is_reported_with_the_movements_folded(
    client: Client, keys: Keys, db: Database
) -> None:
    await checkpoint_then_receive(client, keys, 2, 1)
    location_id, sku_id = await ids_of(db, "STORE-A", "TEE-1")
    async with db.sessionmaker() as session:
        ids = (
            await session.scalars(
                select(StockMovement.id)
                .where(StockMovement.location_id == location_id, StockMovement.sku_id == sku_id)
                .order_by(StockMovement.id)
            )
        ).all()
        await session.execute(delete(StockMovement).where(StockMovement.id == ids[-2]))
        await session.commit()

    body = await run(client, keys)
    [finding] = findings(body, "fold")
    assert finding["expected"]["on_hand"] == 6 and finding["found"]["on_hand"] == 8
    assert finding["rows"]["movement_ids"] == [ids[-1]]
    assert ids[-2] not in finding["rows"]["movement_ids"]

    full = await run(client, keys, full=True)
    assert [f["found"] for f in findings(full, "fold")] == [{**finding["found"]}]


async def test_a_missing_event_is_reported_with_the_events_seen(
    client: Client, keys: Keys, db: Database
) -> None:
    await checkpoint_then_receive(client, keys, 2, 1)
    async with db.sessionmaker() as session:
        seqs = (
            await session.scalars(
                select(LoggedEvent.seq)
                .where(LoggedEvent.type == "stock.changed", LoggedEvent.sku == "TEE-1")
                .order_by(LoggedEvent.seq)
            )
        ).all()
        await session.execute(delete(LoggedEvent).where(LoggedEvent.seq == seqs[-1]))
        await session.commit()

    body = await run(client, keys)
    [finding] = findings(body, "event")
    assert (finding["location"], finding["sku"]) == ("STORE-A", "TEE-1")
    assert finding["expected"]["version"] == 3 and finding["expected"]["on_hand"] == 8
    assert finding["found"]["latest_event"]["seq"] == seqs[-2]
    assert finding["rows"]["event_seqs"] == [seqs[-2]]
    assert findings(body, "fold") == []


async def test_reserved_that_no_order_holds_is_reported_with_the_orders(
    client: Client, keys: Keys, db: Database
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    order = (await place(client, keys.storefront, pickup_order(quantity=2))).json()
    held = (await start(client, keys.mobile, cart_body([("TEE-1", 1)]))).json()
    first = await run(client, keys)
    assert first["open_findings"] == []
    location_id, sku_id = await ids_of(db, "STORE-A", "TEE-1")
    # a movement that reserves for nobody: the level and the ledger agree, the orders do not
    await edit_level(db, "STORE-A", "TEE-1", reserved=StockLevel.reserved + 1, updated_at=utcnow())
    async with db.sessionmaker() as session:
        await session.execute(
            insert(StockMovement).values(
                hand_written_movement(location_id, sku_id, kind="reservation", reserved_delta=1)
            )
        )
        await session.commit()

    body = await run(client, keys)
    [finding] = findings(body, "reserved")
    assert finding["expected"] == {"reserved": 3} and finding["found"] == {"reserved": 4}
    assert finding["rows"]["orders"] == {order["id"]: 2}
    assert finding["rows"]["carts"] == {held["id"]: 1}
    assert findings(body, "fold") == []


async def test_a_mapped_level_neither_pending_nor_pushed_is_reported(
    client: Client, keys: Keys, db: Database
) -> None:
    location_id, sku_id = await ids_of(db, "STORE-A", "TEE-1")
    storefront_id = uuid.uuid4()
    async with db.sessionmaker() as session:
        session.add(
            Storefront(
                id=storefront_id,
                kind="shopify",
                name="shop",
                shop_domain="shop.myshopify.com",
                api_version="2025-01",
                buffer=1,
                webhook_secret_encrypted="x",
            )
        )
        await session.flush()
        session.add(
            StorefrontLocation(
                storefront_id=storefront_id,
                location_id=location_id,
                external_location_id="gid://shopify/Location/1",
            )
        )
        session.add(
            StorefrontItem(
                storefront_id=storefront_id,
                sku_id=sku_id,
                external_inventory_item_id="gid://shopify/InventoryItem/1",
            )
        )
        await session.commit()
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    assert (await run(client, keys))["open_findings"] == []  # pending

    await run(client, keys)
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    async with db.sessionmaker() as session:
        await session.execute(delete(StorefrontPending))
        await session.commit()

    body = await run(client, keys)
    [finding] = findings(body, "storefront")
    assert finding["storefront_id"] == str(storefront_id)
    assert finding["expected"] == {"pending": True, "or_pushed": 6}
    assert finding["found"] == {"pending": False, "pushed": None}


async def test_the_audit_is_admins_only(client: Client, keys: Keys) -> None:
    for headers in (keys.pos, keys.readonly, keys.storefront):
        assert (await client.get("/v1/ops/audit", headers=headers)).status_code == 403
    assert (await client.get("/v1/ops/audit")).status_code == 401


async def test_a_change_in_flight_at_the_checkpoint_is_audited_by_the_next_run(
    client: Client, keys: Keys, db: Database, on_postgres: bool, monkeypatch: Any
) -> None:
    """The pitfall of "everything after the highest id or time seen": a transaction that
    wrote before the checkpoint's snapshot and committed after it. Without the clock margin,
    only the start of the oldest transaction in flight keeps it in the next run's window."""
    if not on_postgres:
        pytest.skip("SQLite runs one writer at a time: nothing is in flight during a run")
    monkeypatch.setattr(rules, "MARGIN", timedelta(0))
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await run(client, keys)
    location_id, sku_id = await ids_of(db, "STORE-A", "TEE-1")
    async with db.engine.connect() as slow:  # a ledger write that takes its time to commit
        await slow.execute(
            update(StockLevel)
            .where(StockLevel.location_id == location_id, StockLevel.sku_id == sku_id)
            .values(on_hand=StockLevel.on_hand + 1, updated_at=utcnow())
        )
        await slow.execute(
            insert(StockMovement).values(
                hand_written_movement(
                    location_id, sku_id, kind="receipt", on_hand_delta=1, actor="slow"
                )
            )
        )
        during = await run(client, keys)  # its snapshot does not see the write
        assert during["checked"]["levels_examined"] == 0
        await slow.commit()
    after = await run(client, keys)
    assert after["checked"]["levels_examined"] == 1
    assert findings(after, "fold") == []
