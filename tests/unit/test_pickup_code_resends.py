"""How often a pickup code may be sent again (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.orders.pickup_codes import MAX_RESENDS, RESEND_WINDOW, resend_allowed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_three_resends_an_hour_then_wait_for_the_oldest_to_age() -> None:
    sent = [NOW - timedelta(minutes=m) for m in (50, 20, 5)]
    assert MAX_RESENDS == 3
    assert resend_allowed(sent[:2], NOW) is None
    assert resend_allowed(sent, NOW) == sent[0] + RESEND_WINDOW
    assert resend_allowed(sent, NOW + timedelta(minutes=10, seconds=1)) is None


def test_resends_older_than_the_window_do_not_count() -> None:
    old = [NOW - timedelta(hours=h) for h in (5, 4, 3, 2)]
    assert resend_allowed(old, NOW) is None
