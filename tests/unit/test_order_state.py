"""The methods that change an order's state, on plain `Order` objects (no database)."""

from datetime import timedelta

import pytest

from app.orders import ports
from app.orders.model import (
    CODE_LOCKOUT,
    MAX_CODE_ATTEMPTS,
    OrderStatus,
    TooManyAttempts,
    hash_pickup_code,
)
from app.platform.errors import InvalidTransition
from tests.unit.fakes import NOW, new_order

LATER = NOW + timedelta(minutes=5)
CODE = "123456"


def test_confirming_records_when() -> None:
    order = new_order(status=OrderStatus.PENDING_PAYMENT)

    order.confirm(LATER)

    assert order.status == OrderStatus.CONFIRMED
    assert order.confirmed_at == LATER and order.updated_at == LATER


def test_ready_for_pickup_holds_a_new_code_and_forgets_old_misses() -> None:
    order = new_order(status=OrderStatus.CONFIRMED, failed_code_attempts=3, code_locked_until=NOW)

    order.mark_ready("pbkdf2$00$11", LATER)

    assert order.status == OrderStatus.READY_FOR_PICKUP
    assert order.pickup_code_hash == "pbkdf2$00$11"
    assert order.ready_at == LATER and order.updated_at == LATER
    assert order.failed_code_attempts == 0 and order.code_locked_until is None


def test_a_ship_order_is_never_ready_for_pickup() -> None:
    order = new_order(status=OrderStatus.CONFIRMED, fulfilment_type="ship")

    with pytest.raises(InvalidTransition):
        order.mark_ready("pbkdf2$00$11", LATER)

    assert order.status == OrderStatus.CONFIRMED and order.pickup_code_hash is None


def test_handing_over_captures_and_closes_without_a_pickup_code() -> None:
    order = new_order(
        status=OrderStatus.READY_FOR_PICKUP,
        pickup_code_hash="pbkdf2$00$11",
        payment_intent_id="pi_1",
        payment_status=ports.AUTHORISED,
    )

    order.hand_over(LATER)

    assert order.status == OrderStatus.PICKED_UP
    assert order.payment_status == ports.CAPTURED
    assert order.closed_at == LATER and order.pickup_code_hash is None


def test_shipping_an_order_paid_at_the_counter_leaves_its_payment_alone() -> None:
    order = new_order(status=OrderStatus.CONFIRMED, fulfilment_type="ship")
    order.record_payment_status("not_required", NOW)

    order.ship(LATER)

    assert order.status == OrderStatus.SHIPPED
    assert order.payment_status == "not_required" and order.closed_at == LATER


@pytest.mark.parametrize(
    ("close", "status"), [("cancel", OrderStatus.CANCELLED), ("expire", OrderStatus.EXPIRED)]
)
def test_a_closed_order_has_no_pickup_code(close: str, status: OrderStatus) -> None:
    order = new_order(status=OrderStatus.READY_FOR_PICKUP, pickup_code_hash="pbkdf2$00$11")

    getattr(order, close)(LATER)

    assert order.status == status
    assert order.closed_at == LATER and order.pickup_code_hash is None


def test_a_closed_order_does_not_close_again() -> None:
    order = new_order(status=OrderStatus.CANCELLED, closed_at=NOW)

    with pytest.raises(InvalidTransition):
        order.expire(LATER)

    assert order.status == OrderStatus.CANCELLED and order.closed_at == NOW


def test_the_right_code_opens_a_ready_order() -> None:
    order = new_order(status=OrderStatus.READY_FOR_PICKUP, pickup_code_hash=hash_pickup_code(CODE))

    assert order.check_pickup_code(CODE, NOW) is True
    assert order.failed_code_attempts == 0


def test_wrong_codes_are_counted_and_lock_the_order() -> None:
    order = new_order(status=OrderStatus.READY_FOR_PICKUP, pickup_code_hash=hash_pickup_code(CODE))

    for _ in range(MAX_CODE_ATTEMPTS):
        assert order.check_pickup_code("000000", NOW) is False

    assert order.failed_code_attempts == MAX_CODE_ATTEMPTS
    assert order.code_locked_until == NOW + CODE_LOCKOUT
    with pytest.raises(TooManyAttempts):
        order.check_pickup_code(CODE, NOW)  # even the right code waits out the lock
    assert order.check_pickup_code(CODE, NOW + CODE_LOCKOUT) is True


def test_no_code_opens_an_order_that_is_not_ready() -> None:
    order = new_order(status=OrderStatus.CONFIRMED)

    with pytest.raises(InvalidTransition):
        order.check_pickup_code(CODE, NOW)

    assert order.failed_code_attempts == 0


def test_an_order_is_flagged_at_risk_once() -> None:
    order = new_order(status=OrderStatus.CONFIRMED)

    assert order.flag_at_risk(NOW) is True
    assert order.flag_at_risk(LATER) is False
    assert order.at_risk is True and order.updated_at == LATER

    order.clear_at_risk(LATER)
    assert order.at_risk is False


def test_payment_changes() -> None:
    order = new_order()

    order.attach_payment("pi_1", "pi_1_secret", "requires_payment_method", NOW)
    assert (order.payment_intent_id, order.payment_client_secret, order.payment_status) == (
        "pi_1",
        "pi_1_secret",
        "requires_payment_method",
    )

    order.mark_paid_externally("shopify", LATER)
    assert order.payment_provider == "shopify" and order.payment_status == "paid_externally"
    assert order.updated_at == LATER
