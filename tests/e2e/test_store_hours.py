"""A store's day: opening hours, closed dates, lead time and the pause; what availability
promises from them, what a pickup order is promised, and a till's local time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.bootstrap import AppContext
from app.inventory import catalogue
from app.inventory.availability import stores_near
from app.inventory.catalogue import LocationChanges
from app.inventory.hours import PickupStatus
from app.orders.repository import OrderRepository
from app.platform.access import Principal, Role
from app.platform.errors import Forbidden
from tests.conftest import Keys, World
from tests.e2e.test_orders_pickup import level, pickup_order, place, stock

Client = AsyncTestClient[Litestar]
PICCADILLY = {"latitude": 51.5101, "longitude": -0.1340}
WEEKDAY = [["09:00", "20:00"]]
LONDON_HOURS = {"mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY, "fri": WEEKDAY}
MANAGER_OF_A = Principal(
    key_id="s", name="m", role=Role.MANAGER, stores=frozenset({"STORE-A"}), email="m@example.com"
)


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def patch(client: Client, headers: dict[str, str], code: str, body: Any) -> Any:
    return await client.patch(f"/v1/locations/{code}", headers={**headers, **idem()}, json=body)


def new_store(code: str, **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": code,
        "kind": "store",
        "latitude": 51.513,
        "longitude": -0.135,
        "pickup_enabled": True,
        **fields,
    }


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


# Locations ---------------------------------------------------------------------------------
async def test_a_store_is_created_with_its_hours_and_shows_them(client: Client, keys: Keys) -> None:
    body = new_store(
        "LDN-SOHO",
        timezone="Europe/London",
        opening_hours={**LONDON_HOURS, "sat": [["14:00", "18:00"], ["10:00", "13:00"]]},
        closed_dates=["2026-12-26", "2026-12-25", "2026-12-25"],
        pickup_lead_minutes=90,
    )
    created = await client.post("/v1/locations", headers={**keys.admin, **idem()}, json=body)
    assert created.status_code == 201, created.text
    shown = (await client.get("/v1/locations/LDN-SOHO", headers=keys.mobile)).json()
    assert shown == created.json()
    assert shown["timezone"] == "Europe/London"
    assert shown["opening_hours"]["mon"] == [["09:00", "20:00"]]
    assert shown["opening_hours"]["sat"] == [["10:00", "13:00"], ["14:00", "18:00"]]
    assert shown["opening_hours"]["sun"] == []  # left out: closed
    assert shown["closed_dates"] == ["2026-12-25", "2026-12-26"]
    assert shown["pickup_lead_minutes"] == 90 and shown["pickup_paused"] is False
    listed = (await client.get("/v1/locations", headers=keys.readonly)).json()
    assert [loc for loc in listed if loc["code"] == "LDN-SOHO"] == [shown]


async def test_a_store_without_hours_is_always_open_in_utc(client: Client, keys: Keys) -> None:
    shown = (await client.get("/v1/locations/STORE-A", headers=keys.storefront)).json()
    assert shown["timezone"] == "UTC"
    assert shown["opening_hours"] == {} and shown["closed_dates"] == []
    assert shown["pickup_lead_minutes"] == 60 and shown["pickup_paused"] is False


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, 422),
        ({"timezone": "Europe/../../etc"}, 400),
        ({"opening_hours": {"mon": [["25:00", "26:00"]]}}, 400),
        ({"opening_hours": {"mon": [["20:00", "09:00"]]}}, 422),
        ({"opening_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, 422),
        ({"opening_hours": {"mon": [["24:00", "24:00"]]}}, 422),
        ({"opening_hours": {"mon": [["09:00"]]}}, 400),
        ({"opening_hours": {"someday": [["09:00", "10:00"]]}}, 400),
        ({"closed_dates": ["2026-02-30"]}, 400),
        ({"pickup_lead_minutes": 10081}, 400),
        ({"pickup_lead_minutes": -1}, 400),
    ],
)
async def test_malformed_hours_are_refused_in_the_error_shape(
    client: Client, keys: Keys, fields: dict[str, Any], status: int
) -> None:
    created = await client.post(
        "/v1/locations", headers={**keys.admin, **idem()}, json=new_store("BAD-1", **fields)
    )
    assert created.status_code == status, created.text
    error_of(created)
    changed = await patch(client, keys.admin, "STORE-A", fields)
    assert changed.status_code == status, changed.text
    error_of(changed)
    assert (await client.get("/v1/locations/BAD-1", headers=keys.admin)).status_code == 404
    assert (await client.get("/v1/locations/STORE-A", headers=keys.admin)).json()[
        "opening_hours"
    ] == {}


async def test_admin_changes_a_location_field_by_field(client: Client, keys: Keys) -> None:
    changed = await patch(
        client,
        keys.admin,
        "STORE-A",
        {"name": "Oxford Circus", "timezone": "Europe/London", "opening_hours": LONDON_HOURS},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Oxford Circus" and body["timezone"] == "Europe/London"
    assert body["opening_hours"]["fri"] == WEEKDAY and body["opening_hours"]["sat"] == []
    assert body["latitude"] == 51.5152 and body["pickup_lead_minutes"] == 60  # left alone
    again = await patch(client, keys.admin, "STORE-A", {"pickup_lead_minutes": 30})
    assert again.json()["opening_hours"] == body["opening_hours"]
    always = await patch(client, keys.admin, "STORE-A", {"opening_hours": None})
    assert always.json()["opening_hours"] == {} and always.json()["pickup_lead_minutes"] == 30
    shown = (await client.get("/v1/locations/STORE-A", headers=keys.admin)).json()
    assert shown == always.json()


async def test_patch_is_idempotent_and_404_for_an_unknown_store(client: Client, keys: Keys) -> None:
    headers = {**keys.admin, "Idempotency-Key": "pause-a-1"}
    first = await client.patch(
        "/v1/locations/STORE-A", headers=headers, json={"pickup_paused": True}
    )
    assert first.status_code == 200 and first.json()["pickup_paused"] is True
    await patch(client, keys.admin, "STORE-A", {"pickup_paused": False})
    replay = await client.patch(
        "/v1/locations/STORE-A", headers=headers, json={"pickup_paused": True}
    )
    assert replay.status_code == 200 and replay.json() == first.json()
    shown = (await client.get("/v1/locations/STORE-A", headers=keys.admin)).json()
    assert shown["pickup_paused"] is False  # the replay changed nothing
    other = await client.patch(
        "/v1/locations/STORE-A", headers=headers, json={"pickup_paused": False}
    )
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_conflict"
    unknown = await patch(client, keys.admin, "NOWHERE", {"pickup_paused": True})
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "not_found"


async def test_only_admin_keys_change_a_location(client: Client, keys: Keys) -> None:
    for headers in (keys.pos, keys.storefront, keys.mobile, keys.readonly):
        refused = await patch(client, headers, "STORE-A", {"pickup_paused": True})
        assert refused.status_code == 403, refused.text
        assert error_of(refused)["code"] == "forbidden"
    shown = (await client.get("/v1/locations/STORE-A", headers=keys.admin)).json()
    assert shown["pickup_paused"] is False


async def test_a_manager_changes_only_the_pickup_fields_of_their_store(
    ctx: AppContext, world: World
) -> None:
    changed = await catalogue.update_location(
        ctx,
        MANAGER_OF_A,
        "STORE-A",
        LocationChanges(
            pickup_paused=True,
            pickup_lead_minutes=15,
            timezone="Europe/London",
            opening_hours=LONDON_HOURS,
            closed_dates=["2026-12-25"],
        ),
    )
    assert changed.pickup_paused and changed.pickup_lead_minutes == 15
    assert changed.closed_dates == ["2026-12-25"] and changed.timezone == "Europe/London"
    with pytest.raises(Forbidden):
        await catalogue.update_location(
            ctx, MANAGER_OF_A, "STORE-A", LocationChanges(name="Mine now", pickup_paused=False)
        )
    with pytest.raises(Forbidden):
        await catalogue.update_location(
            ctx, MANAGER_OF_A, "STORE-B", LocationChanges(pickup_paused=True)
        )
    associate = Principal(
        key_id="s2", name="a", role=Role.ASSOCIATE, stores=frozenset({"STORE-A"}), email="a@x.io"
    )
    with pytest.raises(Forbidden):
        await catalogue.update_location(
            ctx, associate, "STORE-A", LocationChanges(pickup_paused=False)
        )
    shown = await catalogue.get_location(ctx, "STORE-A")
    assert shown.name == "Oxford Street" and shown.pickup_paused  # the refusals changed nothing
    assert not (await catalogue.get_location(ctx, "STORE-B")).pickup_paused


# Availability ------------------------------------------------------------------------------
async def test_out_of_stock_stores_are_listed_when_asked(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    params: dict[str, Any] = {"sku": "TEE-1", **PICCADILLY}
    in_stock = (await client.get("/v1/availability", headers=keys.mobile, params=params)).json()
    assert [r["location"] for r in in_stock["results"]] == ["STORE-A"]
    params["include_out_of_stock"] = "true"
    every = (await client.get("/v1/availability", headers=keys.mobile, params=params)).json()
    assert [(r["location"], r["available"]) for r in every["results"]] == [
        ("STORE-A", 5),
        ("STORE-B", 0),  # never had any; Manchester is out of range, WH-1 is no store
    ]
    unknown = await client.get(
        "/v1/availability", headers=keys.mobile, params={**params, "sku": ["TEE-1", "NOPE"]}
    )
    assert unknown.status_code == 404 and error_of(unknown)["details"] == {"skus": ["NOPE"]}


async def test_each_store_says_when_an_order_placed_now_is_ready(
    client: Client, keys: Keys
) -> None:
    for code in ("STORE-A", "STORE-B"):
        await stock(client, keys, code, "TEE-1", 3)
    await patch(client, keys.admin, "STORE-B", {"pickup_paused": True})
    before = datetime.now(UTC)
    body = (
        await client.get(
            "/v1/availability",
            headers=keys.storefront,
            params={"sku": "TEE-1", **PICCADILLY, "include_out_of_stock": True},
        )
    ).json()
    after = datetime.now(UTC)
    store_a, store_b = body["results"]
    assert store_a["pickup_status"] == "open"  # no hours: always open, 60 minutes' lead
    ready = datetime.fromisoformat(store_a["pickup_ready_by"])
    assert before + timedelta(minutes=60) <= ready <= after + timedelta(minutes=60)
    assert store_b["location"] == "STORE-B"
    assert store_b["pickup_status"] == "paused" and store_b["pickup_ready_by"] is None
    await patch(
        client, keys.admin, "STORE-B", {"pickup_paused": False, "opening_hours": {"mon": []}}
    )
    await patch(client, keys.admin, "STORE-A", {"pickup_enabled": False})
    body = (
        await client.get(
            "/v1/availability", headers=keys.storefront, params={"sku": "TEE-1", **PICCADILLY}
        )
    ).json()
    assert [(r["location"], r["pickup_status"], r["pickup_ready_by"]) for r in body["results"]] == [
        ("STORE-A", "not_offered", None),
        ("STORE-B", "closed", None),  # never open: nothing to promise
    ]


async def test_the_promise_follows_the_hours_at_a_pinned_now(
    client: Client, keys: Keys, ctx: AppContext
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    await patch(
        client,
        keys.admin,
        "STORE-A",
        {
            "timezone": "Europe/London",
            "opening_hours": LONDON_HOURS,
            "closed_dates": ["2026-12-01"],
            "pickup_lead_minutes": 60,
        },
    )

    async def at(now: str) -> tuple[PickupStatus, datetime | None]:
        [store] = await stores_near(
            ctx,
            skus=["TEE-1"],
            radius_km=5,
            quantity=1,
            now=datetime.fromisoformat(now),
            latitude=PICCADILLY["latitude"],
            longitude=PICCADILLY["longitude"],
        )
        return store.pickup_status, store.pickup_ready_by

    # 2026-11-30 is a Monday (GMT); Tuesday 1 December is a closed date.
    assert await at("2026-11-30T10:00:00+00:00") == (
        PickupStatus.OPEN,
        datetime(2026, 11, 30, 11, 0, tzinfo=UTC),
    )
    assert await at("2026-11-30T19:30:00+00:00") == (
        PickupStatus.OPEN,
        datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
    )
    assert await at("2026-11-30T07:00:00+00:00") == (
        PickupStatus.CLOSED_NOW,
        datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
    )
    assert await at("2026-12-05T12:00:00+00:00") == (  # Saturday: closed all weekend
        PickupStatus.CLOSED_TODAY,
        datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
    )
    assert await at("2026-06-01T07:30:00+00:00") == (  # a Monday in summer: 08:30 BST
        PickupStatus.CLOSED_NOW,
        datetime(2026, 6, 1, 9, 0, tzinfo=UTC),  # 10:00 BST
    )
    assert await at("2026-06-01T08:30:00+00:00") == (
        PickupStatus.OPEN,
        datetime(2026, 6, 1, 9, 30, tzinfo=UTC),
    )


# Orders at a paused store, and the promise an order keeps ----------------------------------
async def test_a_paused_store_refuses_pickups_and_names_nearby_stores(
    client: Client, keys: Keys
) -> None:
    for code, units in (("STORE-A", 5), ("STORE-B", 4), ("STORE-M", 9)):
        await stock(client, keys, code, "TEE-1", units)
    await patch(client, keys.admin, "STORE-A", {"pickup_paused": True})
    refused = await place(client, keys.storefront, pickup_order("STORE-A", 2))
    assert refused.status_code == 409, refused.text
    error = error_of(refused)
    assert error["code"] == "pickup_paused"
    assert error["details"]["location"] == "STORE-A"
    [line] = error["details"]["lines"]
    assert line["sku"] == "TEE-1" and line["requested"] == 2
    assert [a["location"] for a in line["alternatives"]] == ["STORE-B"]  # Manchester: too far
    assert line["alternatives"][0]["available"] == 4
    assert (await level(client, keys, "TEE-1", "STORE-A"))["reserved"] == 0
    orders = (await client.get("/v1/orders", headers=keys.admin)).json()
    assert orders["items"] == []
    # A paused store is no alternative either.
    await patch(client, keys.admin, "STORE-B", {"pickup_paused": True})
    await patch(client, keys.admin, "STORE-A", {"pickup_paused": False})
    await stock(client, keys, "STORE-A", "TEE-2", 1)
    short = await place(
        client,
        keys.storefront,
        {**pickup_order("STORE-A", 1), "lines": [{"sku": "TEE-1", "quantity": 6}]},
    )
    assert short.status_code == 409 and error_of(short)["code"] == "insufficient_stock"
    assert error_of(short)["details"]["lines"][0]["alternatives"] == []


async def test_a_pickup_order_keeps_the_time_it_was_promised(
    client: Client, keys: Keys, ctx: AppContext
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await stock(client, keys, "STORE-B", "TEE-1", 5)
    await patch(client, keys.admin, "STORE-A", {"pickup_lead_minutes": 120})
    await patch(client, keys.admin, "STORE-B", {"opening_hours": {"sun": []}})
    before = datetime.now(UTC)
    at_a = await place(client, keys.storefront, pickup_order("STORE-A", 1))
    after = datetime.now(UTC)
    at_b = await place(client, keys.mobile, pickup_order("STORE-B", 1, "bo@example.com"))
    assert at_a.status_code == 201 and at_b.status_code == 201, at_a.text + at_b.text
    async with ctx.uow(readonly=True) as uow:
        order_a = await OrderRepository.of(uow).order(uuid.UUID(at_a.json()["id"]))
        order_b = await OrderRepository.of(uow).order(uuid.UUID(at_b.json()["id"]))
    assert order_a.due_at is not None
    assert before + timedelta(minutes=120) <= order_a.due_at <= after + timedelta(minutes=120)
    assert order_b.due_at is None  # a store that never opens promises nothing


# A till's local time -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sent", "recorded"),
    [
        ("2026-01-15T09:15:00", "2026-01-15T09:15:00+00:00"),  # GMT
        ("2026-07-15T09:15:00", "2026-07-15T08:15:00+00:00"),  # BST
        ("2026-07-15T09:15:00Z", "2026-07-15T09:15:00+00:00"),  # an offset is kept
        ("2026-07-15T09:15:00+02:00", "2026-07-15T07:15:00+00:00"),
    ],
)
async def test_a_till_time_without_an_offset_is_the_store_local_time(
    client: Client, keys: Keys, sent: str, recorded: str
) -> None:
    await patch(client, keys.admin, "STORE-A", {"timezone": "Europe/London"})
    sale = {
        "client_txn_id": f"till-1:{uuid.uuid4().hex[:8]}",
        "location": "STORE-A",
        "occurred_at": sent,
        "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price_minor": 900}],
    }
    first = await client.post("/v1/pos/sales", headers=keys.pos, json=sale)
    assert first.status_code == 201, first.text
    assert datetime.fromisoformat(first.json()["occurred_at"]) == datetime.fromisoformat(recorded)
    replay = await client.post("/v1/pos/sales", headers=keys.pos, json=sale)
    assert replay.status_code == 200 and replay.json() == first.json()


async def test_a_till_in_utc_reads_its_local_time_as_utc(client: Client, keys: Keys) -> None:
    sale = {
        "client_txn_id": "till-1:utc",
        "location": "STORE-A",
        "occurred_at": "2026-07-15T09:15:00",
        "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price_minor": 900}],
    }
    recorded = await client.post("/v1/pos/sales", headers=keys.pos, json=sale)
    assert recorded.status_code == 201, recorded.text
    assert datetime.fromisoformat(recorded.json()["occurred_at"]) == datetime(
        2026, 7, 15, 9, 15, tzinfo=UTC
    )
