"""Orders, lines, allocations, events and outbox rows in the database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update

from app.inventory.queries import StockAt, _stock_at
from app.inventory.tables import Location, Sku
from app.orders.model import OPEN_STATUSES, UNPAID_PAYMENT_STATES
from app.orders.tables import (
    Allocation,
    Event,
    Notification,
    Order,
    OrderLine,
    OrderReturn,
    creation_events,
)
from app.platform.errors import NotFound
from app.platform.prepared import Prepared
from app.platform.tables import table_of, utcnow
from app.platform.uow import Repository, UnitOfWork


@dataclass(frozen=True, slots=True)
class LineRow:
    sku_id: int
    sku: str
    quantity: int
    unit_price_minor: int
    returned_quantity: int
    name: str | None = None  # the SKU's, as the catalogue names it now
    ready_quantity: int = 0
    rejected_quantity: int = 0
    handed_over_quantity: int = 0


@dataclass(frozen=True, slots=True)
class AllocationRow:
    sku_id: int
    sku: str
    location_id: int
    location: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OpenAllocation:
    order_id: uuid.UUID
    quantity: int


_ORDERS = table_of(Order)

_ORDER_COLUMNS = [column.key for column in table_of(Order).columns]

_LINES = table_of(OrderLine)

_ALLOCATIONS = table_of(Allocation)

_EVENTS = table_of(Event)

_NOTIFICATIONS = table_of(Notification)

_OPEN_UNPAID = Prepared(
    select(func.count())
    .select_from(table_of(Order))
    .where(
        Order.customer_id == bindparam("customer_id"),
        or_(*(Order.status == status.value for status in sorted(OPEN_STATUSES))),
        or_(*(Order.payment_status == state for state in UNPAID_PAYMENT_STATES)),
    )
)


class OrderRepository(Repository):
    """Orders, their lines, allocations and events, and queued notifications. Rows nothing
    reads back in the same unit of work (a new order with its lines and allocations, events,
    notifications) are collected and written just before the commit by `write_pending`: one
    prepared statement per table, executed for all its rows in one driver call (asyncpg
    pipelines them), in foreign-key order, skipping the ORM's per-object bookkeeping on the
    checkout path."""

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow)
        uow.before_commit(self.write_pending)
        self._pending: dict[Table, list[dict[str, Any]]] = {}

    def _queue(self, table: Table, row: dict[str, Any]) -> None:
        self._pending.setdefault(table, []).append(row)

    async def write_pending(self) -> None:
        """Called by the unit of work after the ORM flush, so every row these reference
        (orders, POS transactions) exists already. One statement on PostgreSQL."""
        pending, self._pending = self._pending, {}
        await self.statements.insert_all(
            [
                (table, pending[table])
                for table in (_ORDERS, _LINES, _ALLOCATIONS, _EVENTS, _NOTIFICATIONS)
                if table in pending
            ]
        )

    # orders ------------------------------------------------------------------------------
    async def add_order(
        self, order: Order, lines: Sequence[LineRow], allocations: Sequence[AllocationRow]
    ) -> None:
        """The order, its lines and allocations, written with the other pending rows. `order`
        stays a plain (transient) object: everything after this in the unit of work reads it,
        nothing changes it."""
        self._queue(_ORDERS, {key: getattr(order, key) for key in _ORDER_COLUMNS})
        for event in creation_events(order, order.created_at or utcnow()):
            self._uow.emit(event)
        for line in lines:
            self._queue(
                _LINES,
                {
                    "order_id": order.id,
                    "sku_id": line.sku_id,
                    "quantity": line.quantity,
                    "unit_price_minor": line.unit_price_minor,
                    "returned_quantity": line.returned_quantity,
                    "ready_quantity": line.ready_quantity,
                    "rejected_quantity": line.rejected_quantity,
                    "handed_over_quantity": line.handed_over_quantity,
                },
            )
        for allocation in allocations:
            self._queue(
                _ALLOCATIONS,
                {
                    "order_id": order.id,
                    "sku_id": allocation.sku_id,
                    "location_id": allocation.location_id,
                    "quantity": allocation.quantity,
                },
            )

    async def order(
        self, order_id: uuid.UUID, *, for_update: bool = False, skip_locked: bool = False
    ) -> Order:
        stmt = select(Order).where(Order.id == order_id)
        if for_update:
            stmt = stmt.with_for_update(skip_locked=skip_locked)
        order = (await self.session.execute(stmt)).scalar_one_or_none()
        if order is None:
            raise NotFound(f"order {order_id} not found", {"order_id": str(order_id)})
        return order

    async def order_by_intent(self, intent_id: str) -> Order | None:
        return (
            await self.session.execute(
                select(Order).where(Order.payment_intent_id == intent_id).with_for_update()
            )
        ).scalar_one_or_none()

    async def order_by_external_id(self, channel: str, external_id: str) -> Order | None:
        return (
            await self.session.execute(
                select(Order).where(Order.channel == channel, Order.external_id == external_id)
            )
        ).scalar_one_or_none()

    async def lines(self, order_id: uuid.UUID) -> list[LineRow]:
        rows = await self.session.execute(
            select(OrderLine, Sku.sku, Sku.name)
            .join(Sku, Sku.id == OrderLine.sku_id)
            .where(OrderLine.order_id == order_id)
            .order_by(Sku.sku)
        )
        return [
            LineRow(
                line.sku_id,
                code,
                line.quantity,
                line.unit_price_minor,
                line.returned_quantity,
                name=name,
                ready_quantity=line.ready_quantity,
                rejected_quantity=line.rejected_quantity,
                handed_over_quantity=line.handed_over_quantity,
            )
            for line, code, name in rows
        ]

    async def allocations(self, order_id: uuid.UUID) -> list[AllocationRow]:
        rows = await self.session.execute(
            select(Allocation, Sku.sku, Location.code)
            .join(Sku, Sku.id == Allocation.sku_id)
            .join(Location, Location.id == Allocation.location_id)
            .where(Allocation.order_id == order_id)
            .order_by(Allocation.location_id, Allocation.sku_id)
        )
        return [
            AllocationRow(a.sku_id, sku, a.location_id, loc, a.quantity) for a, sku, loc in rows
        ]

    async def replace_allocation(
        self, order_id: uuid.UUID, sku_id: int, location_id: int, parts: Sequence[tuple[int, int]]
    ) -> None:
        """Move a line's units from `location_id` to `parts` [(location_id, quantity)]."""
        existing = await self.session.get(Allocation, (order_id, sku_id, location_id))
        if existing is not None:
            await self.session.delete(existing)
            await self.session.flush()
        for new_location_id, quantity in parts:
            current = await self.session.get(Allocation, (order_id, sku_id, new_location_id))
            if current is None:
                self.session.add(
                    Allocation(
                        order_id=order_id,
                        sku_id=sku_id,
                        location_id=new_location_id,
                        quantity=quantity,
                    )
                )
            else:
                current.quantity += quantity
        await self.session.flush()

    async def take_from_allocation(
        self, order_id: uuid.UUID, sku_id: int, location_id: int, quantity: int
    ) -> None:
        """Units of a line leave its allocation at `location_id` (rejected, not collected);
        an allocation left empty is removed."""
        existing = await self.session.get(Allocation, (order_id, sku_id, location_id))
        if existing is None:
            return
        if existing.quantity <= quantity:
            await self.session.delete(existing)
        else:
            existing.quantity -= quantity
        await self.session.flush()

    async def set_line_work(
        self,
        order_id: uuid.UUID,
        sku_id: int,
        *,
        quantity: int,
        ready: int,
        rejected: int,
        handed_over: int,
    ) -> None:
        """A line after the store worked it (see `OrderLine`)."""
        await self.session.execute(
            update(OrderLine)
            .where(OrderLine.order_id == order_id, OrderLine.sku_id == sku_id)
            .values(
                quantity=quantity,
                ready_quantity=ready,
                rejected_quantity=rejected,
                handed_over_quantity=handed_over,
            )
        )

    async def set_returned(self, order_id: uuid.UUID, sku_id: int, returned: int) -> None:
        await self.session.execute(
            update(OrderLine)
            .where(OrderLine.order_id == order_id, OrderLine.sku_id == sku_id)
            .values(returned_quantity=returned)
        )

    async def open_unpaid_orders(self, customer_id: uuid.UUID) -> int:
        """Open orders of this customer nobody has paid for yet (on the hot path of placing)."""
        [(count,)] = await self.statements.rows(_OPEN_UNPAID, {"customer_id": customer_id})
        return int(count)

    async def expiry_candidates(
        self, unpaid_before: datetime, uncollected_before: datetime, limit: int
    ) -> list[uuid.UUID]:
        since = func.coalesce(Order.ready_at, Order.confirmed_at, Order.created_at)
        return list(
            (
                await self.session.execute(
                    select(Order.id)
                    .where(
                        or_(
                            and_(
                                Order.status == "pending_payment", Order.created_at <= unpaid_before
                            ),
                            and_(
                                Order.fulfilment_type == "pickup",
                                Order.status.in_(["confirmed", "ready_for_pickup"]),
                                since <= uncollected_before,
                            ),
                        )
                    )
                    .order_by(Order.created_at)
                    .limit(limit)
                )
            ).scalars()
        )

    async def open_allocations_at(self, location_id: int, sku_id: int) -> list[OpenAllocation]:
        """Open orders holding units of this SKU at this location, newest first: when a
        counter sale eats reserved units, the newest promise is the one broken."""
        rows = await self.session.execute(
            select(Allocation.order_id, Allocation.quantity)
            .join(Order, Order.id == Allocation.order_id)
            .where(
                Allocation.location_id == location_id,
                Allocation.sku_id == sku_id,
                Order.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(Order.created_at.desc(), Order.id.desc())
        )
        return [OpenAllocation(order_id, quantity) for order_id, quantity in rows]

    async def stock_for(
        self,
        sku_ids: Sequence[int],
        *,
        ship_enabled: bool | None = None,
        pickup_stores: bool = False,
    ) -> list[StockAt]:
        """Current availability of these SKUs at every location (unlocked read)."""
        rows = await self.statements.rows(
            _stock_at(bool(ship_enabled), pickup_stores), {"sku_ids": list(sku_ids)}
        )
        return [StockAt(r[0], r[1], r[2], r[3], r[4], r[5], max(0, int(r[6]))) for r in rows]

    # events and outboxes -----------------------------------------------------------------
    def add_event(
        self,
        *,
        event: str,
        channel: str,
        actor: str,
        summary: str,
        order_id: uuid.UUID | None = None,
        customer_id: uuid.UUID | None = None,
        location_id: int | None = None,
        pos_transaction_id: uuid.UUID | None = None,
    ) -> None:
        self._queue(
            _EVENTS,
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "event": event,
                "channel": channel,
                "actor": actor,
                "summary": summary[:500],
                "location_id": location_id,
                "pos_transaction_id": pos_transaction_id,
                "at": utcnow(),
            },
        )

    async def events(self, order_id: uuid.UUID) -> list[tuple[Event, str | None]]:
        rows = await self.session.execute(
            select(Event, Location.code)
            .outerjoin(Location, Location.id == Event.location_id)
            .where(Event.order_id == order_id)
            .order_by(Event.at, Event.id)
        )
        return [(event, code) for event, code in rows]

    def add_notification(
        self, *, order_id: uuid.UUID | None, kind: str, to: str, subject: str, body: str
    ) -> None:
        self._queue(
            _NOTIFICATIONS,
            {
                "id": uuid.uuid4(),
                "order_id": order_id,
                "kind": kind,
                "to": to,
                "subject": subject,
                "body": body,
                "created_at": utcnow(),
                "attempts": 0,
            },
        )

    def add_return(self, row: OrderReturn) -> None:
        self.session.add(row)
