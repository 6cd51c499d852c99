"""Orders, their lines and allocations, customers, events and the outboxes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Mapped, Mapper, mapped_column, object_session
from sqlalchemy.orm.attributes import get_history

from app.orders.model import (
    TooManyAttempts,
    after_failed_attempt,
    code_attempt_allowed,
    next_status,
    pickup_code_matches,
)
from app.orders.ports import CAPTURED
from app.platform.events import OutgoingEvent
from app.platform.tables import Base, BigId, utcnow


class Customer(Base):
    """One profile per email across every channel."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    preferred_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("locations.id"), nullable=True
    )
    """The store the customer shops at: availability starts there when given no coordinates."""


class Order(Base):
    """An order. Use cases change it only through the methods below, never by assigning its
    fields: each method asks a pure rule of `app.orders.model` whether the change may happen
    (`next_status`, `after_failed_attempt`, ...) and sets together every field that changes
    with it (a closed order keeps no pickup code; a confirmed one knows when). The methods
    touch no database, so unit tests call them on a plain `Order(...)`; the event that
    records a status change is the use case's (`app.orders.transitions`)."""

    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    fulfilment_type: Mapped[str] = mapped_column(String(8))
    pickup_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("locations.id"), nullable=True
    )
    ship_address: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    notes: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_provider: Mapped[str] = mapped_column(String(16))
    payment_intent_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    payment_client_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    payment_status: Mapped[str] = mapped_column(String(32))
    pickup_code_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    failed_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    code_locked_until: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    ready_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    """A pickup's promised ready time: its store's pickup_ready_by when it was placed."""

    __table_args__ = (
        Index("ix_orders_status_created_at", "status", "created_at"),
        Index("ix_orders_customer_id", "customer_id"),
        Index("ix_orders_pickup_location_status", "pickup_location_id", "status"),
        Index("ix_orders_payment_intent_id", "payment_intent_id"),
        UniqueConstraint("channel", "external_id", name="uq_orders_channel_external_id"),
    )

    # Status ------------------------------------------------------------------------------
    def confirm(self, now: datetime) -> None:
        """Paid, or nothing to pay: the reserved units are the customer's."""
        self._move("confirm", now)
        self.confirmed_at = now

    def mark_ready(self, code_hash: str, now: datetime) -> None:
        """Picked and waiting at the counter behind a new pickup code, with fresh attempts."""
        self._move("ready", now)
        self.ready_at = now
        self.pickup_code_hash = code_hash
        self.clear_code_attempts()

    def hand_over(self, now: datetime) -> None:
        """Collected at the counter: the payment is captured and the order closed."""
        self._fulfil("pickup", now)

    def ship(self, now: datetime) -> None:
        """Shipped: the payment is captured and the order closed."""
        self._fulfil("ship", now)

    def cancel(self, now: datetime) -> None:
        self._move("cancel", now)
        self._close(now)

    def expire(self, now: datetime) -> None:
        """Not paid or not collected in time (`model.is_expired` decides when)."""
        self._move("expire", now)
        self._close(now)

    def _move(self, action: str, now: datetime) -> None:
        self.status = next_status(action, self.status, self.fulfilment_type).value
        self.updated_at = now

    def _fulfil(self, action: str, now: datetime) -> None:
        self._move(action, now)
        if self.payment_intent_id:
            self.payment_status = CAPTURED
        self._close(now)

    def _close(self, now: datetime) -> None:
        self.closed_at = now
        self.pickup_code_hash = None

    # Pickup codes ------------------------------------------------------------------------
    def check_pickup_code(self, code: str, now: datetime) -> bool:
        """Whether `code` opens this order for handover. A wrong code counts as a failed
        attempt (`record_failed_code_attempt`); while locked out, no code is even tried."""
        next_status("pickup", self.status, self.fulfilment_type)
        if not code_attempt_allowed(self.code_locked_until, now):
            raise TooManyAttempts(
                "too many wrong pickup codes; try again later",
                {
                    "retry_after": self.code_locked_until.isoformat()
                    if self.code_locked_until
                    else None
                },
            )
        if pickup_code_matches(code, self.pickup_code_hash):
            return True
        self.record_failed_code_attempt(now)
        return False

    def record_failed_code_attempt(self, now: datetime) -> None:
        self.failed_code_attempts, self.code_locked_until = after_failed_attempt(
            self.failed_code_attempts or 0, now
        )

    def clear_code_attempts(self) -> None:
        self.failed_code_attempts = 0
        self.code_locked_until = None

    # Risk and payment --------------------------------------------------------------------
    def flag_at_risk(self, now: datetime) -> bool:
        """The order may not be fulfilled as promised; True if it was not flagged before."""
        newly = not self.at_risk
        self.at_risk = True
        self.updated_at = now
        return newly

    def clear_at_risk(self, now: datetime) -> None:
        """The promise can be kept again (the units were found elsewhere)."""
        self.at_risk = False
        self.updated_at = now

    def attach_payment(
        self, intent_id: str | None, client_secret: str | None, status: str, now: datetime
    ) -> None:
        """The provider's authorisation opened for this order."""
        self.payment_intent_id = intent_id
        self.payment_client_secret = client_secret
        self.record_payment_status(status, now)

    def record_payment_status(self, status: str, now: datetime) -> None:
        """What the provider says of the payment now (authorised, cancelled, refunded)."""
        self.payment_status = status
        self.updated_at = now

    def mark_paid_externally(self, provider: str, now: datetime) -> None:
        """Taken and paid on an external storefront, which is its payment provider."""
        self.payment_provider = provider
        self.record_payment_status("paid_externally", now)

    def touch(self, now: datetime) -> None:
        """Something of the order other than its own fields changed (its lines, on a return)."""
        self.updated_at = now

    def drop_units(self, amount_minor: int, now: datetime) -> None:
        """Units left the order (rejected by the store, not collected): it costs less, and
        only what is left is ever captured."""
        self.total_minor -= amount_minor
        self.updated_at = now


def order_event(order: Order, kind: str, at: datetime) -> OutgoingEvent:
    """`order.<kind>` of `order` as it stands: `{order_id, number, channel, location, status}`."""
    return OutgoingEvent(
        type=f"order.{kind}",
        occurred_at=at,
        data={
            "order_id": str(order.id),
            "number": order.number,
            "channel": order.channel,
            "location": None,
            "status": order.status,
        },
        location_id=order.pickup_location_id,
        channel=order.channel,
    )


_STATUS_EVENTS = frozenset(
    {"confirmed", "ready_for_pickup", "picked_up", "shipped", "cancelled", "expired"}
)


def _emit(order: Order, kinds: list[str]) -> None:
    """Orders change only through their methods, and every change of a loaded order is
    flushed: listening to the flush sees all of them, whichever use case made them."""
    session = object_session(order)
    uow = session.info.get("uow") if session is not None else None
    if uow is None or not kinds:
        return
    now = utcnow()
    for kind in kinds:
        uow.emit(order_event(order, kind, now))


def creation_events(order: Order, at: datetime) -> list[OutgoingEvent]:
    """A new order's events: `order.created`, then its status if it starts past pending
    (paid at the counter, taken on a till), and `order.at_risk` if it starts at risk. Orders
    are inserted by `OrderRepository.add_order` (a prepared INSERT, not the ORM's flush)."""
    kinds = ["created"]
    if order.status in _STATUS_EVENTS:
        kinds.append(order.status)
    if order.at_risk:
        kinds.append("at_risk")
    return [order_event(order, kind, at) for kind in kinds]


@orm_event.listens_for(Order, "after_update")
def _order_changed(mapper: Mapper[Order], connection: Any, order: Order) -> None:
    kinds = []
    if get_history(order, "status").added and order.status in _STATUS_EVENTS:
        kinds.append(order.status)
    if get_history(order, "at_risk").added == [True] and get_history(order, "at_risk").deleted:
        kinds.append("at_risk")
    _emit(order, kinds)


class OrderLine(Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # The store's work on the line (PRODUCT.md rule 8): `quantity` is what the order still
    # carries; rejected units (written off, not re-sourced) and units not collected at a
    # partial handover have left it.
    ready_quantity: Mapped[int] = mapped_column(Integer, default=0)
    rejected_quantity: Mapped[int] = mapped_column(Integer, default=0)
    handed_over_quantity: Mapped[int] = mapped_column(Integer, default=0)


class Allocation(Base):
    """Units of a line reserved (then taken) at one location."""

    __tablename__ = "order_allocations"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_order_allocations_location_sku", "location_id", "sku_id"),)


class Event(Base):
    """Everything that happened to an order or at a till: who, which channel, where, when."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), nullable=True)
    pos_transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pos_transactions.id"), nullable=True
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_events_order_id", "order_id", "id"),
        Index("ix_events_customer_id", "customer_id", "id"),
    )


class PaymentAction(Base):
    """A payment call owed to the provider (cancel, refund), written with the order change
    that makes it necessary and retried until the provider confirms it."""

    __tablename__ = "payment_actions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    action: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    __table_args__ = (Index("ix_payment_actions_status", "status", "created_at"),)


class Notification(Base):
    """The outbox of messages to customers; written in the transaction of the order change."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )
    """A sender took it until then (it sends outside any transaction); then another may."""

    __table_args__ = (
        Index("ix_notifications_order_id", "order_id"),
        Index("ix_notifications_unsent", "sent_at", "created_at"),
    )


class ProcessedWebhook(Base):
    """Webhook events already handled, so a redelivery changes nothing."""

    __tablename__ = "processed_webhooks"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class OrderReturn(Base):
    __tablename__ = "order_returns"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    refund_minor: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_order_returns_order_id", "order_id"),)
