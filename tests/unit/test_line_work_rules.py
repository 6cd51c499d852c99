"""The pure rules of line-level store work (PRODUCT.md rule 8) in app/orders/model.py."""

from __future__ import annotations

import pytest

from app.orders.model import (
    LineState,
    Rejection,
    RejectReason,
    check_workable,
    plan_handover,
    plan_line_work,
    status_after_line_work,
    write_off_units,
)
from app.platform.errors import BusinessRuleViolation, InvalidTransition

DAMAGED = RejectReason.DAMAGED


def test_marking_part_of_a_line_ready_leaves_the_rest_to_pick() -> None:
    [work] = plan_line_work([LineState("TEE", 3), LineState("MUG", 1)], [("TEE", 2)], [])
    assert (work.sku, work.marked_ready, work.after) == ("TEE", 2, LineState("TEE", 3, 2))
    assert work.after.remaining == 1


def test_no_lines_means_every_unit_not_rejected_is_ready() -> None:
    work = plan_line_work(
        [LineState("TEE", 3, 1), LineState("MUG", 1)], None, [Rejection("TEE", 1, DAMAGED)]
    )
    assert [w.after for w in work] == [LineState("TEE", 2, 2), LineState("MUG", 1, 1)]


def test_rejections_take_unready_units_first_then_ready_ones() -> None:
    [unready_first] = plan_line_work([LineState("TEE", 3, 2)], [], [Rejection("TEE", 1, DAMAGED)])
    assert unready_first.after == LineState("TEE", 2, 2)
    [then_ready] = plan_line_work([LineState("TEE", 2, 2)], [], [Rejection("TEE", 1, DAMAGED)])
    assert then_ready.after == LineState("TEE", 1, 1)


def test_every_bad_line_is_reported_at_once() -> None:
    with pytest.raises(BusinessRuleViolation) as refused:
        plan_line_work(
            [LineState("TEE", 2, 1), LineState("MUG", 1)],
            [("TEE", 2), ("CAP", 1), ("MUG", 1)],
            [Rejection("MUG", 1, RejectReason.NOT_FOUND)],
        )
    problems = {p["sku"]: p["problem"] for p in refused.value.details["lines"]}
    assert problems == {"TEE": "too_many_units", "CAP": "not_in_order", "MUG": "too_many_units"}


def test_the_order_is_ready_once_every_unit_left_is_and_cancelled_when_none_is_left() -> None:
    assert status_after_line_work("confirmed", [LineState("TEE", 2, 1)]) is None
    assert status_after_line_work("confirmed", [LineState("TEE", 2, 2)]) == "ready"
    assert status_after_line_work("ready_for_pickup", [LineState("TEE", 1, 1)]) is None
    assert status_after_line_work("confirmed", [LineState("TEE", 0), LineState("M", 0)]) == (
        "cancel"
    )


def test_only_paid_open_orders_are_worked() -> None:
    check_workable("ready_for_pickup", "pickup")
    check_workable("confirmed", "ship")
    for status, fulfilment in [("pending_payment", "pickup"), ("picked_up", "pickup")]:
        with pytest.raises(InvalidTransition):
            check_workable(status, fulfilment)


def test_a_handover_takes_ready_units_only_and_at_least_one() -> None:
    lines = [LineState("TEE", 3, 3), LineState("MUG", 1, 1)]
    assert plan_handover(lines, None) == {"TEE": 3, "MUG": 1}
    assert plan_handover(lines, [("TEE", 1), ("TEE", 1)]) == {"TEE": 2}
    with pytest.raises(BusinessRuleViolation):
        plan_handover(lines, [("TEE", 4)])
    with pytest.raises(BusinessRuleViolation):
        plan_handover([LineState("TEE", 0)], None)


def test_units_the_counter_already_took_are_not_written_off_twice() -> None:
    assert write_off_units(2, 5) == 2
    assert write_off_units(2, 1) == 1
    assert write_off_units(2, -1) == 0
