"""Checkout storm: concurrent clients placing pickup and ship orders over HTTP against the API
as deployed (`omnistock serve`: granian, 2 worker processes, loopback, PostgreSQL), across
50 stores and 20,000 SKUs, then the same run with every client after one hot SKU at one store.
Reports orders/s, p50/p95/p99, and the oversell count (units promised beyond what was there;
must be 0).

Baseline, in the same invocation: the statement design the service had before issue 17 (14
round trips and two commits an order), straight through asyncpg (claim the idempotency key,
read the SKUs and the pickup store and its levels or the shipping stock, lock and update the
levels, append the movements and the storefront outbox, upsert the customer, write the order,
its allocations, events, notification and lines, commit, store the response; a refused order
rolls back, reads the alternatives and stores its 409). It is kept as a fixed reference: the
service now sends fewer statements (a reservation and its movements in one, the order's rows
in one, the answer in the order's transaction, the event numbering with the COMMIT).

Two more baselines, in the same run, same clients and concurrency, through asyncpg: the
minimal reservation transaction (BEGIN; one conditional UPDATE of each level the order takes
`reserved = reserved + q WHERE on_hand - reserved - safety_stock >= q RETURNING`; INSERT its
movements; INSERT an order row; COMMIT; a short level rolls back), and the single-statement
hot-row ceiling (one autocommit conditional UPDATE of the level per order). The API's ratio
to each is printed and recorded; the issue's targets are >= 0.3 of the minimal transaction
(uniform) and >= 0.5 of the single-statement ceiling (hot SKU).

    python -m bench.checkout_storm [--orders 3000 --concurrency 32 --rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.availability import asyncpg_dsn
from bench.common import (
    Latencies,
    LeanPool,
    add_api_key,
    api_server,
    bench_database_url,
    copy_opening_stock,
    cpu_seconds,
    print_table,
    recreate_database,
    settle,
    write_result,
)

STORES, SKUS, STORES_PER_SKU, ON_HAND = 50, 20_000, 10, 40
HOT_UNITS = 500
SECRET = "osk_bench_checkout_key"


async def seed(url: str, rng: random.Random) -> dict[int, list[int]]:
    """Stores around London, SKUs stocked at a few stores each; returns sku -> store ids."""
    await recreate_database(url)
    now = datetime.now(UTC)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    stocked: dict[int, list[int]] = {}
    try:
        await connection.copy_records_to_table(
            "locations",
            columns=[
                "id",
                "code",
                "name",
                "kind",
                "latitude",
                "longitude",
                "pickup_enabled",
                "ship_enabled",
                "default_safety_stock",
                "created_at",
            ],
            records=[
                (
                    i,
                    f"S{i:02d}",
                    f"Store {i}",
                    "store",
                    51.3 + rng.random() * 0.4,
                    -0.5 + rng.random() * 0.7,
                    True,
                    i % 5 == 0,
                    0,
                    now,
                )
                for i in range(1, STORES + 1)
            ],
        )
        await connection.copy_records_to_table(
            "skus",
            columns=["id", "sku", "name", "price_minor", "currency", "created_at", "updated_at"],
            records=[
                (i, f"SKU{i:05d}", f"Item {i}", 1000 + i % 50, "GBP", now, now)
                for i in range(1, SKUS + 1)
            ],
        )
        stock = []
        for sku_id in range(1, SKUS + 1):
            stocked[sku_id] = rng.sample(range(1, STORES + 1), STORES_PER_SKU)
            for location_id in stocked[sku_id]:
                stock.append((sku_id, location_id, HOT_UNITS if sku_id == 1 else ON_HAND, 0))
        await copy_opening_stock(connection, stock)
        # admin: it names each order's channel (web pickup orders; the back office's ship
        # orders, as web ship orders need Stripe)
        await add_api_key(connection, "admin", SECRET)
        for table in ("locations", "skus"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await settle(connection)
    finally:
        await connection.close()
    return stocked


def order_bodies(
    count: int, stocked: dict[int, list[int]], rng: random.Random, hot: bool
) -> list[dict[str, Any]]:
    bodies = []
    for i in range(count):
        if hot:
            lines = [(1, 1)]
            store = stocked[1][0]
            fulfilment: dict[str, Any] = {"type": "pickup", "location": f"S{store:02d}"}
        elif rng.random() < 0.7:
            sku = rng.randint(2, SKUS)
            store = rng.choice(stocked[sku])
            lines = [(sku, rng.randint(1, 2))]
            fulfilment = {"type": "pickup", "location": f"S{store:02d}"}
        else:
            lines = [(rng.randint(2, SKUS), 1) for _ in range(rng.randint(1, 3))]
            fulfilment = {
                "type": "ship",
                "address": {
                    "line1": "1 High St",
                    "city": "London",
                    "postal_code": "N1",
                    "country": "GB",
                    "latitude": 51.5,
                    "longitude": -0.1,
                },
            }
        merged: dict[int, int] = {}
        for sku, quantity in lines:
            merged[sku] = merged.get(sku, 0) + quantity
        bodies.append(
            {
                "customer": {"email": f"c{i}@example.com"},  # one order each: under the cap
                "lines": [{"sku": f"SKU{s:05d}", "quantity": q} for s, q in merged.items()],
                "fulfilment": fulfilment,
                "channel": "web" if fulfilment["type"] == "pickup" else "admin",
            }
        )
    return bodies


async def run_http(
    base: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[Latencies, dict[int, int]]:
    statuses: dict[int, int] = {}
    async with LeanPool(base, {"Authorization": f"Bearer {SECRET}"}, concurrency) as pool:

        async def one(body: dict[str, Any]) -> None:
            status, answer = await pool.request(
                "POST",
                "/v1/orders",
                json.dumps(body).encode(),
                {"Idempotency-Key": str(uuid.uuid4())},
            )
            statuses[status] = statuses.get(status, 0) + 1
            if status not in (201, 409):
                raise RuntimeError(f"{status}: {answer[:300]!r}")

        return await _drive(bodies, concurrency, one), statuses


# The statements `place_order` issued for one order before issue 17, in order, as PostgreSQL's
# statement log showed them (paid at the counter, no storefront linked): a fixed reference.
CLAIM = (
    "INSERT INTO idempotency_records (scope, key, request_hash, state, resource, "
    "created_at) VALUES ($1, $2, $3, 'applied', $4, now())"
)
SKUS_BY_CODE = (
    "SELECT id, sku, name, price_minor, currency FROM skus WHERE sku = ANY($1::varchar[])"
)
LOCATION = (
    "SELECT id, code, name, kind, latitude, longitude, pickup_enabled, ship_enabled, "
    "default_safety_stock, created_at FROM locations WHERE code = $1"
)
SHIP_STOCK = (
    "SELECT l.id, l.code, l.kind, l.latitude, l.longitude, s.sku_id, "
    "s.on_hand - s.reserved - s.safety_stock FROM locations l JOIN stock_levels s "
    "ON s.location_id = l.id WHERE s.sku_id = ANY($1::int[]) AND l.ship_enabled"
)
PICKUP_STOCK = (
    "SELECT l.id, l.code, l.kind, l.latitude, l.longitude, s.sku_id, "
    "s.on_hand - s.reserved - s.safety_stock FROM locations l JOIN stock_levels s "
    "ON s.location_id = l.id WHERE s.sku_id = ANY($1::int[]) AND l.kind = 'store' "
    "AND l.pickup_enabled"
)
PEEK = (
    "SELECT location_id, sku_id, on_hand, reserved, safety_stock, incoming "
    "FROM stock_levels WHERE (location_id, sku_id) IN (SELECT * FROM unnest($1::int[], "
    "$2::int[]))"
)
LOCK = (
    "SELECT location_id, sku_id, on_hand, reserved, safety_stock, incoming "
    "FROM stock_levels WHERE (location_id, sku_id) IN (SELECT * FROM unnest($1::int[], "
    "$2::int[])) ORDER BY location_id, sku_id FOR UPDATE"
)
RESERVE = (
    "UPDATE stock_levels SET on_hand = $1, reserved = $2, safety_stock = $3, "
    "incoming = $4, version = version + 1, updated_at = now() "
    "WHERE location_id = $5 AND sku_id = $6"
)
MOVEMENTS = (
    "INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, "
    "reserved_delta, safety_stock_delta, incoming_delta, channel, reference, actor, "
    "created_at) SELECT s, l, 'reservation', 0, q, 0, 0, 'web', $4, 'bench', now() "
    "FROM unnest($1::int[], $2::int[], $3::int[]) AS m(s, l, q) RETURNING id"
)
OUTBOX = (
    "INSERT INTO storefront_pending (storefront_id, sku_id, location_id, generation, "
    "changed_at) SELECT i.storefront_id, i.sku_id, l.location_id, $1, now() "
    "FROM storefront_items i JOIN storefront_locations l ON l.storefront_id = "
    "i.storefront_id WHERE (l.location_id, i.sku_id) IN (SELECT * FROM unnest($2::int[], "
    "$3::int[])) ON CONFLICT (storefront_id, sku_id, location_id) DO UPDATE SET "
    "generation = storefront_pending.generation + 1, changed_at = excluded.changed_at"
)
CUSTOMER = (
    "INSERT INTO customers (id, email, name, phone, created_at) VALUES "
    "($1, $2, NULL, NULL, now()) ON CONFLICT (email) DO UPDATE SET "
    "name = coalesce(customers.name, excluded.name), "
    "phone = coalesce(customers.phone, excluded.phone) "
    "RETURNING id, email, name, phone, created_at"
)
UNPAID = (
    "SELECT count(*) FROM orders WHERE customer_id = $1 AND status IN "
    "('pending_payment', 'confirmed', 'ready_for_pickup') AND payment_status IN "
    "('pending', 'awaiting_payment', 'not_required')"
)
ORDER = (
    "INSERT INTO orders (id, number, channel, status, at_risk, customer_id, "
    "fulfilment_type, pickup_location_id, ship_address, total_minor, currency, "
    "payment_provider, payment_status, failed_code_attempts, created_by, created_at, "
    "updated_at, confirmed_at) VALUES ($1, $2, 'web', 'confirmed', false, $3, $4, $5, "
    "$6::json, $7, 'GBP', 'offline', 'not_required', 0, 'bench', now(), now(), now())"
)
ALLOCATIONS = (
    "INSERT INTO order_allocations (order_id, sku_id, location_id, quantity) "
    "SELECT $1, * FROM unnest($2::int[], $3::int[], $4::int[])"
)
EVENTS = (
    "INSERT INTO events (order_id, customer_id, event, channel, location_id, actor, "
    "summary, at) VALUES ($1, $2, 'placed', 'web', $3, 'bench', $4, now()), "
    "($1, $2, 'confirmed', 'web', NULL, 'bench', $5, now())"
)
NOTIFICATION = (
    'INSERT INTO notifications (id, order_id, kind, "to", subject, body, '
    "created_at, attempts) VALUES ($1, $2, 'confirmed', $3, $4, $5, now(), 0)"
)
LINES = (
    "INSERT INTO order_lines (order_id, sku_id, quantity, unit_price_minor, "
    "returned_quantity, ready_quantity, rejected_quantity, handed_over_quantity) "
    "SELECT $1, *, 0, 0, 0, 0 FROM unnest($2::int[], $3::int[], $4::bigint[])"
)
REFUSAL = (
    "INSERT INTO idempotency_records (scope, key, request_hash, state, status_code, "
    "content_type, response_body, created_at) VALUES ($1, $2, 'h', 'completed', 409, "
    "'application/json', $3, now())"
)
RESPONSE = (
    "UPDATE idempotency_records SET state = 'completed', status_code = 201, "
    "content_type = 'application/json', response_body = $3 "
    "WHERE scope = $1 AND key = $2"
)

# The events of an order's transaction (issue "Events out"): the levels as left, then the
# events numbered from the counter row as the transaction's last statement.
LEVEL_VERSIONS = (
    "SELECT location_id, sku_id, on_hand, reserved, safety_stock, incoming, version "
    "FROM stock_levels WHERE (location_id, sku_id) IN "
    "(SELECT * FROM unnest($1::int[], $2::int[]))"
)
APPEND_EVENTS = (
    "WITH numbered AS (UPDATE event_sequence SET last_seq = last_seq + $1 WHERE id = 1 "
    "RETURNING last_seq) INSERT INTO event_log (seq, id, type, occurred_at, location, "
    "other_location, sku, channel, data) SELECT numbered.last_seq - $1 + e.ord, e.id, e.type, "
    "e.occurred_at, e.location, e.other_location, e.sku, e.channel, e.data::json "
    "FROM numbered, unnest($2::bigint[], $3::uuid[], $4::varchar[], $5::timestamptz[], "
    "$6::varchar[], $7::varchar[], $8::varchar[], $9::varchar[], $10::text[]) "
    "AS e(ord, id, type, occurred_at, location, other_location, sku, channel, data) "
    "RETURNING seq"
)


async def _direct_events(
    connection: Any, keys: list[tuple[int, int]], order_id: uuid.UUID, location: str | None
) -> None:
    """A stock.changed per level and order.created + order.confirmed, as the service writes."""
    levels = await connection.fetch(LEVEL_VERSIONS, [k[0] for k in keys], [k[1] for k in keys])
    now = datetime.now(UTC)
    datas = [
        json.dumps({"sku": str(r[1]), "location": str(r[0]), "on_hand": r[2], "version": r[6]})
        for r in levels
    ] + [json.dumps({"order_id": str(order_id), "status": "confirmed"})] * 2
    count = len(datas)
    await connection.fetch(
        APPEND_EVENTS,
        count,
        list(range(1, count + 1)),
        [uuid.uuid4() for _ in range(count)],
        ["stock.changed"] * len(levels) + ["order.created", "order.confirmed"],
        [now] * count,
        [str(r[0]) for r in levels] + [location, location],
        [None] * count,
        [str(r[1]) for r in levels] + [None, None],
        [None] * len(levels) + ["web", "web"],
        datas,
    )


# The minimal reservation transaction: what any design must do for an order.
MIN_RESERVE = (
    "UPDATE stock_levels s SET reserved = s.reserved + w.q, version = s.version + 1, "
    "updated_at = now() FROM unnest($1::int[], $2::int[], $3::int[]) AS w(l, k, q) "
    "WHERE s.location_id = w.l AND s.sku_id = w.k "
    "AND s.on_hand - s.reserved - s.safety_stock >= w.q RETURNING s.sku_id"
)
MIN_MOVEMENTS = (
    "INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, "
    "reserved_delta, safety_stock_delta, incoming_delta, channel, reference, actor, "
    "created_at) SELECT k, l, 'reservation', 0, q, 0, 0, 'web', $4, 'bench', now() "
    "FROM unnest($1::int[], $2::int[], $3::int[]) AS m(l, k, q)"
)
MIN_ORDER = (
    "INSERT INTO orders (id, number, channel, status, at_risk, customer_id, "
    "fulfilment_type, pickup_location_id, total_minor, currency, payment_provider, "
    "payment_status, failed_code_attempts, created_by, created_at, updated_at) VALUES "
    "($1, $2, 'web', 'confirmed', false, $3, $4, $5, $6, 'GBP', 'offline', "
    "'not_required', 0, 'bench', now(), now())"
)
# The single-statement hot-row ceiling: one autocommit conditional UPDATE per order.
HOT_ROW = (
    "UPDATE stock_levels SET reserved = reserved + $3, version = version + 1, "
    "updated_at = now() WHERE location_id = $1 AND sku_id = $2 "
    "AND on_hand - reserved - safety_stock >= $3"
)


def minimal_plan(
    body: dict[str, Any], stocked: dict[int, list[int]]
) -> tuple[list[int], list[int], list[int], int | None]:
    """(locations, SKU ids, quantities, pickup location) the minimal transaction takes: the
    pickup store's levels, or for a ship order each line from the first store stocking it."""
    pickup = (
        int(body["fulfilment"]["location"][1:]) if body["fulfilment"]["type"] == "pickup" else None
    )
    skus = [int(line["sku"][3:]) for line in body["lines"]]
    locations = [pickup if pickup is not None else stocked[sku][0] for sku in skus]
    quantities = [int(line["quantity"]) for line in body["lines"]]
    return locations, skus, quantities, pickup


async def run_minimal(
    url: str, bodies: list[dict[str, Any]], stocked: dict[int, list[int]], concurrency: int
) -> Latencies:
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=concurrency, max_size=concurrency)
    async with pool.acquire() as connection:
        customer = await connection.fetchval(
            "INSERT INTO customers (id, email, created_at) VALUES ($1, 'bench@example.com', "
            "now()) ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id",
            uuid.uuid4(),
        )

    async def one(body: dict[str, Any]) -> None:
        locations, skus, quantities, pickup = minimal_plan(body, stocked)
        order_id = uuid.uuid4()
        async with pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                taken = await connection.fetch(MIN_RESERVE, locations, skus, quantities)
                if len(taken) < len(skus):
                    await transaction.rollback()
                    return
                await connection.execute(
                    MIN_MOVEMENTS, locations, skus, quantities, f"order:{order_id}"
                )
                await connection.execute(
                    MIN_ORDER,
                    order_id,
                    order_id.hex[:12],
                    customer,
                    body["fulfilment"]["type"],
                    pickup,
                    1000 * sum(quantities),
                )
            except BaseException:
                await transaction.rollback()
                raise
            await transaction.commit()

    try:
        return await _drive(bodies, concurrency, one)
    finally:
        await pool.close()


async def run_single_statement(
    url: str, bodies: list[dict[str, Any]], stocked: dict[int, list[int]], concurrency: int
) -> Latencies:
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=concurrency, max_size=concurrency)

    async def one(body: dict[str, Any]) -> None:
        locations, skus, quantities, _ = minimal_plan(body, stocked)
        async with pool.acquire() as connection:
            await connection.execute(HOT_ROW, locations[0], skus[0], quantities[0])

    try:
        return await _drive(bodies, concurrency, one)
    finally:
        await pool.close()


async def run_direct(url: str, bodies: list[dict[str, Any]], concurrency: int) -> Latencies:
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=concurrency, max_size=concurrency)

    async def one(body: dict[str, Any]) -> None:
        async with pool.acquire() as connection:
            try:
                await _direct_order(connection, body)
            except _Short:  # rolled back; then the 409's alternatives and its stored answer
                await _direct_refusal(connection, body)

    try:
        return await _drive(bodies, concurrency, one)
    finally:
        await pool.close()


async def _direct_order(connection: Any, body: dict[str, Any]) -> None:
    lines = [(line["sku"], int(line["quantity"])) for line in body["lines"]]
    order_id, key = uuid.uuid4(), str(uuid.uuid4())
    async with connection.transaction():
        await connection.execute(CLAIM, "bench", key, "h" * 64, f"order:{order_id}")
        skus = {r["sku"]: r for r in await connection.fetch(SKUS_BY_CODE, [c for c, _ in lines])}
        location = None
        if body["fulfilment"]["type"] == "pickup":
            location = await connection.fetchrow(LOCATION, body["fulfilment"]["location"])
            plan = [(location["id"], skus[c]["id"], q) for c, q in lines]
            await _direct_reserve(connection, plan, order_id, check_first=True)
        else:
            plan = await _ship_plan(connection, lines, skus)
            async with connection.transaction():  # the savepoint sourcing retries in
                await _direct_reserve(connection, plan, order_id)
        customer = await connection.fetchrow(CUSTOMER, uuid.uuid4(), body["customer"]["email"])
        if body["channel"] == "web":  # the cap on a customer's open unpaid orders
            await connection.fetchval(UNPAID, customer["id"])
        location_id = location["id"] if location else None
        await connection.execute(
            ORDER,
            order_id,
            order_id.hex[:10],
            customer["id"],
            body["fulfilment"]["type"],
            location_id,
            json.dumps(body["fulfilment"].get("address")),
            sum(skus[c]["price_minor"] * q for c, q in lines),
        )
        await connection.execute(
            ALLOCATIONS,
            order_id,
            [sku for _, sku, _ in plan],
            [loc for loc, _, _ in plan],
            [q for _, _, q in plan],
        )
        await connection.execute(
            EVENTS, order_id, customer["id"], location_id, "placed", "confirmed"
        )
        await connection.execute(
            NOTIFICATION, uuid.uuid4(), order_id, customer["email"], "Order confirmed", "Thank you."
        )
        await connection.execute(
            LINES,
            order_id,
            [skus[c]["id"] for c, _ in lines],
            [q for _, q in lines],
            [skus[c]["price_minor"] for c, _ in lines],
        )
        await _direct_events(
            connection,
            sorted({(loc, sku) for loc, sku, _ in plan}),
            order_id,
            body["fulfilment"].get("location"),
        )
    await connection.execute(RESPONSE, "bench", key, json.dumps(body).encode())


async def _direct_refusal(connection: Any, body: dict[str, Any]) -> None:
    codes = [line["sku"] for line in body["lines"]]
    skus = await connection.fetch(SKUS_BY_CODE, codes)
    if body["fulfilment"]["type"] == "pickup":
        await connection.fetchrow(LOCATION, body["fulfilment"]["location"])
    await connection.fetch(PICKUP_STOCK, [r["id"] for r in skus])
    await connection.execute(REFUSAL, "bench", str(uuid.uuid4()), json.dumps(body).encode())


async def _direct_reserve(
    connection: Any,
    plan: list[tuple[int, int, int]],
    order_id: uuid.UUID,
    check_first: bool = False,
) -> None:
    """plan: (location_id, sku_id, quantity); raises `_Short` before writing anything."""
    keys = sorted({(loc, sku) for loc, sku, _ in plan})
    if check_first:  # pickup: refuse on the unlocked levels first, as the service does
        _short_of(plan, await connection.fetch(PEEK, [k[0] for k in keys], [k[1] for k in keys]))
    rows = _short_of(plan, await connection.fetch(LOCK, [k[0] for k in keys], [k[1] for k in keys]))
    await connection.executemany(
        RESERVE,
        [
            (
                rows[(loc, sku)][2],
                rows[(loc, sku)][3] + quantity,
                rows[(loc, sku)][4],
                rows[(loc, sku)][5],
                loc,
                sku,
            )
            for loc, sku, quantity in sorted(plan)
        ],
    )
    await connection.fetch(
        MOVEMENTS,
        [sku for _, sku, _ in plan],
        [loc for loc, _, _ in plan],
        [q for _, _, q in plan],
        f"order:{order_id}",
    )
    await connection.execute(
        OUTBOX, time.time_ns() // 1000, [k[0] for k in keys], [k[1] for k in keys]
    )


def _short_of(plan: list[tuple[int, int, int]], fetched: list[Any]) -> dict[Any, Any]:
    rows = {(r[0], r[1]): r for r in fetched}
    for loc, sku, quantity in plan:
        row = rows.get((loc, sku))
        if row is None or row[2] - row[3] - row[4] < quantity:
            raise _Short
    return rows


async def _ship_plan(
    connection: Any, lines: list[tuple[str, int]], skus: dict[str, Any]
) -> list[tuple[int, int, int]]:
    from app.inventory import sourcing

    rows = await connection.fetch(SHIP_STOCK, [r["id"] for r in skus.values()])
    codes = {r["id"]: c for c, r in skus.items()}
    by_location: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_location.setdefault(r[1], {"id": r[0], "kind": r[2], "available": {}})
        entry["available"][codes[r[5]]] = r[6]
    allocation = sourcing.source_shipment(
        lines,
        [sourcing.Candidate(c, e["kind"], None, e["available"]) for c, e in by_location.items()],
    )
    if allocation is None:
        raise _Short
    return [
        (by_location[loc]["id"], skus[c]["id"], q)
        for c, parts in allocation.items()
        for loc, q in parts
    ]


class _Short(Exception):
    pass


async def _drive(bodies: list[dict[str, Any]], concurrency: int, call: Any) -> Latencies:
    pending = list(reversed(bodies))
    seconds: list[float] = []

    async def client() -> None:
        while pending:
            body = pending.pop()
            started = time.perf_counter()
            await call(body)
            seconds.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Latencies(seconds, time.perf_counter() - started)


async def oversold_units(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(
            await connection.fetchval(
                "SELECT coalesce(sum(reserved - on_hand + safety_stock), 0) FROM stock_levels "
                "WHERE on_hand - reserved - safety_stock < 0"
            )
        )
    finally:
        await connection.close()


async def events_written(url: str) -> int:
    """Events the API wrote (seeding writes none: it copies rows straight in)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM event_log"))
    finally:
        await connection.close()


async def scenario(name: str, hot: bool, args: argparse.Namespace) -> dict[str, Any]:
    """`args.rounds` rounds of (baseline, API), each from freshly seeded stock, so that both
    sides see the same shared machine; the ratio is the mean of the rounds' ratios."""
    rounds = [await _round(hot, args) for _ in range(args.rounds)]
    last = rounds[-1]
    ratios = [r["ratio_api_to_direct_sql"] for r in rounds]
    extra = {
        key: round(statistics.fmean(r[key] for r in rounds), 3)
        for key in ("ratio_api_to_minimal_txn", "ratio_api_to_single_statement")
        if key in last
    }
    return {
        **last,
        "scenario": name,
        "ratio_api_to_direct_sql": round(statistics.fmean(ratios), 3),
        "ratio_by_round": ratios,
        **extra,
        "oversold_units": max(r["oversold_units"] for r in rounds),
        "api_orders_per_second_by_round": [r["api_http"]["per_second"] for r in rounds],
        "direct_orders_per_second_by_round": [r["direct_sql"]["per_second"] for r in rounds],
    }


async def _round(hot: bool, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    url = bench_database_url("omnistock_bench_checkout")
    stocked = await seed(url, rng)
    bodies = order_bodies(args.orders, stocked, rng, hot)
    direct = (await run_direct(url, bodies, args.concurrency)).summary()
    stocked = await seed(url, random.Random(7))
    minimal = (await run_minimal(url, bodies, stocked, args.concurrency)).summary()
    single = None
    if hot:
        stocked = await seed(url, random.Random(7))
        single = (await run_single_statement(url, bodies, stocked, args.concurrency)).summary()
    stocked = await seed(url, random.Random(7))  # the API starts from the same stock
    cpu_before = cpu_seconds()
    with api_server(url, workers=2) as base:
        wall = time.perf_counter()
        latencies, statuses = await run_http(base, bodies, args.concurrency)
        wall = time.perf_counter() - wall
    http = latencies.summary()
    load_cpu = cpu_seconds() - cpu_before
    oversold = await oversold_units(url)
    events = await events_written(url)
    return {
        "api_http": http,
        "direct_sql": direct,
        "ratio_api_to_direct_sql": round(http["per_second"] / direct["per_second"], 3),
        "minimal_txn": minimal,
        "ratio_api_to_minimal_txn": round(http["per_second"] / minimal["per_second"], 3),
        **(
            {
                "single_statement": single,
                "ratio_api_to_single_statement": round(
                    http["per_second"] / single["per_second"], 3
                ),
            }
            if single is not None
            else {}
        ),
        "accepted": statuses.get(201, 0),
        "refused_409": statuses.get(409, 0),
        "oversold_units": oversold,
        "events_written": events,
        "events_per_second": round(events / wall, 1),
        "load_generator_cpu_seconds": round(load_cpu, 2),
        "load_generator_cpu_share_of_wall": round(load_cpu / wall, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenario", choices=("uniform", "hot_sku"), default=None)
    args = parser.parse_args()
    results = []
    for name, hot in (("uniform", False), ("hot_sku", True)):
        if args.scenario not in (None, name):
            continue
        result = await scenario(name, hot, args)  # printed as it finishes: a run is long
        results.append(result)
        print_table(
            f"checkout storm, {result['scenario']}: {args.orders} orders, "
            f"{args.concurrency} clients",
            [
                ("API over HTTP (granian x2)", result["api_http"]),
                ("same transaction via asyncpg", result["direct_sql"]),
                ("minimal reservation txn (asyncpg)", result["minimal_txn"]),
                *(
                    [("single-statement hot row (asyncpg)", result["single_statement"])]
                    if "single_statement" in result
                    else []
                ),
            ],
        )
        print(
            f"ratio API / minimal txn: {result['ratio_api_to_minimal_txn']} (target >= 0.3 "
            "uniform)"
            + (
                f"   ratio API / single-statement ceiling: "
                f"{result['ratio_api_to_single_statement']} (target >= 0.5 hot SKU)"
                if "ratio_api_to_single_statement" in result
                else ""
            )
        )
        print(
            f"ratio API / direct SQL: {result['ratio_api_to_direct_sql']} "
            f"(rounds: {', '.join(map(str, result['ratio_by_round']))})   accepted "
            f"{result['accepted']}, refused {result['refused_409']}, oversold units "
            f"{result['oversold_units']}   events written {result['events_written']} "
            f"({result['events_per_second']}/s)   load generator CPU "
            f"{result['load_generator_cpu_seconds']}s "
            f"({result['load_generator_cpu_share_of_wall']:.0%} of one core)"
        )
    path = write_result(
        "checkout_storm",
        {
            "benchmark": "checkout_storm",
            "orders": args.orders,
            "concurrency": args.concurrency,
            "scenarios": results,
        },
    )
    print(f"written {path}")
    print(
        json.dumps(
            {
                r["scenario"]: {
                    key: r[key]
                    for key in (
                        "ratio_api_to_direct_sql",
                        "ratio_api_to_minimal_txn",
                        "ratio_api_to_single_statement",
                    )
                    if key in r
                }
                for r in results
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
