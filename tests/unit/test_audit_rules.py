"""The audit's rules on numbers alone: which level is wrong, and how."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.audit.rules import (
    EVENT,
    FOLD,
    MARGIN,
    RESERVED,
    STOREFRONT,
    Audited,
    Holder,
    LevelNow,
    Mapping,
    Moved,
    StockEvent,
    audit_level,
    changed_after,
    check_event,
    check_storefronts,
    needs_examining,
)
from app.inventory.rules import Delta, LevelKey, Quantities

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
KEY = LevelKey(1, 2)
LONG_AGO = NOW - timedelta(days=365)


def level(on_hand: int, reserved: int = 0, version: int = 3) -> LevelNow:
    return LevelNow(KEY, Quantities(on_hand, reserved), version, NOW)


def test_a_level_that_is_its_movements_audits_clean_and_moves_its_audited_point() -> None:
    before = Audited(Quantities(5), version=1, last_movement_id=10)
    moved = Moved(Delta(on_hand=2, reserved=1), count=2, ids=(12, 15), last_id=15)
    outcome = audit_level(
        level(7, 1),
        before,
        moved,
        [Holder("order", "o1", 1)],
        [StockEvent(40, 3, 7, 1, 0)],
        [],
        LONG_AGO,
    )
    assert outcome.findings == []
    assert outcome.audited == Audited(Quantities(7, 1), version=3, last_movement_id=15)


def test_a_level_unlike_its_movements_keeps_the_ledgers_balance_as_audited() -> None:
    before = Audited(Quantities(5), version=1, last_movement_id=10)
    outcome = audit_level(
        level(9),
        before,
        Moved(Delta(on_hand=1), 1, (11,), 11),
        [],
        [StockEvent(41, 3, 9, 0, 0)],
        [],
        LONG_AGO,
    )
    [finding] = outcome.findings
    assert finding.kind == FOLD
    assert (finding.expected["on_hand"], finding.found["on_hand"]) == (6, 9)
    assert finding.rows["movement_ids"] == [11]
    assert outcome.audited.balance == Quantities(6)


def test_reserved_names_what_holds_it() -> None:
    outcome = audit_level(
        level(5, 3, version=0),
        Audited(Quantities(5, 3)),
        Moved(),
        [Holder("order", "o1", 1), Holder("cart", "c1", 1)],
        [],
        [],
        LONG_AGO,
    )
    [finding] = outcome.findings
    assert finding.kind == RESERVED
    assert finding.rows == {"orders": {"o1": 1}, "carts": {"c1": 1}}


def test_a_transaction_that_left_a_level_as_it_was_needs_no_event() -> None:
    previous = StockEvent(30, 2, 5, 1, 0)
    assert check_event(level(5, 1, version=3), None, [previous], LONG_AGO) is None
    missing = check_event(level(6, 1, version=3), None, [previous], LONG_AGO)
    assert missing is not None and missing.kind == EVENT
    assert missing.rows["event_seqs"] == [30]
    assert check_event(level(6, 1, version=3), None, [], NOW + timedelta(seconds=1)) is None


def test_a_mapped_level_is_pending_or_pushed() -> None:
    changed = Audited(Quantities(2))
    assert check_storefronts(level(5), changed, [Mapping("s", 1, True, None)]) == []
    assert check_storefronts(level(5), changed, [Mapping("s", 1, False, 4)]) == []
    [stale] = check_storefronts(level(5), changed, [Mapping("s", 1, False, 3)])
    assert stale.kind == STOREFRONT and stale.expected["or_pushed"] == 4
    # never pushed (before pushes were recorded): owed only if available moved
    assert check_storefronts(level(5), Audited(Quantities(5)), [Mapping("s", 0, False, None)]) == []
    assert check_storefronts(level(5), changed, [Mapping("s", 0, False, None)]) != []


def test_the_window_starts_before_the_snapshot_and_only_moved_levels_are_examined() -> None:
    assert changed_after(NOW) == NOW - MARGIN
    audited = Audited(Quantities(5), version=3)
    assert not needs_examining(level(5), audited, Moved(), reopened=False)
    assert needs_examining(level(5), audited, Moved(), reopened=True)
    assert needs_examining(level(6), audited, Moved(), reopened=False)
    assert needs_examining(level(5, version=4), audited, Moved(), reopened=False)
