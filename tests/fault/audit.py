"""Reads the whole ledger and order book back from the database and lists everything that
contradicts the rules or what the clients were told. Each check returns a list of problems,
empty when all is well, so a failing test shows every problem at once."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from app.inventory.rules import Delta, fold
from app.orders.model import OPEN_STATUSES
from app.platform.database import Database
from tests.fault.shoppers import Request

Level = tuple[str, str]  # (location code, sku)


@dataclass
class Books:
    """Everything the checks need, read in one go once the system has settled."""

    levels: dict[Level, dict[str, int]]
    movements: list[dict[str, Any]]
    orders: dict[str, dict[str, Any]]  # id -> {status, notes, lines: {sku: qty}}
    open_allocations: dict[Level, int]
    allocations_by_order: dict[str, dict[Level, int]]
    sales: Counter[str] = field(default_factory=Counter)  # client_txn_id -> rows

    def movements_by_reference(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for movement in self.movements:
            if movement["reference"]:
                grouped[movement["reference"]].append(movement)
        return grouped


async def read_books(database_url: str) -> Books:
    db = Database(database_url, pool_size=1)
    try:
        async with db.engine.connect() as c:
            if not db.is_sqlite:
                # One snapshot for every table: a job still releasing a hold between two reads
                # would otherwise show a level and movements of different moments.
                await c.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            levels = {
                (r.location, r.sku): {
                    "on_hand": r.on_hand,
                    "reserved": r.reserved,
                    "safety_stock": r.safety_stock,
                    "incoming": r.incoming,
                }
                for r in await c.execute(
                    text(
                        "SELECT l.code AS location, s.sku, v.on_hand, v.reserved, v.safety_stock,"
                        " v.incoming FROM stock_levels v JOIN locations l ON l.id = v.location_id"
                        " JOIN skus s ON s.id = v.sku_id"
                    )
                )
            }
            movements = [
                dict(r._mapping)
                for r in await c.execute(
                    text(
                        "SELECT m.id, l.code AS location, s.sku, m.kind, m.on_hand_delta,"
                        " m.reserved_delta, m.safety_stock_delta, m.incoming_delta, m.reference"
                        " FROM stock_movements m JOIN locations l ON l.id = m.location_id"
                        " JOIN skus s ON s.id = m.sku_id ORDER BY m.id"
                    )
                )
            ]
            orders: dict[str, dict[str, Any]] = {
                str(r.id): {"status": r.status, "notes": r.notes, "lines": {}}
                for r in await c.execute(text("SELECT id, status, notes FROM orders"))
            }
            for r in await c.execute(
                text(
                    "SELECT ol.order_id, s.sku, ol.quantity FROM order_lines ol"
                    " JOIN skus s ON s.id = ol.sku_id"
                )
            ):
                orders[str(r.order_id)]["lines"][r.sku] = r.quantity
            open_statuses = sorted(s.value for s in OPEN_STATUSES)
            open_allocations: dict[Level, int] = defaultdict(int)
            by_order: dict[str, dict[Level, int]] = defaultdict(dict)
            for r in await c.execute(
                text(
                    "SELECT a.order_id, o.status, l.code AS location, s.sku, a.quantity"
                    " FROM order_allocations a JOIN orders o ON o.id = a.order_id"
                    " JOIN locations l ON l.id = a.location_id JOIN skus s ON s.id = a.sku_id"
                )
            ):
                by_order[str(r.order_id)][(r.location, r.sku)] = r.quantity
                if r.status in open_statuses:
                    open_allocations[(r.location, r.sku)] += r.quantity
            # units a cart holds at its store are reserved too (PRODUCT.md rule 12)
            for r in await c.execute(
                text(
                    "SELECT l.code AS location, s.sku, cl.held FROM cart_lines cl"
                    " JOIN carts k ON k.id = cl.cart_id JOIN locations l"
                    " ON l.id = k.hold_location_id JOIN skus s ON s.id = cl.sku_id"
                    " WHERE cl.held > 0"
                )
            ):
                open_allocations[(r.location, r.sku)] += r.held
            sales = Counter(
                str(r.client_txn_id)
                for r in await c.execute(
                    text("SELECT client_txn_id FROM pos_transactions WHERE kind = 'sale'")
                )
            )
    finally:
        await db.dispose()
    return Books(levels, movements, orders, dict(open_allocations), dict(by_order), sales)


# -- the rules of the ledger -----------------------------------------------------------------
def levels_not_matching_their_movements(books: Books) -> list[str]:
    """Replaying the ledger gives the levels, always (docs/product.md)."""
    deltas: dict[Level, list[Delta]] = defaultdict(list)
    for m in books.movements:
        deltas[(m["location"], m["sku"])].append(
            Delta(
                m["on_hand_delta"],
                m["reserved_delta"],
                m["safety_stock_delta"],
                m["incoming_delta"],
            )
        )
    problems = [f"{key}: movements but no level" for key in deltas.keys() - books.levels.keys()]
    for key, level in sorted(books.levels.items()):
        replayed = fold(deltas.get(key, []))
        folded = {
            "on_hand": replayed.on_hand,
            "reserved": replayed.reserved,
            "safety_stock": replayed.safety_stock,
            "incoming": replayed.incoming,
        }
        if level != folded:
            problems.append(f"{key}: level {level} but its movements add up to {folded}")
        if level["on_hand"] < 0 or level["reserved"] < 0:
            problems.append(f"{key}: negative level {level}")
    return problems


def reserved_not_held_by_open_orders(books: Books) -> list[str]:
    """`reserved` is exactly what open orders and live cart holds hold."""
    return [
        f"{key}: reserved {level['reserved']}, open orders hold "
        f"{books.open_allocations.get(key, 0)}"
        for key, level in sorted(books.levels.items())
        if level["reserved"] != books.open_allocations.get(key, 0)
    ]


# -- the ledger against what the clients were told ---------------------------------------------
def order_problems(books: Books, orders: list[Request]) -> list[str]:
    """Every acknowledged order exists with its lines; no Idempotency-Key made two orders;
    each order's reservations were written once (its movements net to what it holds)."""
    problems: list[str] = []
    per_key = Counter(o["notes"] for o in books.orders.values())
    problems += [
        f"Idempotency-Key {key} produced {n} orders" for key, n in per_key.items() if n > 1
    ]
    sent = {r.key for r in orders}
    problems += [
        f"order {oid} comes from no request of the load ({o['notes']})"
        for oid, o in books.orders.items()
        if o["notes"] not in sent
    ]
    for request in orders:
        if not request.acknowledged:
            continue
        order_id = str(request.response["id"])
        stored = books.orders.get(order_id)
        if stored is None:
            problems.append(f"acknowledged order {order_id} ({request.key}) does not exist")
            continue
        asked = {line["sku"]: line["quantity"] for line in request.body["lines"]}
        if stored["lines"] != asked or stored["notes"] != request.key:
            problems.append(f"order {order_id}: stored {stored}, asked for {asked}")
    by_reference = books.movements_by_reference()
    open_statuses = {s.value for s in OPEN_STATUSES}
    for order_id, order in books.orders.items():
        held: dict[Level, int] = defaultdict(int)
        for m in by_reference.get(f"order:{order_id}", []):
            held[(m["location"], m["sku"])] += m["reserved_delta"]
        expected = (
            books.allocations_by_order.get(order_id, {}) if order["status"] in open_statuses else {}
        )
        if {k: v for k, v in held.items() if v} != expected:
            problems.append(
                f"order {order_id} ({order['status']}): its movements reserve "
                f"{dict(held)}, it holds {expected}"
            )
    return problems


def sale_problems(books: Books, sales: list[Request]) -> list[str]:
    """Every acknowledged counter sale is recorded once and took its units once."""
    problems = [
        f"till transaction {txn} recorded {n} times" for txn, n in books.sales.items() if n > 1
    ]
    by_reference = books.movements_by_reference()
    for request in sales:
        txn = request.key
        taken = sum(m["on_hand_delta"] for m in by_reference.get(f"pos:{txn}", []))
        quantity = sum(line["quantity"] for line in request.body["lines"])
        recorded = books.sales.get(txn, 0)
        if request.acknowledged and (recorded != 1 or taken != -quantity):
            problems.append(
                f"acknowledged sale {txn}: recorded {recorded} times, "
                f"on_hand moved {taken} (expected {-quantity})"
            )
        if not request.acknowledged and taken not in (0, -quantity):
            problems.append(f"unacknowledged sale {txn} moved on_hand by {taken}")
    return problems


def receipt_problems(books: Books, receipts: list[Request]) -> list[str]:
    """Every acknowledged receipt is in the ledger once; none is there twice."""
    by_reference = books.movements_by_reference()
    problems: list[str] = []
    for request in receipts:
        found = by_reference.get(request.key, [])
        if len(found) > 1:
            problems.append(f"receipt {request.key} recorded {len(found)} times")
        if request.acknowledged and len(found) != 1:
            problems.append(f"acknowledged receipt {request.key} is not in the ledger")
        if found and found[0]["on_hand_delta"] != request.body["quantity"]:
            problems.append(f"receipt {request.key}: {found[0]} for {request.body}")
    return problems
