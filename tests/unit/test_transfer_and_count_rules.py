"""Transfer lines in transit, over and short; transfer states; count variances (pure rules)."""

from __future__ import annotations

import pytest

from app.inventory.rules import (
    CountFigures,
    Quantities,
    TransferLineState,
    TransferStatus,
    check_transfer_action,
    status_after_receipt,
    transfer_dispatch,
    transfer_loss,
    transfer_over_receipt,
    transfer_recall,
    transfer_receipt,
)
from app.platform.errors import BusinessRuleViolation, InvalidTransition


def test_a_receipt_takes_from_incoming_what_is_in_transit_and_the_rest_is_over() -> None:
    line = TransferLineState(sent=5, received=3)
    assert line.in_transit == 2
    assert line.receipt(4) == (2, 2)
    assert TransferLineState(sent=5, received=7).over_received == 2
    with pytest.raises(BusinessRuleViolation):
        line.receipt(0)


def test_lost_and_returned_units_are_no_longer_in_transit() -> None:
    assert TransferLineState(sent=5, received=2, lost=3).in_transit == 0
    assert TransferLineState(sent=5, received=1, returned=4).in_transit == 0
    assert TransferLineState(sent=5, received=8).in_transit == 0


def test_every_path_of_a_transfer_leaves_incoming_at_zero() -> None:
    source_out, incoming = transfer_dispatch(6)
    destination = Quantities().after(incoming)
    destination = destination.after(transfer_receipt(2)).after(transfer_over_receipt(1))
    destination = destination.after(transfer_loss(4))
    assert (destination.on_hand, destination.incoming) == (3, 0)
    back, recalled = transfer_recall(6)
    source = Quantities(on_hand=6).after(source_out).after(back)
    assert source.on_hand == 6
    assert Quantities().after(incoming).after(recalled).incoming == 0


@pytest.mark.parametrize(
    ("status", "action", "allowed"),
    [
        ("draft", "ship", True),
        ("in_transit", "ship", False),
        ("draft", "receive", False),
        ("in_transit", "receive", True),
        ("partially_received", "receive", True),
        ("received", "receive", False),
        ("partially_received", "cancel", True),
        ("received", "cancel", False),
        ("cancelled", "cancel", False),
    ],
)
def test_transfer_actions_by_status(status: str, action: str, allowed: bool) -> None:
    if allowed:
        check_transfer_action(status, action)
    else:
        with pytest.raises(InvalidTransition):
            check_transfer_action(status, action)


def test_a_transfer_is_received_once_nothing_is_in_transit() -> None:
    done = [TransferLineState(2, 2), TransferLineState(3, 1, lost=2)]
    assert status_after_receipt(done) is TransferStatus.RECEIVED
    assert status_after_receipt([*done, TransferLineState(1)]) is (
        TransferStatus.PARTIALLY_RECEIVED
    )


def test_movements_after_the_count_move_both_sides() -> None:
    # 8 counted when the books said 8; 3 sold since: expected 5, no variance, stays 5.
    sold_since = CountFigures(expected=5, moved_since=-3, counted=8)
    assert sold_since.variance == 0 and sold_since.counted_now("S") == 5
    found_one = CountFigures(expected=5, moved_since=-3, counted=9)
    assert found_one.variance == 1 and found_one.counted_now("S") == 6
    assert CountFigures(expected=4, moved_since=0, counted=None).variance is None
    with pytest.raises(BusinessRuleViolation):
        CountFigures(expected=0, moved_since=-3, counted=1).counted_now("S")
