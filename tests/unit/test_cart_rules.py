"""The rules of a cart: its code, how a hold follows its lines, one extension, the cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.carts import rules
from app.platform.errors import BusinessRuleViolation, InvalidTransition

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=30)


def test_a_code_is_short_and_never_ambiguous_when_read_aloud() -> None:
    codes = {rules.new_code() for _ in range(200)}
    assert all(len(code) == 6 for code in codes)
    assert not set("".join(codes)) & set("01OIL")
    assert rules.normalise_code(" k7q9mx ") == "K7Q9MX"


def test_a_hold_follows_the_lines() -> None:
    more, less = rules.hold_moves({"A": 2, "B": 1}, {"A": 3, "C": 1})
    assert (more, less) == ({"A": 1, "C": 1}, {"B": 1})
    assert rules.hold_moves({"A": 2}, {"A": 2}) == ({}, {})


def test_one_customer_holds_at_most_the_cap() -> None:
    rules.check_hold_cap(held_elsewhere=15, wanted=5, cap=20)
    with pytest.raises(BusinessRuleViolation) as refused:
        rules.check_hold_cap(held_elsewhere=15, wanted=6, cap=20)
    assert refused.value.details["max_held_units"] == 20


def test_a_live_hold_is_extended_once() -> None:
    until = NOW + timedelta(minutes=5)
    assert rules.extended_until(until, False, NOW, HOLD) == until + HOLD
    with pytest.raises(InvalidTransition):
        rules.extended_until(until, True, NOW, HOLD)
    with pytest.raises(InvalidTransition):
        rules.extended_until(NOW - timedelta(seconds=1), False, NOW, HOLD)
    with pytest.raises(InvalidTransition):
        rules.extended_until(None, False, NOW, HOLD)


def test_a_cart_is_completed_once() -> None:
    rules.check_open("open", "K7Q9MX")
    for done in ("ordered", "sold"):
        with pytest.raises(InvalidTransition):
            rules.check_open(done, "K7Q9MX")
