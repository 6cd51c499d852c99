from datetime import UTC, datetime, timedelta

import pytest

from app.inventory import sourcing
from app.inventory.queries import StockAt
from app.inventory.sourcing import Candidate
from app.orders.model import (
    CODE_LOCKOUT,
    MAX_CODE_ATTEMPTS,
    OrderStatus,
    PricedLine,
    after_failed_attempt,
    hash_pickup_code,
    is_expired,
    new_pickup_code,
    next_status,
    order_total,
    pickup_code_matches,
    returnable,
)
from app.platform.errors import BusinessRuleViolation, InvalidTransition

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_the_pickup_path_and_its_side_exits() -> None:
    assert next_status("confirm", "pending_payment", "pickup") is OrderStatus.CONFIRMED
    assert next_status("ready", "confirmed", "pickup") is OrderStatus.READY_FOR_PICKUP
    assert next_status("pickup", "ready_for_pickup", "pickup") is OrderStatus.PICKED_UP
    assert next_status("cancel", "ready_for_pickup", "pickup") is OrderStatus.CANCELLED
    assert next_status("expire", "pending_payment", "ship") is OrderStatus.EXPIRED


@pytest.mark.parametrize(
    ("action", "status", "fulfilment"),
    [
        ("pickup", "confirmed", "pickup"),  # not ready yet
        ("ready", "pending_payment", "pickup"),  # not paid
        ("ship", "confirmed", "pickup"),  # a pickup order is not shipped
        ("ready", "confirmed", "ship"),
        ("cancel", "picked_up", "pickup"),
        ("confirm", "cancelled", "ship"),
    ],
)
def test_illegal_moves_are_refused(action: str, status: str, fulfilment: str) -> None:
    with pytest.raises(InvalidTransition):
        next_status(action, status, fulfilment)


def test_total_needs_one_currency() -> None:
    assert order_total([PricedLine("A", 2, 500, "GBP"), PricedLine("B", 1, 250, "GBP")]) == (
        1250,
        "GBP",
    )
    with pytest.raises(BusinessRuleViolation):
        order_total([PricedLine("A", 1, 500, "GBP"), PricedLine("B", 1, 500, "EUR")])


def test_pickup_codes_are_six_digits_and_stored_salted() -> None:
    code = new_pickup_code()
    assert len(code) == 6 and code.isdigit()
    stored = hash_pickup_code(code)
    assert code not in stored and stored != hash_pickup_code(code)
    assert pickup_code_matches(code, stored)
    assert not pickup_code_matches(f"{(int(code) + 1) % 10**6:06d}", stored)
    assert not pickup_code_matches("12345", stored)


def test_every_fifth_wrong_code_locks_the_order() -> None:
    failed, locked = 0, None
    for _ in range(MAX_CODE_ATTEMPTS - 1):
        failed, locked = after_failed_attempt(failed, NOW)
        assert locked is None
    failed, locked = after_failed_attempt(failed, NOW)
    assert locked == NOW + CODE_LOCKOUT


def test_expiry_counts_from_creation_when_unpaid_and_from_ready_when_uncollected() -> None:
    timeout, hold = timedelta(minutes=15), timedelta(days=7)
    assert is_expired("pending_payment", "pickup", NOW - timeout, None, None, NOW, timeout, hold)
    assert not is_expired("pending_payment", "ship", NOW, None, None, NOW, timeout, hold)
    assert is_expired(
        "ready_for_pickup", "pickup", NOW - hold * 2, NOW - hold * 2, NOW - hold, NOW, timeout, hold
    )
    assert not is_expired(
        "ready_for_pickup",
        "pickup",
        NOW - hold * 2,
        NOW - hold * 2,
        NOW - timedelta(days=1),
        NOW,
        timeout,
        hold,
    )
    assert not is_expired(
        "confirmed", "ship", NOW - hold * 2, NOW - hold * 2, None, NOW, timeout, hold
    )


def test_no_more_can_come_back_than_was_bought() -> None:
    returnable(3, 1, 2, "A")
    with pytest.raises(BusinessRuleViolation):
        returnable(3, 2, 2, "A")


def store(code: str, km: float | None, **available: int) -> Candidate:
    return Candidate(code, "store", km, available)


def warehouse(code: str, km: float | None, **available: int) -> Candidate:
    return Candidate(code, "warehouse", km, available)


def test_one_location_that_has_everything_beats_a_split() -> None:
    plan = sourcing.source_shipment(
        [("A", 2), ("B", 1)],
        [warehouse("W", 5, A=2), store("S1", 1, A=1, B=1), store("S2", 20, A=5, B=5)],
    )
    assert plan == {"A": [("S2", 2)], "B": [("S2", 1)]}


def test_warehouses_first_then_nearest_unless_configured() -> None:
    candidates = [store("NEAR", 1, A=5), warehouse("FAR-W", 50, A=5), warehouse("NEAR-W", 10, A=5)]
    assert sourcing.source_shipment([("A", 1)], candidates) == {"A": [("NEAR-W", 1)]}
    assert sourcing.source_shipment([("A", 1)], candidates, warehouses_first=False) == {
        "A": [("NEAR", 1)]
    }


def test_split_across_the_fewest_locations_when_none_has_enough() -> None:
    plan = sourcing.source_shipment(
        [("A", 5)], [store("S1", 1, A=2), store("S2", 2, A=2), store("S3", 3, A=4)]
    )
    assert plan is not None
    assert len(plan["A"]) == 2 and sum(q for _, q in plan["A"]) == 5


def test_short_everywhere_is_none_with_the_shortage_named() -> None:
    candidates = [store("S1", 1, A=1)]
    assert sourcing.source_shipment([("A", 2)], candidates) is None
    assert sourcing.shortages([("A", 2)], candidates) == [sourcing.Shortage("A", 2, 1)]


def test_candidates_are_one_per_location_with_each_sku_it_has() -> None:
    rows = [
        StockAt(1, "S1", "store", 51.5, -0.1, sku_id=1, available=3),
        StockAt(2, "W", "warehouse", 51.5, -0.3, sku_id=1, available=9),
        StockAt(1, "S1", "store", 51.5, -0.1, sku_id=2, available=0),
    ]
    codes = {1: "A", 2: "B"}
    assert sourcing.candidates_from(rows, codes) == [
        store("S1", None, A=3, B=0),
        warehouse("W", None, A=9),
    ]
    near, far = sourcing.candidates_from(rows, codes, origin=(51.5, -0.1))
    assert near.distance_km == 0
    assert far.distance_km is not None and 13 < far.distance_km < 15
