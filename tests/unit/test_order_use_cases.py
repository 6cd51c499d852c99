"""Order use cases against fake repositories (tests/unit/fakes.py): no database."""

import pytest

from app.orders import payments, ports
from app.orders.fulfilment import mark_ready
from app.orders.model import OrderStatus, pickup_code_matches
from app.orders.ports import PaymentEvent
from app.orders.views import OrderView
from app.platform.access import Principal, Role
from app.platform.errors import Forbidden, InvalidTransition
from tests.unit.fakes import FakePayments, a_customer, a_location, an_order, order_context


def till_at(store: str) -> Principal:
    return Principal("k-pos", "till", Role.POS, store)


# Ready for pickup ---------------------------------------------------------------------------
async def test_a_confirmed_pickup_order_is_ready_and_the_customer_gets_a_code() -> None:
    ctx = order_context()
    store = a_location(ctx, "STORE-A", name="Covent Garden")
    ada = a_customer(ctx, "ada@example.com")
    order = an_order(ctx, status=OrderStatus.CONFIRMED, pickup_at=store, customer=ada)

    view = await mark_ready(ctx, till_at("STORE-A"), order.id)

    assert isinstance(view, OrderView) and view.status == "ready_for_pickup"
    assert view.pickup_location == "STORE-A"
    assert [(line.sku, line.quantity) for line in view.lines] == [("TEE-1", 2)]
    assert ctx.orders.events_of(order.id) == ["ready_for_pickup"]
    [event] = ctx.orders.events
    assert event["location_id"] == store.id and "Covent Garden" in event["summary"]
    [message] = ctx.orders.notifications
    assert message["kind"] == "ready_for_pickup" and message["to"] == "ada@example.com"
    assert message["body"].startswith("sealed:<")  # the code waits sealed in the outbox
    code = message["body"].removesuffix(">").rsplit(" ", 1)[-1]
    assert pickup_code_matches(code, order.pickup_code_hash)
    assert len(ctx.committed) == 1


async def test_a_till_of_another_store_may_not_mark_it_ready() -> None:
    ctx = order_context()
    a_location(ctx, "STORE-B")
    order = an_order(ctx, status=OrderStatus.CONFIRMED, pickup_at=a_location(ctx, "STORE-A"))

    with pytest.raises(Forbidden):
        await mark_ready(ctx, till_at("STORE-B"), order.id)

    assert order.status == OrderStatus.CONFIRMED
    assert ctx.orders.events == [] and ctx.orders.notifications == [] and ctx.committed == []


async def test_an_unpaid_order_is_not_ready() -> None:
    ctx = order_context()
    store = a_location(ctx, "STORE-A")
    order = an_order(ctx, status=OrderStatus.PENDING_PAYMENT, pickup_at=store)

    with pytest.raises(InvalidTransition):
        await mark_ready(ctx, till_at("STORE-A"), order.id)

    assert ctx.orders.notifications == [] and ctx.committed == []


# Payment events -----------------------------------------------------------------------------
def event(
    intent_id: str | None, kind: str = "payment_intent.amount_capturable_updated"
) -> PaymentEvent:
    return PaymentEvent(id=f"evt_{kind}_{intent_id}", type=kind, intent_id=intent_id)


async def test_an_authorised_payment_confirms_the_order_and_tells_the_customer() -> None:
    ctx = order_context(FakePayments(statuses={"pi_1": ports.AUTHORISED}))
    order = an_order(
        ctx,
        status=OrderStatus.PENDING_PAYMENT,
        customer=a_customer(ctx, "bo@example.com"),
        payment_intent_id="pi_1",
    )

    outcome = await payments.apply_payment_event(ctx, event("pi_1"))

    assert outcome == "confirmed"
    assert order.status == OrderStatus.CONFIRMED and order.payment_status == ports.AUTHORISED
    assert ctx.orders.events_of(order.id) == ["confirmed"]
    [message] = ctx.orders.notifications
    assert message["kind"] == "confirmed" and message["to"] == "bo@example.com"
    assert ctx.ledger.applied == [] and len(ctx.committed) == 1


async def test_the_same_event_twice_changes_nothing_the_second_time() -> None:
    ctx = order_context(FakePayments(statuses={"pi_1": ports.AUTHORISED}))
    an_order(ctx, status=OrderStatus.PENDING_PAYMENT, payment_intent_id="pi_1")
    await payments.apply_payment_event(ctx, event("pi_1"))

    outcome = await payments.apply_payment_event(ctx, event("pi_1"))

    assert outcome == "duplicate"
    assert len(ctx.orders.events) == 1 and len(ctx.orders.notifications) == 1


async def test_a_failed_payment_releases_the_stock_and_owes_a_cancel() -> None:
    ctx = order_context(FakePayments(statuses={"pi_1": "requires_payment_method"}))
    order = an_order(
        ctx,
        status=OrderStatus.PENDING_PAYMENT,
        payment_intent_id="pi_1",
        lines=[("TEE-1", 2), ("CAP-1", 1)],
    )

    outcome = await payments.apply_payment_event(
        ctx, event("pi_1", "payment_intent.payment_failed")
    )

    assert outcome == "released"
    assert order.status == OrderStatus.CANCELLED and order.closed_at is not None
    assert ctx.orders.events_of(order.id) == ["cancelled"]
    assert sorted((c.sku, c.delta.reserved) for c in ctx.ledger.applied) == [
        ("CAP-1", -1),
        ("TEE-1", -2),
    ]
    assert ctx.outbox.payment_actions == [
        {"order_id": order.id, "action": "cancel", "amount_minor": None}
    ]
    assert ctx.orders.notifications == []


async def test_a_late_event_for_a_confirmed_order_only_updates_its_payment_status() -> None:
    ctx = order_context(FakePayments(statuses={"pi_1": "canceled"}))
    order = an_order(ctx, status=OrderStatus.CONFIRMED, payment_intent_id="pi_1")

    outcome = await payments.apply_payment_event(ctx, event("pi_1"))

    assert outcome == "no change"
    assert order.status == OrderStatus.CONFIRMED and order.payment_status == "canceled"
    assert ctx.orders.events == [] and ctx.ledger.applied == []


async def test_events_of_unknown_or_missing_payments_are_acknowledged() -> None:
    ctx = order_context(FakePayments(statuses={"pi_404": ports.AUTHORISED}))

    assert await payments.apply_payment_event(ctx, event(None)) == "ignored"
    assert await payments.apply_payment_event(ctx, event("pi_404")) == "unknown payment"
    assert ctx.orders.events == []
