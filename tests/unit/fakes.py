"""Fakes of what order use cases reach for, so that a use case runs without a database.

`order_context()` gives a `FakeOrderContext`: an `OrderContext` whose `uow()` opens a
`FakeUnitOfWork` over fake repositories (`ctx.orders`, `ctx.customers`, ...). The fake
repositories keep what they are given across units of work, as a database would, but a
fake unit of work rolls nothing back: assert on what a use case did when it succeeds, and on
what it raised when it refuses. A fake unit of work refuses to hand out a repository after
its commit, so a use case that reads after `commit()` fails its unit tests.

Arrange with the factories at the end (`a_location`, `a_customer`, `an_order`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Self, cast

from app.inventory.ledger import Ledger, RecordedMovement
from app.inventory.repository import CatalogueRepository
from app.inventory.tables import Location
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import Fulfilment, OrderStatus
from app.orders.outbox_repository import OutboxRepository
from app.orders.ports import Authorization, PaymentEvent
from app.orders.repository import AllocationRow, LineRow, OrderRepository
from app.orders.tables import Customer, Order
from app.platform.database import Database
from app.platform.errors import NotFound
from app.platform.uow import R, UnitOfWork

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


# Repositories ------------------------------------------------------------------------------
class FakeOrders:
    """`OrderRepository`: orders with their lines and allocations; events and notifications
    as the rows the real one would insert."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Order] = {}
        self._lines: dict[uuid.UUID, list[LineRow]] = {}
        self._allocations: dict[uuid.UUID, list[AllocationRow]] = {}
        self.events: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []

    def put(
        self, order: Order, lines: Sequence[LineRow], allocations: Sequence[AllocationRow]
    ) -> None:
        self.rows[order.id] = order
        self._lines[order.id] = list(lines)
        self._allocations[order.id] = list(allocations)

    async def add_order(
        self, order: Order, lines: Sequence[LineRow], allocations: Sequence[AllocationRow]
    ) -> None:
        self.put(order, lines, allocations)

    async def order(
        self, order_id: uuid.UUID, *, for_update: bool = False, skip_locked: bool = False
    ) -> Order:
        if order_id not in self.rows:
            raise NotFound(f"order {order_id} not found", {"order_id": str(order_id)})
        return self.rows[order_id]

    async def order_by_intent(self, intent_id: str) -> Order | None:
        return next((o for o in self.rows.values() if o.payment_intent_id == intent_id), None)

    async def lines(self, order_id: uuid.UUID) -> list[LineRow]:
        return list(self._lines.get(order_id, []))

    async def allocations(self, order_id: uuid.UUID) -> list[AllocationRow]:
        return list(self._allocations.get(order_id, []))

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
        self._lines[order_id] = [
            replace(
                line,
                quantity=quantity,
                ready_quantity=ready,
                rejected_quantity=rejected,
                handed_over_quantity=handed_over,
            )
            if line.sku_id == sku_id
            else line
            for line in self._lines[order_id]
        ]

    def add_event(self, **row: Any) -> None:
        self.events.append(row)

    def add_notification(self, **row: Any) -> None:
        self.notifications.append(row)

    def events_of(self, order_id: uuid.UUID) -> list[str]:
        return [e["event"] for e in self.events if e.get("order_id") == order_id]


class FakeCustomers:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Customer] = {}

    async def customer(self, customer_id: uuid.UUID) -> Customer:
        if customer_id not in self.rows:
            raise NotFound(f"customer {customer_id} not found")
        return self.rows[customer_id]

    async def customer_by_email(self, email: str) -> Customer | None:
        wanted = email.strip().lower()
        return next((c for c in self.rows.values() if c.email == wanted), None)


class FakeCatalogue:
    def __init__(self) -> None:
        self.locations: dict[int, Location] = {}

    async def locations_by_id(self, ids: Sequence[int]) -> dict[int, Location]:
        return {i: self.locations[i] for i in set(ids) if i in self.locations}

    async def location(self, code: str) -> Location:
        for location in self.locations.values():
            if location.code == code:
                return location
        raise NotFound(f"location {code} not found", {"location": code})


class FakeOutbox:
    def __init__(self) -> None:
        self.webhooks: set[tuple[str, str]] = set()
        self.payment_actions: list[dict[str, Any]] = []

    async def mark_webhook_processed(self, provider: str, event_id: str, event_type: str) -> bool:
        if (provider, event_id) in self.webhooks:
            return False
        self.webhooks.add((provider, event_id))
        return True

    def add_payment_action(
        self, *, order_id: uuid.UUID, action: str, amount_minor: int | None = None
    ) -> None:
        self.payment_actions.append(
            {"order_id": order_id, "action": action, "amount_minor": amount_minor}
        )


class FakeLedger:
    """`Ledger`: records the changes applied, checks nothing."""

    def __init__(self) -> None:
        self.applied: list[Any] = []

    async def apply(self, changes: list[Any]) -> list[RecordedMovement]:
        self.applied.extend(changes)
        return []

    def forget_locks(self) -> None:
        pass


# Ports -------------------------------------------------------------------------------------
@dataclass
class FakePayments:
    """A payment provider whose intents are in the states `statuses` says."""

    name: str = "stripe"
    requires_authorisation: bool = True
    remote_fulfilments: frozenset[Fulfilment] = frozenset(Fulfilment)
    statuses: dict[str, str] = field(default_factory=dict)
    captured: dict[str, int] = field(default_factory=dict)
    """Amount captured per intent."""

    async def authorize(self, order_id: str, amount_minor: int, currency: str) -> Authorization:
        intent_id = f"pi_{order_id}"
        self.statuses[intent_id] = "requires_payment_method"
        return Authorization(self.name, intent_id, f"{intent_id}_secret", self.statuses[intent_id])

    async def status(self, intent_id: str) -> str:
        return self.statuses[intent_id]

    async def capture(self, order_id: str, intent_id: str, amount_minor: int) -> str:
        self.captured.setdefault(intent_id, amount_minor)  # a provider captures once
        self.statuses[intent_id] = "succeeded"
        return "succeeded"

    async def cancel(self, order_id: str, intent_id: str) -> str:
        self.statuses[intent_id] = "canceled"
        return "canceled"

    async def refund(self, refund_id: str, intent_id: str, amount_minor: int) -> str:
        return "succeeded"

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        raise NotImplementedError


@dataclass
class FakeSender:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


# The unit of work and the context ------------------------------------------------------------
class _NoDatabase:
    """Stands in for `Database`: a unit test that reaches the database fails loudly."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a unit test used the database ({name})")


NO_DATABASE = cast(Database, _NoDatabase())


class FakeUnitOfWork(UnitOfWork):
    """A `UnitOfWork` whose repositories are the fakes registered by class and which has no
    session: its callbacks (`before_commit`, `after_commit`, `on_rollback`) run as the real
    one runs them."""

    def __init__(self, repositories: dict[type, Any], *, readonly: bool = False) -> None:
        super().__init__(NO_DATABASE, readonly=readonly)
        self._fakes = repositories
        self.notified: list[tuple[str, tuple[Any, ...]]] = []

    @property
    def committed(self) -> bool:
        return self._committed

    async def __aenter__(self) -> Self:
        return self

    def repository(self, kind: type[R]) -> R:
        if self._committed:
            raise AssertionError(f"{kind.__name__} asked for after the commit")
        if kind not in self._fakes:
            raise AssertionError(f"no fake registered for {kind.__name__}")
        return cast(R, self._fakes[kind])

    async def notify(self, topic: str, *args: Any) -> None:
        self.notified.append((topic, args))

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        yield

    async def commit(self) -> None:
        assert not self.readonly, "a read-only unit of work does not commit"
        assert not self._committed, "committed twice"
        for write_queued_rows in self._before_commit:
            await write_queued_rows()
        self._committed = True
        for callback in self._after_commit:
            callback()


@dataclass(frozen=True, kw_only=True)
class FakeOrderContext(OrderContext):
    """An `OrderContext` whose units of work are fakes over the fake repositories here."""

    orders: FakeOrders = field(default_factory=FakeOrders)
    customers: FakeCustomers = field(default_factory=FakeCustomers)
    catalogue: FakeCatalogue = field(default_factory=FakeCatalogue)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    units: list[FakeUnitOfWork] = field(default_factory=list)
    """Every unit of work the use case opened, in order."""

    def uow(self, *, readonly: bool = False) -> FakeUnitOfWork:
        fakes = {
            OrderRepository: self.orders,
            CustomerRepository: self.customers,
            CatalogueRepository: self.catalogue,
            OutboxRepository: self.outbox,
            Ledger: self.ledger,
        }
        unit = FakeUnitOfWork(fakes, readonly=readonly)
        self.units.append(unit)
        return unit

    @property
    def committed(self) -> list[FakeUnitOfWork]:
        return [unit for unit in self.units if unit.committed]


def order_context(payments: FakePayments | None = None) -> FakeOrderContext:
    return FakeOrderContext(
        db=NO_DATABASE,
        payments=payments or FakePayments(),
        sender=FakeSender(),
        secrets=PlainSecrets(),
    )


class PlainSecrets:
    """Seals by marking only: the unit tests look at what was sealed, not at cryptography."""

    def seal(self, plaintext: str) -> str:
        return f"<{plaintext}>"

    def open(self, token: str) -> str:
        return token[1:-1]


# Factories ---------------------------------------------------------------------------------
def a_location(ctx: FakeOrderContext, code: str = "STORE-A", **values: Any) -> Location:
    location = Location(
        **{
            "id": len(ctx.catalogue.locations) + 1,
            "code": code,
            "name": f"Store {code}",
            "kind": "store",
            "latitude": 51.5,
            "longitude": -0.1,
            "pickup_enabled": True,
            "ship_enabled": False,
            "default_safety_stock": 0,
            "created_at": NOW,
            **values,
        }
    )
    ctx.catalogue.locations[location.id] = location
    return location


def a_customer(ctx: FakeOrderContext, email: str = "ada@example.com") -> Customer:
    customer = Customer(id=uuid.uuid4(), email=email, name=None, phone=None, created_at=NOW)
    ctx.customers.rows[customer.id] = customer
    return customer


def an_order(
    ctx: FakeOrderContext,
    *,
    status: OrderStatus = OrderStatus.CONFIRMED,
    pickup_at: Location | None = None,
    customer: Customer | None = None,
    lines: Sequence[tuple[str, int]] = (("TEE-1", 2),),
    **values: Any,
) -> Order:
    """An order in `status`: a pickup order at `pickup_at`, else a ship order; its lines are
    allocated at the pickup location (or at a warehouse, id 99)."""
    customer = customer or a_customer(ctx)
    order = new_order(
        status=status,
        customer_id=customer.id,
        fulfilment_type=(Fulfilment.PICKUP if pickup_at else Fulfilment.SHIP).value,
        pickup_location_id=pickup_at.id if pickup_at else None,
        **values,
    )
    location_id, location = (pickup_at.id, pickup_at.code) if pickup_at else (99, "WH-1")
    ctx.orders.put(
        order,
        [LineRow(i + 1, sku, quantity, 1000, 0) for i, (sku, quantity) in enumerate(lines)],
        [
            AllocationRow(i + 1, sku, location_id, location, quantity)
            for i, (sku, quantity) in enumerate(lines)
        ],
    )
    return order


def new_order(**values: Any) -> Order:
    """A plain `Order` (no session, no database) with every field set."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "number": "W-TEST0001",
        "channel": "web",
        "status": OrderStatus.PENDING_PAYMENT.value,
        "at_risk": False,
        "customer_id": uuid.uuid4(),
        "fulfilment_type": Fulfilment.PICKUP.value,
        "pickup_location_id": None,
        "ship_address": None,
        "notes": None,
        "total_minor": 2000,
        "currency": "GBP",
        "payment_provider": "stripe",
        "payment_intent_id": None,
        "payment_client_secret": None,
        "payment_status": "pending",
        "pickup_code_hash": None,
        "failed_code_attempts": 0,
        "code_locked_until": None,
        "external_id": None,
        "created_by": "tester",
        "created_at": NOW,
        "updated_at": NOW,
        "confirmed_at": None,
        "ready_at": None,
        "closed_at": None,
    }
    fields.update(values)
    if isinstance(fields["status"], OrderStatus):
        fields["status"] = fields["status"].value
    return Order(**fields)
